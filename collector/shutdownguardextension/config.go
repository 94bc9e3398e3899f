// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package shutdownguardextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension"

import (
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Config of the shutdown_guard extension.
type Config struct {
	// Timeout is how long the collector may take to stop after the first SIGTERM or SIGINT before
	// the extension ends the process. 0 disables the guard.
	Timeout time.Duration `mapstructure:"timeout"`
	// ExitCode is the process exit status used when the timeout ends the process.
	ExitCode int `mapstructure:"exit_code"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Timeout < 0 {
		return errors.New("timeout: must be >= 0 (0 disables the guard)")
	}
	if c.ExitCode < 0 || c.ExitCode > 125 {
		return errors.New("exit_code: must be between 0 and 125")
	}
	return nil
}
