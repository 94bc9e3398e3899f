// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter/internal/metadata"
)

const (
	defaultDialTimeout      = 5 * time.Second
	defaultTCPWriteTimeout  = 10 * time.Second
	defaultReconnectInitial = 100 * time.Millisecond
	defaultReconnectMax     = 5 * time.Second
	defaultHTTPTimeout      = 10 * time.Second
	// defaultMaxAttributeValueLength is Lucene's maximum term length in bytes (Graylog/OpenSearch
	// reject longer keyword values).
	defaultMaxAttributeValueLength = 32766
)

// NewFactory returns the factory of the GELF exporter (type "gelf").
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogsExporter, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	dialer := confignet.NewDefaultDialerConfig()
	dialer.Timeout = defaultDialTimeout
	httpCfg := confighttp.NewDefaultClientConfig()
	httpCfg.Timeout = defaultHTTPTimeout
	return &Config{
		TLS:    configtls.NewDefaultClientConfig(),
		Dialer: dialer,
		UDP:    UDPConfig{ChunkSize: DefaultChunkSize, Compression: CompressionGzip, CompressionThreshold: DefaultChunkSize},
		TCP: TCPConfig{
			WriteTimeout:             defaultTCPWriteTimeout,
			ReconnectInitialInterval: defaultReconnectInitial,
			ReconnectMaxInterval:     defaultReconnectMax,
		},
		HTTP: httpCfg,
		Mapping: MappingConfig{
			HostAttributes:            append([]string(nil), defaultHostAttributes...),
			IncludeResourceAttributes: true,
			MaxAttributeValueLength:   defaultMaxAttributeValueLength,
		},
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:   configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig: configretry.NewDefaultBackOffConfig(),
	}
}

func createLogsExporter(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newGELFExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg,
		exp.pushLogs,
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
