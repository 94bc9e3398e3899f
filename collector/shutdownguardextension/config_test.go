// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package shutdownguardextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config)
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestLoadConfigs(t *testing.T) {
	def := loadConfig(t, "")
	require.NoError(t, xconfmap.Validate(def))
	assert.Equal(t, 15*time.Second, def.Timeout)
	assert.Equal(t, 0, def.ExitCode)

	custom := loadConfig(t, "custom")
	require.NoError(t, xconfmap.Validate(custom))
	assert.Equal(t, 5*time.Second, custom.Timeout)
	assert.Equal(t, 3, custom.ExitCode)

	disabled := loadConfig(t, "disabled")
	require.NoError(t, xconfmap.Validate(disabled))
	assert.Equal(t, time.Duration(0), disabled.Timeout)

	assert.ErrorContains(t, xconfmap.Validate(loadConfig(t, "negative")), "timeout: must be >= 0")
	assert.ErrorContains(t, xconfmap.Validate(&Config{ExitCode: 300}), "exit_code")
}
