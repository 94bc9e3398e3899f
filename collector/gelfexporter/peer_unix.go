// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the peer has closed (or reset) the connection, without blocking
// and without consuming data: a non-blocking MSG_PEEK on the socket. GELF inputs never send
// anything, so end-of-stream, an error, or (under TLS) any pending bytes — a close_notify
// alert — mean the connection is dead and must be re-dialled before writing to it.
func peerClosed(conn net.Conn) bool {
	isTLS := false
	if tc, ok := conn.(*tls.Conn); ok {
		conn, isTLS = tc.NetConn(), true
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	if cerr := raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK), errors.Is(rerr, syscall.EINTR):
			closed = false // nothing to read: alive
		case rerr != nil:
			closed = true // reset, ...
		case n == 0:
			closed = true // orderly shutdown (FIN)
		default:
			closed = isTLS // pending bytes: under TLS an alert (close_notify); plain TCP: ignore
		}
		return true // never wait for readability
	}); cerr != nil {
		return true
	}
	return closed
}
