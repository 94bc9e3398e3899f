// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package statuslogextension

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension/internal/metadata"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func setup(t *testing.T) (*statusLog, *observer.ObservedLogs, *clock) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return newStatusLog(&Config{RepeatInterval: time.Minute}, zap.New(core), c.now), logs, c
}

var es = componentstatus.NewInstanceID(component.MustNewID("elasticsearch"), component.KindExporter)

func TestRecoverableErrorIsLoggedOnceThenRepeatedPerInterval(t *testing.T) {
	s, logs, c := setup(t)
	unauthorized := componentstatus.NewRecoverableErrorEvent(errors.New("Elasticsearch request failed: 401 Unauthorized"))
	for range 5 {
		s.ComponentStatusChanged(es, unauthorized)
		c.advance(5 * time.Second)
	}
	require.Equal(t, 1, logs.Len())
	entry := logs.All()[0]
	assert.Equal(t, zapcore.WarnLevel, entry.Level)
	assert.Equal(t, "exporter elasticsearch", entry.ContextMap()["component"])
	assert.Equal(t, "Elasticsearch request failed: 401 Unauthorized", entry.ContextMap()["error"])

	c.advance(time.Minute)
	s.ComponentStatusChanged(es, unauthorized)
	require.Equal(t, 2, logs.Len())
	assert.Equal(t, int64(4), logs.All()[1].ContextMap()["reports_since_last_log"])

	s.ComponentStatusChanged(es, componentstatus.NewEvent(componentstatus.StatusOK))
	require.Equal(t, 3, logs.Len())
	assert.Equal(t, "Component recovered", logs.All()[2].Message)
	assert.Equal(t, "Elasticsearch request failed: 401 Unauthorized", logs.All()[2].ContextMap()["previous_error"])

	// healthy again: OK reports are not logged
	s.ComponentStatusChanged(es, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, 3, logs.Len())
}

func TestAChangedErrorIsLoggedAtOnce(t *testing.T) {
	s, logs, _ := setup(t)
	s.ComponentStatusChanged(es, componentstatus.NewRecoverableErrorEvent(errors.New("401 Unauthorized")))
	s.ComponentStatusChanged(es, componentstatus.NewRecoverableErrorEvent(errors.New("x509: certificate signed by unknown authority")))
	s.ComponentStatusChanged(es, componentstatus.NewPermanentErrorEvent(errors.New("gave up")))
	require.Equal(t, 3, logs.Len())
	assert.Equal(t, zapcore.ErrorLevel, logs.All()[2].Level)
}

func TestComponentsAreTrackedSeparately(t *testing.T) {
	s, logs, _ := setup(t)
	gelf := componentstatus.NewInstanceID(component.MustNewID("gelf"), component.KindExporter)
	event := componentstatus.NewRecoverableErrorEvent(errors.New("connection refused"))
	s.ComponentStatusChanged(es, event)
	s.ComponentStatusChanged(gelf, event)
	assert.Equal(t, 2, logs.Len())
}

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for id, want := range map[component.ID]*Config{
		component.NewID(metadata.Type):                   {RepeatInterval: time.Minute},
		component.NewIDWithName(metadata.Type, "custom"): {RepeatInterval: 10 * time.Second},
	} {
		cfg := NewFactory().CreateDefaultConfig()
		sub, err := cm.Sub(id.String())
		require.NoError(t, err)
		require.NoError(t, sub.Unmarshal(cfg))
		require.NoError(t, xconfmap.Validate(cfg))
		assert.Equal(t, want, cfg)
	}
	bad := &Config{RepeatInterval: 0}
	assert.ErrorContains(t, bad.Validate(), "repeat_interval")
	assert.Equal(t, metadata.Type, NewFactory().Type())
	ext, err := NewFactory().Create(context.Background(), extensionSettings(), NewFactory().CreateDefaultConfig())
	require.NoError(t, err)
	_, ok := ext.(componentstatus.Watcher)
	assert.True(t, ok, "the extension must watch component status")
}
