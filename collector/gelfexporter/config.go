// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Transport is the wire protocol, taken from the scheme of Config.Endpoint.
type Transport string

// The transports a GELF endpoint URL can name.
const (
	TransportUDP   Transport = "udp"
	TransportTCP   Transport = "tcp"
	TransportTLS   Transport = "tls"
	TransportHTTP  Transport = "http"
	TransportHTTPS Transport = "https"
)

// Compression of UDP datagrams (GELF over TCP is never compressed; HTTP uses http.compression).
type Compression string

// The UDP compressions GELF 1.1 defines.
const (
	CompressionGzip Compression = "gzip"
	CompressionZlib Compression = "zlib"
	CompressionNone Compression = "none"
)

// GELF 1.1 limits for chunked UDP.
const (
	// MaxChunks is the most chunks one GELF message may use.
	MaxChunks = 128
	// chunkHeaderSize is magic (2) + message id (8) + sequence number (1) + sequence count (1).
	chunkHeaderSize = 12
	// MinChunkSize and MaxChunkSize bound udp.chunk_size (whole datagram, header included).
	// 8192 is the largest chunk GELF receivers (Graylog) accept.
	MinChunkSize = 128
	MaxChunkSize = 8192
	// DefaultChunkSize fits a typical 1500-byte MTU path (and Graylog's WAN default).
	DefaultChunkSize = 1420
)

// Config defines the configuration of the GELF exporter.
type Config struct {
	// Endpoint is the GELF receiver as a URL: udp://host:port, tcp://host:port,
	// tls://host:port, http://host:port[/path] or https://host:port[/path]. For HTTP(S) the
	// path defaults to /gelf.
	Endpoint string `mapstructure:"endpoint"`

	// TLS configures tls:// and https:// endpoints.
	TLS configtls.ClientConfig `mapstructure:"tls"`

	// Dialer configures TCP and TLS connections (connect timeout).
	Dialer confignet.DialerConfig `mapstructure:"dialer"`

	// UDP settings (udp:// endpoints only).
	UDP UDPConfig `mapstructure:"udp"`

	// TCP settings (tcp:// and tls:// endpoints only).
	TCP TCPConfig `mapstructure:"tcp"`

	// HTTP client settings (http:// and https:// endpoints only): headers, compression,
	// timeout, proxy, ... Its `endpoint` and `tls` must stay unset: the top-level ones apply.
	HTTP confighttp.ClientConfig `mapstructure:"http"`

	// Mapping controls how a log record becomes a GELF message.
	Mapping MappingConfig `mapstructure:"mapping"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// UDPConfig holds the settings of GELF over UDP.
type UDPConfig struct {
	// ChunkSize is the size of one datagram in bytes, chunk header included
	// (MinChunkSize..MaxChunkSize, default DefaultChunkSize). Messages that fit are sent
	// unchunked; larger ones are split in at most 128 chunks, else dropped.
	ChunkSize int `mapstructure:"chunk_size"`
	// Compression is gzip (default), zlib or none.
	Compression Compression `mapstructure:"compression"`
	// CompressionThreshold: messages shorter than this many bytes are sent uncompressed even
	// when Compression is set (GELF inputs detect compression per message). Small messages fit
	// in one datagram anyway, and deflating each ~1 KB message costs more CPU than the rest of
	// the export. Default DefaultChunkSize; 0 compresses every message.
	CompressionThreshold int `mapstructure:"compression_threshold"`
}

// TCPConfig holds the settings of GELF over TCP and TLS.
type TCPConfig struct {
	// WriteTimeout bounds one write of a batch when the request context has no deadline.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// ReconnectInitialInterval is the wait before the first reconnect after a failure; it
	// doubles on each further failure up to ReconnectMaxInterval.
	ReconnectInitialInterval time.Duration `mapstructure:"reconnect_initial_interval"`
	ReconnectMaxInterval     time.Duration `mapstructure:"reconnect_max_interval"`
}

// MappingConfig controls the record → GELF message mapping.
type MappingConfig struct {
	// HostAttributes are the resource attributes tried, in order, for the GELF `host` field.
	// If none is set the collector's host name is used (never empty).
	HostAttributes []string `mapstructure:"host_attributes"`
	// IncludeAttributes, when not empty, keeps only the attributes whose (flattened, dotted)
	// name matches an entry: exact, or a prefix when the entry ends with `*`.
	IncludeAttributes []string `mapstructure:"include_attributes"`
	// ExcludeAttributes drops matching attributes (same matching as IncludeAttributes),
	// applied after IncludeAttributes.
	ExcludeAttributes []string `mapstructure:"exclude_attributes"`
	// IncludeResourceAttributes adds resource attributes as additional fields (default true).
	IncludeResourceAttributes bool `mapstructure:"include_resource_attributes"`
	// MaxAttributeValueLength truncates string additional-field values to this many bytes
	// (on a UTF-8 boundary); 0 means no limit. Default 32766 (Lucene's term limit).
	MaxAttributeValueLength int `mapstructure:"max_attribute_value_length"`
}

var _ component.Config = (*Config)(nil)

// endpoint is a parsed and validated Config.Endpoint.
type endpoint struct {
	transport Transport
	// hostPort is host:port for udp/tcp/tls.
	hostPort string
	// url is the full URL for http/https (path defaulted to /gelf).
	url string
}

func parseEndpoint(raw string) (endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return endpoint{}, errors.New("endpoint: must be set, e.g. udp://graylog:12201 (schemes: udp, tcp, tls, http, https)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("endpoint: %q is not a valid URL: %w", raw, err)
	}
	t := Transport(strings.ToLower(u.Scheme))
	switch t {
	case TransportUDP, TransportTCP, TransportTLS, TransportHTTP, TransportHTTPS:
	default:
		return endpoint{}, fmt.Errorf("endpoint: unsupported scheme %q in %q (want udp://, tcp://, tls://, http:// or https://)", u.Scheme, raw)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		if t == TransportHTTP || t == TransportHTTPS {
			host, port = u.Host, ""
		} else {
			return endpoint{}, fmt.Errorf("endpoint: %q must be %s://host:port: %w", raw, t, err)
		}
	}
	if host == "" {
		return endpoint{}, fmt.Errorf("endpoint: %q has no host", raw)
	}
	if port != "" {
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 1 || n > 65535 {
			return endpoint{}, fmt.Errorf("endpoint: %q has an invalid port %q", raw, port)
		}
	}
	ep := endpoint{transport: t}
	switch t {
	case TransportHTTP, TransportHTTPS:
		if u.Path == "" || u.Path == "/" {
			u.Path = "/gelf"
		}
		ep.url = u.String()
	default:
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return endpoint{}, fmt.Errorf("endpoint: %q: %s endpoints take no path, query or user info", raw, t)
		}
		ep.hostPort = net.JoinHostPort(host, port)
	}
	return ep, nil
}

// Validate checks the configuration; each error names the offending key.
func (cfg *Config) Validate() error {
	var errs []error
	ep, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.UDP.ChunkSize < MinChunkSize || cfg.UDP.ChunkSize > MaxChunkSize {
		errs = append(errs, fmt.Errorf("udp.chunk_size: %d is out of range [%d, %d]", cfg.UDP.ChunkSize, MinChunkSize, MaxChunkSize))
	}
	switch cfg.UDP.Compression {
	case CompressionGzip, CompressionZlib, CompressionNone:
	default:
		errs = append(errs, fmt.Errorf("udp.compression: %q is not one of gzip, zlib, none", cfg.UDP.Compression))
	}
	if cfg.UDP.CompressionThreshold < 0 {
		errs = append(errs, errors.New("udp.compression_threshold: must not be negative (0 = compress every message)"))
	}
	if cfg.TCP.WriteTimeout < 0 {
		errs = append(errs, errors.New("tcp.write_timeout: must not be negative"))
	}
	if cfg.TCP.ReconnectInitialInterval <= 0 {
		errs = append(errs, errors.New("tcp.reconnect_initial_interval: must be positive"))
	}
	if cfg.TCP.ReconnectMaxInterval < cfg.TCP.ReconnectInitialInterval {
		errs = append(errs, errors.New("tcp.reconnect_max_interval: must be >= tcp.reconnect_initial_interval"))
	}
	if cfg.Dialer.Timeout < 0 {
		errs = append(errs, errors.New("dialer.timeout: must not be negative"))
	}
	if cfg.HTTP.Endpoint != "" {
		errs = append(errs, errors.New("http.endpoint: must not be set; the top-level endpoint (http:// or https://) applies"))
	}
	if !reflect.DeepEqual(cfg.HTTP.TLS, configtls.NewDefaultClientConfig()) {
		errs = append(errs, errors.New("http.tls: must not be set; the top-level tls block applies to https:// endpoints"))
	}
	if err == nil && ep.transport == TransportHTTPS && cfg.TLS.Insecure {
		errs = append(errs, errors.New("tls.insecure: cannot be true for an https:// endpoint (use http://)"))
	}
	if cfg.Mapping.MaxAttributeValueLength < 0 {
		errs = append(errs, errors.New("mapping.max_attribute_value_length: must not be negative (0 = no limit)"))
	}
	for i, k := range cfg.Mapping.HostAttributes {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("mapping.host_attributes[%d]: must not be empty", i))
		}
	}
	for _, named := range []struct {
		name string
		list []string
	}{
		{"mapping.include_attributes", cfg.Mapping.IncludeAttributes},
		{"mapping.exclude_attributes", cfg.Mapping.ExcludeAttributes},
	} {
		name := named.name
		for i, p := range named.list {
			if p == "" || p == "*" && name == "mapping.exclude_attributes" {
				errs = append(errs, fmt.Errorf("%s[%d]: %q is not allowed", name, i, p))
			} else if strings.Contains(strings.TrimSuffix(p, "*"), "*") {
				errs = append(errs, fmt.Errorf("%s[%d]: %q: `*` is only allowed at the end (prefix match)", name, i, p))
			}
		}
	}
	return errors.Join(errs...)
}
