// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// httpTransport POSTs each message (one JSON object) to the GELF HTTP input (default path
// /gelf) with the confighttp client: keep-alive, headers, optional compression, TLS.
type httpTransport struct {
	url    string
	cfg    *Config
	set    component.TelemetrySettings
	client *http.Client
}

func newHTTPTransport(ep endpoint, cfg *Config, set component.TelemetrySettings) *httpTransport {
	return &httpTransport{url: ep.url, cfg: cfg, set: set}
}

func (t *httpTransport) start(ctx context.Context, host component.Host) error {
	clientCfg := t.cfg.HTTP
	clientCfg.Endpoint = t.url
	clientCfg.TLS = t.cfg.TLS
	client, err := clientCfg.ToClient(ctx, host.GetExtensions(), t.set)
	if err != nil {
		return fmt.Errorf("gelf http: %w", err)
	}
	t.client = client
	return nil
}

func (t *httpTransport) sendBatch(ctx context.Context, msgs [][]byte) batchResult {
	var res batchResult
	for i, msg := range msgs {
		err := t.post(ctx, msg)
		switch {
		case err == nil:
		case isPermanentHTTP(err):
			res.dropped = append(res.dropped, drop{index: i, reason: reasonRejected, err: err})
		default:
			res.err = err
			return res
		}
		res.done = i + 1
	}
	return res
}

type httpStatusError struct {
	status     int
	body       string
	retryAfter time.Duration
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("gelf http: status %d: %s", e.status, e.body)
}

func isPermanentHTTP(err error) bool {
	se, ok := err.(*httpStatusError)
	if !ok {
		return false
	}
	switch se.status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return se.status >= 400 && se.status < 500
}

func (t *httpTransport) post(ctx context.Context, msg []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("gelf http: POST %s: %w", t.url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &httpStatusError{status: resp.StatusCode, body: string(body)}
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		se.retryAfter = time.Duration(s) * time.Second
		return exporterhelper.NewThrottleRetry(se, se.retryAfter)
	}
	return se
}

func (t *httpTransport) shutdown(context.Context) error {
	if t.client != nil {
		t.client.CloseIdleConnections()
	}
	return nil
}
