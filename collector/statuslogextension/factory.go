// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package statuslogextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension/internal/metadata"
)

const defaultRepeatInterval = time.Minute

// NewFactory returns the factory of the status_log extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{RepeatInterval: defaultRepeatInterval}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newStatusLog(cfg.(*Config), set.Logger, time.Now), nil
}
