// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package gelfexporter // import "github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter"

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otel-ml-logging/otel-ml-logging/collector/gelfexporter/internal/metadata"
)

const (
	// maxKeptArena bounds the encode buffer kept between calls.
	maxKeptArena = 16 << 20
)

type gelfExporter struct {
	cfg       *Config
	logger    *zap.Logger
	mapper    *mapper
	transport transport
	telemetry *metadata.TelemetryBuilder // otelcol_exporter_gelf_dropped_log_records (metadata.yaml)
	id        string                     // component id, the `exporter` attribute of our metric (like core's)
	scratch   sync.Pool                  // *encodeScratch
}

type encodeScratch struct {
	fields  *fieldSet
	arena   []byte
	offsets []int
	msgs    [][]byte
}

func newGELFExporter(cfg *Config, set exporter.Settings) (*gelfExporter, error) {
	t, err := newTransport(cfg, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	fallbackHost, _ := os.Hostname()
	e := &gelfExporter{
		cfg:       cfg,
		logger:    set.Logger,
		mapper:    newMapper(cfg.Mapping, fallbackHost),
		transport: t,
		telemetry: telemetry,
		id:        set.ID.String(),
	}
	e.scratch.New = func() any { return &encodeScratch{fields: newFieldSet()} }
	return e, nil
}

func (e *gelfExporter) start(ctx context.Context, host component.Host) error {
	return e.transport.start(ctx, host)
}

func (e *gelfExporter) shutdown(ctx context.Context) error {
	e.telemetry.Shutdown()
	return e.transport.shutdown(ctx)
}

// encode maps and encodes every record of ld, in order, into s.msgs.
func (e *gelfExporter) encode(ld plog.Logs, s *encodeScratch) {
	s.arena, s.offsets, s.msgs = s.arena[:0], s.offsets[:0], s.msgs[:0]
	for _, rl := range ld.ResourceLogs().All() {
		rc := e.mapper.resourceContext(rl.Resource())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				msg := e.mapper.record(rc, lr, s.fields)
				s.arena = appendJSON(s.arena, &msg)
				s.offsets = append(s.offsets, len(s.arena))
			}
		}
	}
	start := 0
	for _, end := range s.offsets {
		s.msgs = append(s.msgs, s.arena[start:end:end])
		start = end
	}
}

func (e *gelfExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	s := e.scratch.Get().(*encodeScratch)
	defer func() {
		if cap(s.arena) > maxKeptArena {
			s.arena = nil
		}
		clear(s.msgs)
		e.scratch.Put(s)
	}()
	e.encode(ld, s)
	total := len(s.msgs)
	res := e.transport.sendBatch(ctx, s.msgs)

	if len(res.dropped) > 0 {
		e.recordDrops(ctx, res.dropped, total)
	}
	if res.err != nil {
		if res.done == 0 {
			return res.err // nothing sent: retry the whole request
		}
		// Retry only what was not sent (dropped records are all below res.done).
		failed := subsetLogs(ld, func(i int) bool { return i >= res.done })
		return consumererror.NewLogs(res.err, failed)
	}
	if len(res.dropped) > 0 {
		return consumererror.NewPermanent(fmt.Errorf("gelf: dropped %d of %d log records (%s): %w",
			len(res.dropped), total, res.dropped[0].reason, res.dropped[0].err))
	}
	return nil
}

func (e *gelfExporter) recordDrops(ctx context.Context, drops []drop, total int) {
	byReason := map[string]int64{}
	for _, d := range drops {
		byReason[d.reason]++
	}
	for reason, n := range byReason {
		e.telemetry.ExporterGelfDroppedLogRecords.Add(ctx, n, metric.WithAttributes(
			attribute.String("exporter", e.id), attribute.String("reason", reason)))
	}
	e.logger.Warn("GELF exporter dropped log records that cannot be sent (not retried)",
		zap.Int("dropped", len(drops)),
		zap.Int("batch", total),
		zap.String("reason", drops[0].reason),
		zap.Error(drops[0].err),
		zap.Int("chunk_size", e.cfg.UDP.ChunkSize),
		zap.Int("max_chunks", MaxChunks))
}

// subsetLogs copies the records whose global index (in iteration order) satisfies keep.
func subsetLogs(ld plog.Logs, keep func(int) bool) plog.Logs {
	out := plog.NewLogs()
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		var outRL plog.ResourceLogs
		haveRL := false
		for _, sl := range rl.ScopeLogs().All() {
			var outSL plog.ScopeLogs
			haveSL := false
			for _, lr := range sl.LogRecords().All() {
				if keep(i) {
					if !haveRL {
						haveRL = true
						outRL = out.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(outRL.Resource())
						outRL.SetSchemaUrl(rl.SchemaUrl())
					}
					if !haveSL {
						haveSL = true
						outSL = outRL.ScopeLogs().AppendEmpty()
						sl.Scope().CopyTo(outSL.Scope())
						outSL.SetSchemaUrl(sl.SchemaUrl())
					}
					lr.CopyTo(outSL.LogRecords().AppendEmpty())
				}
				i++
			}
		}
	}
	return out
}
