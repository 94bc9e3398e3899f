// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import "net"

// peerClosed cannot peek without blocking on this platform; a dead connection is then found
// by the failing write (the batch is retried on a new connection).
func peerClosed(net.Conn) bool { return false }
