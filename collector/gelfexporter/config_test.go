// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, DefaultChunkSize, cfg.UDP.ChunkSize)
	assert.Equal(t, CompressionGzip, cfg.UDP.Compression)
	assert.Equal(t, defaultHostAttributes, cfg.Mapping.HostAttributes)
	assert.True(t, cfg.Mapping.IncludeResourceAttributes)
	assert.True(t, cfg.QueueConfig.HasValue())
	assert.True(t, cfg.BackOffConfig.Enabled)
	// The only thing missing from the defaults is the endpoint.
	assert.ErrorContains(t, xconfmap.Validate(cfg), "endpoint: must be set")
}

func TestLoadValidConfigs(t *testing.T) {
	udp := loadConfig(t, "udp_defaults")
	require.NoError(t, xconfmap.Validate(udp))
	assert.Equal(t, "udp://graylog:12201", udp.Endpoint)
	assert.Equal(t, 1420, udp.UDP.ChunkSize)

	custom := loadConfig(t, "udp_custom")
	require.NoError(t, xconfmap.Validate(custom))
	assert.Equal(t, 8192, custom.UDP.ChunkSize)
	assert.Equal(t, CompressionZlib, custom.UDP.Compression)
	assert.Equal(t, []string{"k8s.pod.name", "host.name"}, custom.Mapping.HostAttributes)
	assert.Equal(t, []string{"ml.*", "exception.type"}, custom.Mapping.IncludeAttributes)
	assert.False(t, custom.Mapping.IncludeResourceAttributes)
	assert.Equal(t, 1024, custom.Mapping.MaxAttributeValueLength)
	assert.Equal(t, int64(500), custom.QueueConfig.Get().QueueSize)
	assert.Equal(t, 2*time.Second, custom.BackOffConfig.InitialInterval)
	assert.Equal(t, 7*time.Second, custom.TimeoutConfig.Timeout)

	tcp := loadConfig(t, "tcp")
	require.NoError(t, xconfmap.Validate(tcp))
	assert.Equal(t, 3*time.Second, tcp.Dialer.Timeout)
	assert.Equal(t, 4*time.Second, tcp.TCP.WriteTimeout)
	assert.Equal(t, 50*time.Millisecond, tcp.TCP.ReconnectInitialInterval)

	tlsCfg := loadConfig(t, "tls")
	require.NoError(t, xconfmap.Validate(tlsCfg))
	assert.Equal(t, "/etc/ssl/graylog-ca.pem", tlsCfg.TLS.CAFile)
	assert.Equal(t, "graylog.internal", tlsCfg.TLS.ServerName)

	httpCfg := loadConfig(t, "http")
	require.NoError(t, xconfmap.Validate(httpCfg))
	assert.Equal(t, configcompression.TypeGzip, httpCfg.HTTP.Compression)
	v, ok := httpCfg.HTTP.Headers.Get("X-Team")
	require.True(t, ok)
	assert.Equal(t, configopaque.String("ml"), v)
}

func TestValidateErrorsNameTheKey(t *testing.T) {
	for name, want := range map[string]string{
		"bad_scheme":        `endpoint: unsupported scheme "ftp"`,
		"no_endpoint":       "endpoint: must be set",
		"no_port":           "endpoint:",
		"chunk_small":       "udp.chunk_size: 64 is out of range [128, 8192]",
		"chunk_big":         "udp.chunk_size: 9000 is out of range",
		"bad_compression":   `udp.compression: "lz4"`,
		"http_endpoint_set": "http.endpoint: must not be set",
		"bad_max_len":       "mapping.max_attribute_value_length",
		"bad_include":       "mapping.include_attributes[0]",
		"bad_reconnect":     "tcp.reconnect_max_interval",
		"bad_threshold":     "udp.compression_threshold",
	} {
		t.Run(name, func(t *testing.T) {
			err := xconfmap.Validate(loadConfig(t, name))
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	for raw, want := range map[string]endpoint{
		"udp://127.0.0.1:12201":    {transport: TransportUDP, hostPort: "127.0.0.1:12201"},
		"TCP://graylog:12201":      {transport: TransportTCP, hostPort: "graylog:12201"},
		"tls://[::1]:12201":        {transport: TransportTLS, hostPort: "[::1]:12201"},
		"http://graylog:12202":     {transport: TransportHTTP, url: "http://graylog:12202/gelf"},
		"https://graylog/":         {transport: TransportHTTPS, url: "https://graylog/gelf"},
		"https://graylog:443/logs": {transport: TransportHTTPS, url: "https://graylog:443/logs"},
	} {
		got, err := parseEndpoint(raw)
		require.NoError(t, err, raw)
		assert.Equal(t, want, got, raw)
	}
	for _, raw := range []string{"graylog:12201", "udp://:12201", "udp://graylog:0", "udp://graylog:99999", "tcp://graylog:1/path", "udp://graylog"} {
		_, err := parseEndpoint(raw)
		assert.ErrorContains(t, err, "endpoint", raw)
	}
}
