// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestWriteChunksLayout(t *testing.T) {
	payload := []byte(strings.Repeat("0123456789", 100)) // 1000 bytes
	var datagrams [][]byte
	var buf []byte
	require.NoError(t, writeChunks(payload, 300, 0x0102030405060708, &buf, func(d []byte) error {
		datagrams = append(datagrams, append([]byte(nil), d...))
		return nil
	}))
	require.Len(t, datagrams, 4) // 288 payload bytes per chunk
	var joined []byte
	for seq, d := range datagrams {
		assert.LessOrEqual(t, len(d), 300)
		assert.Equal(t, []byte{0x1e, 0x0f}, d[:2], "magic")
		assert.Equal(t, []byte{1, 2, 3, 4, 5, 6, 7, 8}, d[2:10], "message id")
		assert.Equal(t, byte(seq), d[10], "sequence number")
		assert.Equal(t, byte(4), d[11], "sequence count")
		joined = append(joined, d[12:]...)
	}
	assert.Equal(t, payload, joined)

	exact := make([]byte, 128*(300-12))
	assert.Equal(t, 128, chunkCount(len(exact), 300))
	require.NoError(t, writeChunks(exact, 300, 1, &buf, func([]byte) error { return nil }))
	sent := 0
	err := writeChunks(append(exact, 'x'), 300, 1, &buf, func([]byte) error { sent++; return nil })
	require.ErrorIs(t, err, errTooManyChunks)
	assert.Zero(t, sent, "nothing is sent for a message over 128 chunks")
}

func TestUDPUnchunkedAndChunkedAllCompressions(t *testing.T) {
	for _, c := range []Compression{CompressionGzip, CompressionZlib, CompressionNone} {
		t.Run(string(c), func(t *testing.T) {
			r := newUDPReader(t)
			cfg := testConfig(r.endpoint())
			cfg.UDP.Compression = c
			cfg.UDP.ChunkSize = 1420
			exp := startExporter(t, cfg, nopSettings())

			// One small record (single datagram) and one with a 40 KB random stack trace (chunked
			// even when compressed: random hex compresses only ~2:1).
			ld := testLogs(2, numbered("record"))
			big := make([]byte, 20_000)
			_, _ = rand.Read(big)
			stack := hex.EncodeToString(big)
			ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes().PutStr("exception.stacktrace", stack)
			require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

			got := r.receive(t, 2, 5*time.Second)
			byMsg := map[string]udpMessage{}
			for _, m := range got {
				byMsg[m.fields["short_message"].(string)] = m
			}
			small, chunked := byMsg["record 0"], byMsg["record 1"]
			assert.Equal(t, "none", small.compression, "below compression_threshold")
			assert.Equal(t, string(c), chunked.compression)
			assert.Zero(t, small.chunks, "a small record is one datagram")
			assert.Greater(t, chunked.chunks, 1)
			assert.LessOrEqual(t, chunked.chunks, MaxChunks)
			assert.Equal(t, stack, chunked.fields["full_message"])
			assert.Equal(t, "ml-host-1", chunked.fields["host"])
			assert.Equal(t, "1.1", chunked.fields["version"])
			assert.LessOrEqual(t, r.chunkMax, 1420, "no datagram larger than chunk_size")
		})
	}
}

func TestUDPCompressionThresholdZeroCompressesAll(t *testing.T) {
	r := newUDPReader(t)
	cfg := testConfig(r.endpoint())
	cfg.UDP.CompressionThreshold = 0
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(1, numbered("small"))))
	got := r.receive(t, 1, 5*time.Second)
	assert.Equal(t, "gzip", got[0].compression)
	assert.Zero(t, got[0].chunks)
}

func TestUDPDeadEndpointNeverBlocksNorFails(t *testing.T) {
	// A port nobody listens on: writes must neither block nor fail (ICMP unreachable is ignored).
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	addr := conn.LocalAddr().String()
	require.NoError(t, conn.Close())

	exp := startExporter(t, testConfig("udp://"+addr), nopSettings())
	start := time.Now()
	for i := 0; i < 50; i++ {
		require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(10, numbered("lost"))))
	}
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestUDPUnresolvableHostIsRetryable(t *testing.T) {
	cfg := testConfig("udp://gelf.invalid:12201")
	exp := startExporter(t, cfg, nopSettings()) // start must not fail on DNS
	err := exp.ConsumeLogs(context.Background(), testLogs(1, numbered("x")))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "network errors are retryable: %v", err)
}
