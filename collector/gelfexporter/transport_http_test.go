// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

type httpInput struct {
	mu       sync.Mutex
	messages []map[string]any
	paths    []string
	headers  []http.Header
	status   func(msg map[string]any) int
}

func (h *httpInput) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := http.StatusAccepted
	if h.status != nil {
		status = h.status(m)
	}
	h.mu.Lock()
	if status < 300 {
		h.messages = append(h.messages, m)
	}
	h.paths = append(h.paths, r.URL.Path)
	h.headers = append(h.headers, r.Header.Clone())
	h.mu.Unlock()
	w.WriteHeader(status)
}

func TestHTTPPostsToGelfPath(t *testing.T) {
	in := &httpInput{}
	srv := httptest.NewServer(in)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.HTTP.Headers.Set("X-Team", configopaque.String("ml"))
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(3, numbered("http"))))

	require.Len(t, in.messages, 3)
	assert.Equal(t, "http 2", in.messages[2]["short_message"])
	assert.Equal(t, []string{"/gelf", "/gelf", "/gelf"}, in.paths)
	assert.Equal(t, "ml", in.headers[0].Get("X-Team"))
	assert.Equal(t, "application/json", in.headers[0].Get("Content-Type"))
}

func TestHTTPErrorsClassified(t *testing.T) {
	in := &httpInput{status: func(m map[string]any) int {
		switch {
		case strings.HasSuffix(m["short_message"].(string), " 1"):
			return http.StatusBadRequest // this message is rejected: permanent, others still sent
		default:
			return http.StatusAccepted
		}
	}}
	srv := httptest.NewServer(in)
	defer srv.Close()
	exp := startExporter(t, testConfig(srv.URL), nopSettings())
	err := exp.ConsumeLogs(context.Background(), testLogs(3, numbered("m")))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "4xx is permanent: %v", err)
	assert.Len(t, in.messages, 2, "the other records were sent")

	in.status = func(map[string]any) int { return http.StatusServiceUnavailable }
	err = exp.ConsumeLogs(context.Background(), testLogs(1, numbered("m")))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "5xx is retryable: %v", err)
}

func TestHTTPS(t *testing.T) {
	in := &httpInput{}
	srv := httptest.NewTLSServer(in)
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pemOf(srv.Certificate().Raw), 0o600))
	cfg := testConfig(srv.URL + "/custom")
	cfg.TLS.CAFile = caFile
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(1, numbered("https"))))
	require.Len(t, in.messages, 1)
	assert.Equal(t, []string{"/custom"}, in.paths)
}
