// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package statuslogextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension"

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"
)

// failure is the last logged error status of one component.
type failure struct {
	status  componentstatus.Status
	message string
	since   time.Time
	logged  time.Time
	repeats int // reports of the same error since it was last logged
}

type statusLog struct {
	cfg    *Config
	logger *zap.Logger
	now    func() time.Time

	mu       sync.Mutex
	failures map[string]*failure
}

var (
	_ component.Component     = (*statusLog)(nil)
	_ componentstatus.Watcher = (*statusLog)(nil)
)

func newStatusLog(cfg *Config, logger *zap.Logger, now func() time.Time) *statusLog {
	return &statusLog{cfg: cfg, logger: logger, now: now, failures: map[string]*failure{}}
}

func (*statusLog) Start(context.Context, component.Host) error { return nil }

func (*statusLog) Shutdown(context.Context) error { return nil }

// ComponentStatusChanged logs errors and recoveries; it may be called concurrently.
func (s *statusLog) ComponentStatusChanged(source *componentstatus.InstanceID, event *componentstatus.Event) {
	name := strings.ToLower(source.Kind().String()) + " " + source.ComponentID().String()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.failures[name]
	switch event.Status() {
	case componentstatus.StatusRecoverableError, componentstatus.StatusPermanentError, componentstatus.StatusFatalError:
		message := "unknown error"
		if event.Err() != nil {
			message = event.Err().Error()
		}
		if last != nil && last.status == event.Status() && last.message == message &&
			now.Sub(last.logged) < s.cfg.RepeatInterval {
			last.repeats++
			return
		}
		fields := []zap.Field{
			zap.String("component", name),
			zap.String("status", event.Status().String()),
			zap.String("error", message),
		}
		since := now
		if last != nil && last.message == message {
			since = last.since
			fields = append(fields, zap.Int("reports_since_last_log", last.repeats), zap.Duration("failing_for", now.Sub(since)))
		}
		if event.Status() == componentstatus.StatusRecoverableError {
			s.logger.Warn("Component reports an error and keeps retrying", fields...)
		} else {
			s.logger.Error("Component reports an error it cannot recover from", fields...)
		}
		s.failures[name] = &failure{status: event.Status(), message: message, since: since, logged: now}
	case componentstatus.StatusOK:
		if last != nil {
			s.logger.Info("Component recovered",
				zap.String("component", name),
				zap.String("previous_error", last.message),
				zap.Duration("failing_for", now.Sub(last.since)))
			delete(s.failures, name)
		}
	default:
	}
}
