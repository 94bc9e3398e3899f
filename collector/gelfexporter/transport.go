// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// Drop reasons (the `reason` attribute of otelcol_exporter_gelf_dropped_log_records).
const (
	reasonTooManyChunks = "too_many_chunks"
	reasonEncoding      = "encoding"
	reasonRejected      = "rejected"
)

// drop is one message a transport will never send (a permanent, per-message failure).
type drop struct {
	index  int
	reason string
	err    error
}

// batchResult is what a transport did with a batch of encoded messages.
type batchResult struct {
	// done counts the leading messages that are finished: handed to the network, or dropped.
	done int
	// dropped lists the messages (all < done) that will never be sent.
	dropped []drop
	// err, when set, is a retryable failure: messages [done, n) were not (reliably) sent.
	err error
}

// transport sends encoded GELF messages (one JSON object each) to the endpoint.
// Implementations are safe for concurrent use.
type transport interface {
	start(ctx context.Context, host component.Host) error
	sendBatch(ctx context.Context, msgs [][]byte) batchResult
	shutdown(ctx context.Context) error
}

func newTransport(cfg *Config, set component.TelemetrySettings) (transport, error) {
	ep, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	switch ep.transport {
	case TransportUDP:
		return newUDPTransport(ep.hostPort, cfg.UDP, set.Logger), nil
	case TransportTCP, TransportTLS:
		return newTCPTransport(ep, cfg, set.Logger), nil
	case TransportHTTP, TransportHTTPS:
		return newHTTPTransport(ep, cfg, set), nil
	}
	return nil, fmt.Errorf("endpoint: unsupported transport %q", ep.transport)
}

// errTooManyChunks marks a message that needs more than MaxChunks UDP chunks.
var errTooManyChunks = errors.New("message needs more than 128 GELF chunks")
