// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

//go:generate mdatagen metadata.yaml

// Package statuslogextension logs the status components report about themselves. Some exporters
// report a failing backend only as a component status event, not as a log line, while they keep
// retrying: the Elasticsearch exporter does so for a 401/403 or an untrusted certificate when those
// are retried (collector/config.elasticsearch.yaml). This extension turns such an event into one
// warning naming the component and the error, repeats it at most once per `repeat_interval` while
// nothing changes (with the number of reports in between), and logs the recovery.
package statuslogextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension"
