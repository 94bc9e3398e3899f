// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// tcpWriteChunk is how many bytes are handed to the socket per write.
const tcpWriteChunk = 64 << 10

// tlsVerdictWait is how long a new TLS 1.3 connection waits for the server's verdict on the
// client (certificate) before the first write. In TLS 1.3 the client's handshake completes
// before the server has checked the client's certificate: a refusal ("certificate required",
// "unknown certificate authority") arrives as an alert just after, and whatever was written
// meanwhile is lost while counted as sent. GELF inputs never send data, so anything read in this
// window is that alert (session tickets are consumed by crypto/tls). Paid once per connection.
const tlsVerdictWait = 200 * time.Millisecond

// tcpTransport sends NUL-terminated, uncompressed GELF frames over one reused TCP (or TLS)
// connection. A broken connection is closed and re-dialled with exponential backoff; a
// connection closed by the peer is detected before each batch.
type tcpTransport struct {
	ep     endpoint
	cfg    *Config
	logger *zap.Logger

	tlsConfig *tls.Config

	mu        sync.Mutex // serialises batches on the single connection
	conn      net.Conn
	buf       []byte
	delay     time.Duration // current reconnect backoff
	nextDial  time.Time     // no dial before this
	lastError error
}

func newTCPTransport(ep endpoint, cfg *Config, logger *zap.Logger) *tcpTransport {
	return &tcpTransport{ep: ep, cfg: cfg, logger: logger}
}

func (t *tcpTransport) start(ctx context.Context, _ component.Host) error {
	if t.ep.transport == TransportTLS {
		tlsCfg, err := t.cfg.TLS.LoadTLSConfig(ctx)
		if err != nil {
			return fmt.Errorf("gelf tls: %w", err)
		}
		if tlsCfg == nil { // tls.insecure with no CA: still TLS (the scheme says so), no verification
			tlsCfg = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // explicitly configured
		}
		t.tlsConfig = tlsCfg
	}
	// Connect lazily: a GELF peer that is down must not stop the collector from starting.
	return nil
}

// connect returns the live connection, dialling (after the backoff delay) if needed.
func (t *tcpTransport) connect(ctx context.Context) (net.Conn, error) {
	if t.conn != nil {
		if peerClosed(t.conn) {
			t.logger.Info("GELF peer closed the connection; reconnecting", zap.String("endpoint", t.cfg.Endpoint))
			_ = t.conn.Close()
			t.conn = nil
		} else {
			return t.conn, nil
		}
	}
	if wait := time.Until(t.nextDial); wait > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, fmt.Errorf("reconnect backoff (%s) after: %w", t.delay, t.lastError)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	dialer := &net.Dialer{Timeout: t.cfg.Dialer.Timeout, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if t.tlsConfig != nil {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: t.tlsConfig}).DialContext(ctx, "tcp", t.ep.hostPort)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", t.ep.hostPort)
	}
	if err == nil {
		if tc, ok := conn.(*tls.Conn); ok {
			if err = awaitTLSVerdict(tc, tlsVerdictWait); err != nil {
				_ = conn.Close()
			}
		}
	}
	if err != nil {
		t.failed(err)
		return nil, err
	}
	t.conn = conn
	return conn, nil
}

// awaitTLSVerdict reads from a fresh TLS 1.3 connection for up to wait: silence means the server
// accepted the session; an alert or end-of-stream means it refused it (see tlsVerdictWait).
func awaitTLSVerdict(conn *tls.Conn, wait time.Duration) error {
	if conn.ConnectionState().Version != tls.VersionTLS13 {
		return nil // TLS 1.2 and older: the handshake itself carries the server's verdict
	}
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	var buf [1]byte
	n, err := conn.Read(buf[:])
	if derr := conn.SetReadDeadline(time.Time{}); derr != nil && err == nil {
		return derr
	}
	var netErr net.Error
	switch {
	case err != nil && errors.As(err, &netErr) && netErr.Timeout():
		return nil
	case err != nil:
		return fmt.Errorf("TLS session refused by the GELF peer: %w", err)
	default:
		return fmt.Errorf("GELF peer sent %d unexpected byte(s) after the TLS handshake", n)
	}
}

// failed records a failure and pushes the next dial out by the (doubling) backoff delay.
func (t *tcpTransport) failed(err error) {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
	if t.delay == 0 {
		t.delay = t.cfg.TCP.ReconnectInitialInterval
	} else {
		t.delay = min(2*t.delay, t.cfg.TCP.ReconnectMaxInterval)
	}
	t.nextDial = time.Now().Add(t.delay)
	t.lastError = err
}

func (t *tcpTransport) sendBatch(ctx context.Context, msgs [][]byte) batchResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	conn, err := t.connect(ctx)
	if err != nil {
		return batchResult{err: fmt.Errorf("gelf %s: connect to %s: %w", t.ep.transport, t.ep.hostPort, err)}
	}
	deadline, ok := ctx.Deadline()
	if !ok && t.cfg.TCP.WriteTimeout > 0 {
		deadline = time.Now().Add(t.cfg.TCP.WriteTimeout)
	}
	if err := conn.SetWriteDeadline(deadline); err != nil {
		t.failed(err)
		return batchResult{err: err}
	}
	var res batchResult
	buf := t.buf[:0]
	first := 0 // first message in buf
	flush := func(upTo int) error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := conn.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
		first = upTo
		res.done = upTo
		return nil
	}
	for i, msg := range msgs {
		if len(buf) > 0 && len(buf)+len(msg)+1 > tcpWriteChunk {
			if err := flush(i); err != nil {
				return t.writeFailed(res, first, err)
			}
		}
		buf = append(buf, msg...)
		buf = append(buf, 0)
	}
	if err := flush(len(msgs)); err != nil {
		return t.writeFailed(res, first, err)
	}
	if cap(buf) <= 4*tcpWriteChunk {
		t.buf = buf
	}
	t.delay = 0 // healthy again
	return res
}

func (t *tcpTransport) writeFailed(res batchResult, first int, err error) batchResult {
	t.failed(err)
	res.done = first
	res.err = fmt.Errorf("gelf %s: write to %s: %w", t.ep.transport, t.ep.hostPort, err)
	return res
}

func (t *tcpTransport) shutdown(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		err := t.conn.Close()
		t.conn = nil
		return err
	}
	return nil
}
