// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter/internal/metadata"
)

// testConfig is a synchronous exporter config: no queue, no retry, so ConsumeLogs returns
// the exporter's own error.
func testConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = endpoint
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	return cfg
}

// startExporter creates and starts the exporter through its factory.
func startExporter(t testing.TB, cfg *Config, set exporter.Settings) exporter.Logs {
	t.Helper()
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

func nopSettings() exporter.Settings { return exportertest.NewNopSettings(metadata.Type) }

// testLogs returns one resource with n records carrying the telemetry contract's fields.
func testLogs(n int, body func(i int) string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "insurance-charges-service")
	ra.PutStr("service.version", "1.2.3")
	ra.PutStr("service.instance.id", "6b9c1f3e-1111-2222-3333-444455556666")
	ra.PutStr("host.name", "ml-host-1")
	ra.PutStr("k8s.pod.name", "insurance-charges-7d4b9c-abcde")
	ra.PutStr("k8s.namespace.name", "ml")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("otel_ml_logging")
	now := time.Now()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.SetEventName("ml.prediction.created")
		lr.Body().SetStr(body(i))
		lr.SetTraceID(pcommon.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, byte(i)})
		lr.SetSpanID(pcommon.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, byte(i)})
		a := lr.Attributes()
		a.PutStr("ml.model.name", "insurance_charges_model")
		a.PutStr("ml.model.version", "0.1.0")
		a.PutStr("ml.prediction.id", fmt.Sprintf("7d1c5e1e-aaaa-4bbb-8ccc-%012d", i))
		a.PutStr("ml.prediction.status", "success")
		a.PutDouble("ml.prediction.latency_ms", 12.5)
		a.PutInt("ml.prediction.input.age", 42)
		a.PutStr("ml.prediction.input.sex", "female")
		a.PutDouble("ml.prediction.output.charges", 8640.78)
	}
	return ld
}

func numbered(prefix string) func(int) string {
	return func(i int) string { return fmt.Sprintf("%s %d", prefix, i) }
}

// decodeGELFPayload inflates (gzip, zlib or none, detected like GELF receivers do) and parses.
func decodeGELFPayload(t testing.TB, payload []byte) (map[string]any, string) {
	t.Helper()
	var r io.Reader = bytes.NewReader(payload)
	kind := "none"
	switch {
	case len(payload) >= 2 && payload[0] == 0x1f && payload[1] == 0x8b:
		zr, err := gzip.NewReader(r)
		require.NoError(t, err)
		r, kind = zr, "gzip"
	case len(payload) >= 2 && payload[0] == 0x78 && (uint16(payload[0])<<8|uint16(payload[1]))%31 == 0:
		zr, err := zlib.NewReader(r)
		require.NoError(t, err)
		r, kind = zr, "zlib"
	}
	raw, err := io.ReadAll(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	return m, kind
}

// udpMessage is one GELF message reassembled by udpReader.
type udpMessage struct {
	fields      map[string]any
	compression string
	chunks      int // 0 = unchunked
}

// udpReader is an independent GELF UDP input: it reassembles chunks per the GELF spec
// (magic 0x1e 0x0f, 8-byte id, sequence number, count <= 128) and inflates payloads.
type udpReader struct {
	t        testing.TB
	conn     *net.UDPConn
	messages chan udpMessage
	errs     chan error
	chunkMax int // largest datagram seen
	mu       sync.Mutex
}

func newUDPReader(t testing.TB) *udpReader {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	_ = conn.SetReadBuffer(8 << 20)
	r := &udpReader{t: t, conn: conn, messages: make(chan udpMessage, 100000), errs: make(chan error, 100)}
	t.Cleanup(func() { _ = conn.Close() })
	go r.loop()
	return r
}

func (r *udpReader) endpoint() string { return "udp://" + r.conn.LocalAddr().String() }

func (r *udpReader) loop() {
	type partial struct {
		count  int
		chunks map[int][]byte
	}
	pending := map[uint64]*partial{}
	buf := make([]byte, 65536)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		d := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.chunkMax = max(r.chunkMax, n)
		r.mu.Unlock()
		if len(d) < 2 || d[0] != 0x1e || d[1] != 0x0f {
			r.deliver(d, 0)
			continue
		}
		if len(d) < chunkHeaderSize {
			r.errs <- fmt.Errorf("short chunk of %d bytes", len(d))
			continue
		}
		id := binary.BigEndian.Uint64(d[2:10])
		seq, count := int(d[10]), int(d[11])
		if count < 1 || count > MaxChunks || seq >= count {
			r.errs <- fmt.Errorf("invalid chunk seq=%d count=%d", seq, count)
			continue
		}
		p := pending[id]
		if p == nil {
			p = &partial{count: count, chunks: map[int][]byte{}}
			pending[id] = p
		}
		if p.count != count {
			r.errs <- fmt.Errorf("chunk count changed within message %x", id)
			continue
		}
		p.chunks[seq] = d[chunkHeaderSize:]
		if len(p.chunks) == p.count {
			var whole []byte
			for i := 0; i < p.count; i++ {
				whole = append(whole, p.chunks[i]...)
			}
			delete(pending, id)
			r.deliver(whole, count)
		}
	}
}

func (r *udpReader) deliver(payload []byte, chunks int) {
	fields, kind := decodeGELFPayload(r.t, payload)
	r.messages <- udpMessage{fields: fields, compression: kind, chunks: chunks}
}

func (r *udpReader) receive(t testing.TB, n int, timeout time.Duration) []udpMessage {
	t.Helper()
	var out []udpMessage
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case m := <-r.messages:
			out = append(out, m)
		case err := <-r.errs:
			t.Fatalf("invalid GELF traffic: %v", err)
		case <-deadline:
			t.Fatalf("received %d of %d GELF messages", len(out), n)
		}
	}
	return out
}

// tcpServer is a GELF TCP (or TLS) input: NUL-terminated frames, one JSON object each.
type tcpServer struct {
	t        testing.TB
	ln       net.Listener
	messages chan map[string]any
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
}

func newTCPServer(t testing.TB, addr string, tlsCfg *tls.Config) *tcpServer {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may still be in use right after a restart
		if tlsCfg != nil {
			ln, err = tls.Listen("tcp", addr, tlsCfg)
		} else {
			ln, err = net.Listen("tcp", addr)
		}
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	s := &tcpServer{t: t, ln: ln, messages: make(chan map[string]any, 10000)}
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *tcpServer) addr() string { return s.ln.Addr().String() }

func (s *tcpServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.accepted++
		s.mu.Unlock()
		go func() {
			br := bufio.NewReader(conn)
			for {
				frame, err := br.ReadBytes(0)
				if err != nil {
					return
				}
				var m map[string]any
				if jerr := json.Unmarshal(frame[:len(frame)-1], &m); jerr != nil {
					m = map[string]any{"_decode_error": jerr.Error(), "_raw": string(frame)}
				}
				s.messages <- m
			}
		}()
	}
}

func (s *tcpServer) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func (s *tcpServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

func (s *tcpServer) receive(t testing.TB, n int, timeout time.Duration) []map[string]any {
	t.Helper()
	var out []map[string]any
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case m := <-s.messages:
			require.NotContains(t, m, "_decode_error")
			out = append(out, m)
		case <-deadline:
			t.Fatalf("received %d of %d GELF TCP messages", len(out), n)
		}
	}
	return out
}
