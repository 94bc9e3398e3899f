// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package statuslogextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/statuslogextension"

import (
	"errors"
	"time"
)

// Config of the status_log extension.
type Config struct {
	// RepeatInterval is the shortest time between two log lines about the same unchanged error
	// of one component (default 1m).
	RepeatInterval time.Duration `mapstructure:"repeat_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	if cfg.RepeatInterval <= 0 {
		return errors.New("repeat_interval: must be positive, e.g. 1m")
	}
	return nil
}
