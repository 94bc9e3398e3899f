// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

// Package shutdownguardextension bounds how long the collector may take to stop after SIGTERM or
// SIGINT. A graceful shutdown waits for every in-flight export; with an unreachable backend and
// a long export deadline that can take as long as the deadline. After `timeout` the extension
// ends the process. What the persistent sending queues hold (including the batches that were in
// flight: they stay marked as dispatched in the file_storage extension) is sent after the next
// start.
package shutdownguardextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension"
