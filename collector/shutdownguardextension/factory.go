// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package shutdownguardextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension"

import (
	"context"
	"os"
	"os/signal"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension/internal/metadata"
)

// defaultTimeout leaves room within Kubernetes' default 30 s grace period.
const defaultTimeout = 15 * time.Second

// NewFactory returns the factory of the shutdown_guard extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{Timeout: defaultTimeout}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newGuard(cfg.(*Config), set.Logger, osHooks{notify: signal.Notify, stop: signal.Stop, exit: os.Exit}), nil
}
