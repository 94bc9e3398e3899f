// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package shutdownguardextension // import "github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension"

import (
	"context"
	"os"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// osHooks are the process-level operations of the guard, replaceable in tests.
type osHooks struct {
	notify func(c chan<- os.Signal, sig ...os.Signal)
	stop   func(c chan<- os.Signal)
	exit   func(code int)
}

type guard struct {
	cfg     *Config
	logger  *zap.Logger
	hooks   osHooks
	signals chan os.Signal
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func newGuard(cfg *Config, logger *zap.Logger, hooks osHooks) *guard {
	return &guard{
		cfg:     cfg,
		logger:  logger,
		hooks:   hooks,
		signals: make(chan os.Signal, 1),
		done:    make(chan struct{}),
	}
}

// Start watches for SIGTERM/SIGINT. The collector receives the same signals and starts its
// graceful shutdown; the guard only starts the clock.
func (g *guard) Start(context.Context, component.Host) error {
	if g.cfg.Timeout == 0 {
		return nil
	}
	g.hooks.notify(g.signals, syscall.SIGTERM, os.Interrupt)
	g.wg.Add(1)
	go g.watch()
	return nil
}

func (g *guard) watch() {
	defer g.wg.Done()
	var sig os.Signal
	select {
	case sig = <-g.signals:
	case <-g.done:
		return
	}
	g.logger.Info("Shutdown budget started",
		zap.String("signal", sig.String()), zap.Duration("timeout", g.cfg.Timeout))
	timer := time.NewTimer(g.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-timer.C:
		g.logger.Warn("Shutdown budget exceeded: exiting now. Batches not yet sent stay in the "+
			"persistent sending queues and are sent after the next start; data held only in memory "+
			"(queues without storage) is lost.",
			zap.Duration("timeout", g.cfg.Timeout), zap.Int("exit_code", g.cfg.ExitCode))
		_ = g.logger.Sync()
		g.hooks.exit(g.cfg.ExitCode)
	case <-g.done:
	}
}

// Shutdown runs after every pipeline has stopped: the graceful shutdown made it in time.
func (g *guard) Shutdown(context.Context) error {
	g.once.Do(func() {
		if g.cfg.Timeout != 0 {
			g.hooks.stop(g.signals)
		}
		close(g.done)
	})
	g.wg.Wait()
	return nil
}
