// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package statuslogextension

import (
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension/internal/metadata"
)

func extensionSettings() extension.Settings { return extensiontest.NewNopSettings(metadata.Type) }
