// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

// Package gelfexporter exports OpenTelemetry log records as GELF 1.1 messages (Graylog
// Extended Log Format) over UDP (chunked, optionally gzip/zlib compressed), TCP
// (NUL-terminated frames), TLS, or HTTP(S) POST.
//
// The record → message mapping is the pure function ToGELF (gelf_message.go); transports are
// in transport_*.go; the exporter (exporter.go) glues them together behind exporterhelper's
// queue, retry and timeout. See README.md in this directory for the configuration and the
// mapping table.
package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"
