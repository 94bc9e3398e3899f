// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestTCPFramingAndConnectionReuse(t *testing.T) {
	srv := newTCPServer(t, "127.0.0.1:0", nil)
	exp := startExporter(t, testConfig("tcp://"+srv.addr()), nopSettings())

	for batch := 0; batch < 3; batch++ {
		require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(100, numbered("tcp"))))
	}
	got := srv.receive(t, 300, 5*time.Second)
	assert.Equal(t, "tcp 0", got[0]["short_message"])
	assert.Equal(t, "tcp 99", got[299]["short_message"])
	assert.Equal(t, "ml-host-1", got[0]["host"])
	assert.Equal(t, 1, srv.connections(), "one connection reused for all batches")
}

func TestTCPReconnectsAfterServerRestart(t *testing.T) {
	srv := newTCPServer(t, "127.0.0.1:0", nil)
	addr := srv.addr()
	cfg := testConfig("tcp://" + addr)
	cfg.TCP.ReconnectInitialInterval = 20 * time.Millisecond
	exp := startExporter(t, cfg, nopSettings())

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(5, numbered("before"))))
	srv.receive(t, 5, 5*time.Second)

	srv.close() // server goes away, closing our connection
	time.Sleep(100 * time.Millisecond)
	err := exp.ConsumeLogs(context.Background(), testLogs(1, numbered("while down")))
	require.Error(t, err, "no server: the export must fail")
	assert.False(t, consumererror.IsPermanent(err), "and be retryable: %v", err)

	restarted := newTCPServer(t, addr, nil)
	require.Eventually(t, func() bool {
		return exp.ConsumeLogs(context.Background(), testLogs(5, numbered("after"))) == nil
	}, 5*time.Second, 50*time.Millisecond)
	got := restarted.receive(t, 5, 5*time.Second)
	assert.Equal(t, "after 0", got[0]["short_message"])
	assert.Equal(t, "after 4", got[4]["short_message"])
}

func TestTCPPeerClosedIsDetectedBeforeWriting(t *testing.T) {
	// The old connection was closed by the peer (FIN) while a new server listens: the next batch
	// must go to the new server without an error and without being lost in the dead socket.
	srv := newTCPServer(t, "127.0.0.1:0", nil)
	addr := srv.addr()
	exp := startExporter(t, testConfig("tcp://"+addr), nopSettings())
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(1, numbered("first"))))
	srv.receive(t, 1, 5*time.Second)
	srv.close()
	restarted := newTCPServer(t, addr, nil)
	time.Sleep(50 * time.Millisecond) // let the FIN arrive
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(3, numbered("second"))))
	got := restarted.receive(t, 3, 5*time.Second)
	assert.Equal(t, "second 0", got[0]["short_message"])
}

func TestTCPBackoffIsExponential(t *testing.T) {
	cfg := testConfig("tcp://127.0.0.1:1")
	cfg.TCP.ReconnectInitialInterval = 10 * time.Millisecond
	cfg.TCP.ReconnectMaxInterval = 40 * time.Millisecond
	tr := newTCPTransport(endpoint{transport: TransportTCP, hostPort: "127.0.0.1:1"}, cfg, nopSettings().Logger)
	var delays []time.Duration
	for i := 0; i < 5; i++ {
		tr.failed(net.ErrClosed)
		delays = append(delays, tr.delay)
	}
	assert.Equal(t, []time.Duration{10, 20, 40, 40, 40}, []time.Duration{
		delays[0] / time.Millisecond, delays[1] / time.Millisecond, delays[2] / time.Millisecond,
		delays[3] / time.Millisecond, delays[4] / time.Millisecond,
	})
	// A context shorter than the backoff fails fast instead of waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	res := tr.sendBatch(ctx, [][]byte{[]byte("{}")})
	require.Error(t, res.err)
}

// selfSignedCert returns a server certificate for 127.0.0.1 and the PEM of its CA (itself).
func selfSignedCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gelf-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return cert, certPEM
}

func TestTLS(t *testing.T) {
	cert, caPEM := selfSignedCert(t)
	srv := newTCPServer(t, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, caPEM, 0o600))

	cfg := testConfig("tls://" + srv.addr())
	cfg.TLS.CAFile = caFile
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(3, numbered("over tls"))))
	got := srv.receive(t, 3, 5*time.Second)
	assert.Equal(t, "over tls 2", got[2]["short_message"])

	// Without the CA the server is not trusted: a (retryable) error, nothing sent.
	untrusted := startExporter(t, testConfig("tls://"+srv.addr()), nopSettings())
	err := untrusted.ConsumeLogs(context.Background(), testLogs(1, numbered("untrusted")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

// TLS 1.3 completes the client's handshake before the server checks the client certificate: a
// server that requires one refuses with an alert afterwards. The exporter must report that as an
// error (the batch is retried) instead of writing into the refused session and counting it sent.
func TestTLS13ClientCertificateRequired(t *testing.T) {
	cert, caPEM := selfSignedCert(t)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	srv := newTCPServer(t, "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, caPEM, 0o600))

	cfg := testConfig("tls://" + srv.addr())
	cfg.TLS.CAFile = caFile // trusts the server, presents no client certificate
	exp := startExporter(t, cfg, nopSettings())
	err := exp.ConsumeLogs(context.Background(), testLogs(2, numbered("no client cert")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate required")
	select {
	case m := <-srv.messages:
		t.Fatalf("the server decoded a message from a refused session: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
}
