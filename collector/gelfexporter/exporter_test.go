// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter/internal/metadata"
	"github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter/internal/metadatatest"
)

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "gelf", f.Type().String())
	assert.Equal(t, component.StabilityLevelAlpha, f.LogsStability())
	// The default config with an endpoint starts and shuts down (queue and retry enabled).
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Endpoint = "udp://127.0.0.1:12201"
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(2, numbered("q"))))
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestOversizeRecordDroppedCountedAndPermanent(t *testing.T) {
	r := newUDPReader(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	core, logs := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)

	cfg := testConfig(r.endpoint())
	cfg.UDP.Compression = CompressionNone
	cfg.UDP.ChunkSize = 256 // 128 chunks x 244 bytes = ~31 KB max message
	exp := startExporter(t, cfg, set)

	ld := testLogs(3, numbered("rec"))
	blob := make([]byte, 20_000)
	_, _ = rand.Read(blob)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes().PutStr("blob", hex.EncodeToString(blob))
	err := exp.ConsumeLogs(context.Background(), ld)

	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "an oversize record is not retried: %v", err)
	assert.ErrorContains(t, err, "128")
	got := r.receive(t, 2, 5*time.Second)
	assert.ElementsMatch(t, []string{"rec 0", "rec 2"}, []string{got[0].fields["short_message"].(string), got[1].fields["short_message"].(string)},
		"the other records of the batch are sent")
	select {
	case m := <-r.messages:
		t.Fatalf("the oversize record was sent: %v", m.fields["short_message"])
	case <-time.After(200 * time.Millisecond):
	}

	metadatatest.AssertEqualExporterGelfDroppedLogRecords(t, tel, []metricdata.DataPoint[int64]{{
		Value: 1,
		Attributes: attribute.NewSet(
			attribute.String("exporter", set.ID.String()), attribute.String("reason", reasonTooManyChunks)),
	}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	ours := logs.FilterMessageSnippet("GELF exporter dropped").All()
	require.Len(t, ours, 1, "one warning per batch")
	assert.Equal(t, int64(1), ours[0].ContextMap()["dropped"])
	assert.Regexp(t, `more than 128 GELF chunks`, ours[0].ContextMap()["error"])
}

// failingTransport sends `ok` messages, then fails.
type failingTransport struct {
	ok   int
	sent [][]byte
}

func (f *failingTransport) start(context.Context, component.Host) error { return nil }
func (f *failingTransport) shutdown(context.Context) error              { return nil }
func (f *failingTransport) sendBatch(_ context.Context, msgs [][]byte) batchResult {
	n := min(f.ok, len(msgs))
	f.sent = append(f.sent, msgs[:n]...)
	if n == len(msgs) {
		return batchResult{done: n}
	}
	return batchResult{done: n, err: &net.OpError{Op: "write", Err: errors.New("connection reset")}}
}

func TestPartialFailureRetriesOnlyUnsentRecords(t *testing.T) {
	exp, err := newGELFExporter(testConfig("udp://127.0.0.1:1"), nopSettings())
	require.NoError(t, err)
	ft := &failingTransport{ok: 3}
	exp.transport = ft

	ld := testLogs(5, numbered("r"))
	// A second resource, to check the subset keeps resources and scopes.
	testLogs(2, numbered("s")).ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
	err = exp.pushLogs(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var failed consumererror.Logs
	require.ErrorAs(t, err, &failed)
	retry := failed.Data()
	assert.Equal(t, 4, retry.LogRecordCount())
	var bodies []string
	for _, rl := range retry.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				bodies = append(bodies, lr.Body().Str())
			}
		}
	}
	assert.Equal(t, []string{"r 3", "r 4", "s 0", "s 1"}, bodies)
	assert.Equal(t, 2, retry.ResourceLogs().Len())
	assert.Len(t, ft.sent, 3)

	// Nothing sent: the whole request is retried (plain retryable error).
	ft.ok = 0
	err = exp.pushLogs(context.Background(), testLogs(2, numbered("x")))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

// BenchmarkUDPExport measures records/s through the exporter's push path (mapping, JSON
// encoding, compression, UDP send) for batches of 1000 records of the telemetry contract.
// Run: go test -run '^$' -bench UDPExport -cpu 1
func BenchmarkUDPExport(b *testing.B) {
	for _, tc := range []struct {
		name        string
		compression Compression
		threshold   int
	}{
		{"none", CompressionNone, 0},
		{"gzip_default_threshold", CompressionGzip, DefaultChunkSize},
		{"gzip_every_message", CompressionGzip, 0},
		{"zlib_every_message", CompressionZlib, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			require.NoError(b, err)
			defer sink.Close()
			go func() { // drain, so the kernel does the work a real peer would cause
				buf := make([]byte, 65536)
				for {
					if _, _, err := sink.ReadFromUDP(buf); err != nil {
						return
					}
				}
			}()
			cfg := testConfig("udp://" + sink.LocalAddr().String())
			cfg.UDP.Compression = tc.compression
			cfg.UDP.CompressionThreshold = tc.threshold
			exp, err := newGELFExporter(cfg, nopSettings())
			require.NoError(b, err)
			require.NoError(b, exp.start(context.Background(), componenttest.NewNopHost()))
			defer func() { _ = exp.shutdown(context.Background()) }()

			const batch = 1000
			ld := testLogs(batch, numbered("Prediction created."))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := exp.pushLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
