// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// GELF chunk magic bytes.
var chunkMagic = [2]byte{0x1e, 0x0f}

const (
	udpResolveInterval = time.Minute
	udpResolveTimeout  = 2 * time.Second
	udpSocketSendBuf   = 4 << 20
)

// udpTransport sends each message as one datagram, or as GELF chunks when it is larger than
// chunkSize. It never blocks on the peer: the socket is unconnected (no ICMP "port
// unreachable" errors) and the host name is resolved in the background, not per message.
type udpTransport struct {
	hostPort    string
	chunkSize   int
	compression Compression
	threshold   int
	logger      *zap.Logger

	conn *net.UDPConn
	addr atomic.Pointer[netip.AddrPort]

	scratch sync.Pool // *udpScratch
	stop    chan struct{}
	wg      sync.WaitGroup
}

type udpScratch struct {
	compressed bytes.Buffer
	datagram   []byte
	gzip       *gzip.Writer
	zlib       *zlib.Writer
}

func newUDPTransport(hostPort string, cfg UDPConfig, logger *zap.Logger) *udpTransport {
	t := &udpTransport{
		hostPort:    hostPort,
		chunkSize:   cfg.ChunkSize,
		compression: cfg.Compression,
		threshold:   cfg.CompressionThreshold,
		logger:      logger,
		stop:        make(chan struct{}),
	}
	t.scratch.New = func() any { return &udpScratch{datagram: make([]byte, 0, t.chunkSize)} }
	return t
}

func (t *udpTransport) start(ctx context.Context, _ component.Host) error {
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return fmt.Errorf("gelf udp: open socket: %w", err)
	}
	_ = conn.SetWriteBuffer(udpSocketSendBuf)
	t.conn = conn
	host, _, _ := net.SplitHostPort(t.hostPort)
	if ap, perr := netip.ParseAddrPort(t.hostPort); perr == nil {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		t.addr.Store(&ap)
		return nil
	}
	// A host name: resolve now (bounded), then refresh in the background.
	if err := t.resolve(ctx); err != nil {
		t.logger.Warn("GELF endpoint does not resolve yet; will retry", zap.String("endpoint", t.hostPort), zap.Error(err))
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		ticker := time.NewTicker(udpResolveInterval)
		defer ticker.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-ticker.C:
				if err := t.resolve(context.Background()); err != nil {
					t.logger.Warn("cannot re-resolve GELF endpoint; keeping the last address", zap.String("host", host), zap.Error(err))
				}
			}
		}
	}()
	return nil
}

func (t *udpTransport) resolve(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, udpResolveTimeout)
	defer cancel()
	host, portStr, err := net.SplitHostPort(t.hostPort)
	if err != nil {
		return err
	}
	port, err := net.DefaultResolver.LookupPort(ctx, "udp", portStr)
	if err != nil {
		return err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	if len(ips) == 0 {
		return fmt.Errorf("no addresses for %q", host)
	}
	ip := ips[0]
	for _, candidate := range ips { // prefer IPv4, like most GELF inputs listen on
		if candidate.Unmap().Is4() {
			ip = candidate
			break
		}
	}
	ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
	t.addr.Store(&ap)
	return nil
}

func (t *udpTransport) sendBatch(ctx context.Context, msgs [][]byte) batchResult {
	addr := t.addr.Load()
	if addr == nil {
		if err := t.resolve(ctx); err != nil {
			return batchResult{err: fmt.Errorf("gelf udp: resolve %s: %w", t.hostPort, err)}
		}
		addr = t.addr.Load()
	}
	s := t.scratch.Get().(*udpScratch)
	defer t.scratch.Put(s)
	var res batchResult
	for i, msg := range msgs {
		compression := t.compression
		if len(msg) < t.threshold {
			compression = CompressionNone
		}
		payload, err := s.compress(compression, msg)
		if err != nil {
			res.dropped = append(res.dropped, drop{index: i, reason: reasonEncoding, err: err})
			res.done = i + 1
			continue
		}
		if err := t.write(s, *addr, payload); err != nil {
			if errors.Is(err, errTooManyChunks) {
				res.dropped = append(res.dropped, drop{index: i, reason: reasonTooManyChunks,
					err: fmt.Errorf("%w: %d bytes (%d after compression %s) at chunk_size %d", err, len(msg), len(payload), compression, t.chunkSize)})
				res.done = i + 1
				continue
			}
			res.err = fmt.Errorf("gelf udp: send to %s: %w", addr, err)
			return res
		}
		res.done = i + 1
	}
	return res
}

// write sends one (possibly compressed) message, chunked if needed.
func (t *udpTransport) write(s *udpScratch, addr netip.AddrPort, payload []byte) error {
	if len(payload) <= t.chunkSize {
		_, err := t.conn.WriteToUDPAddrPort(payload, addr)
		return err
	}
	return writeChunks(payload, t.chunkSize, rand.Uint64(), &s.datagram, func(d []byte) error {
		_, err := t.conn.WriteToUDPAddrPort(d, addr)
		return err
	})
}

// chunkCount is how many chunks of chunkSize (header included) payload needs.
func chunkCount(payloadLen, chunkSize int) int {
	per := chunkSize - chunkHeaderSize
	return (payloadLen + per - 1) / per
}

// writeChunks splits payload into GELF chunks (magic, 8-byte id, sequence number, sequence
// count, data) of at most chunkSize bytes and passes each datagram to send. It fails before
// sending anything when more than MaxChunks chunks would be needed.
func writeChunks(payload []byte, chunkSize int, id uint64, buf *[]byte, send func([]byte) error) error {
	count := chunkCount(len(payload), chunkSize)
	if count > MaxChunks {
		return fmt.Errorf("%w (needs %d)", errTooManyChunks, count)
	}
	per := chunkSize - chunkHeaderSize
	for seq := 0; seq < count; seq++ {
		d := (*buf)[:0]
		d = append(d, chunkMagic[0], chunkMagic[1])
		d = binary.BigEndian.AppendUint64(d, id)
		d = append(d, byte(seq), byte(count))
		end := min((seq+1)*per, len(payload))
		d = append(d, payload[seq*per:end]...)
		*buf = d
		if err := send(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *udpScratch) compress(c Compression, msg []byte) ([]byte, error) {
	var w io.WriteCloser
	s.compressed.Reset()
	switch c {
	case CompressionGzip:
		if s.gzip == nil {
			s.gzip, _ = gzip.NewWriterLevel(&s.compressed, gzip.BestSpeed)
		} else {
			s.gzip.Reset(&s.compressed)
		}
		w = s.gzip
	case CompressionZlib:
		if s.zlib == nil {
			s.zlib, _ = zlib.NewWriterLevel(&s.compressed, zlib.BestSpeed)
		} else {
			s.zlib.Reset(&s.compressed)
		}
		w = s.zlib
	default:
		return msg, nil
	}
	if _, err := w.Write(msg); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return s.compressed.Bytes(), nil
}

func (t *udpTransport) shutdown(context.Context) error {
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	t.wg.Wait()
	if t.conn != nil {
		return t.conn.Close()
	}
	return nil
}
