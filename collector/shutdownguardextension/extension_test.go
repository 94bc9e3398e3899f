// Copyright otel-ml-logging contributors
// SPDX-License-Identifier: Apache-2.0

package shutdownguardextension

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"

	"github.com/otel-ml-logging/otel-ml-logging/collector/shutdownguardextension/internal/metadata"
)

// fakeOS records what the guard asks of the process.
type fakeOS struct {
	mu       sync.Mutex
	channel  chan<- os.Signal
	signals  []os.Signal
	stopped  bool
	exitCode chan int
}

func newFakeOS() *fakeOS { return &fakeOS{exitCode: make(chan int, 1)} }

func (f *fakeOS) hooks() osHooks {
	return osHooks{
		notify: func(c chan<- os.Signal, sig ...os.Signal) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.channel, f.signals = c, sig
		},
		stop: func(chan<- os.Signal) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.stopped = true
		},
		exit: func(code int) { f.exitCode <- code },
	}
}

func (f *fakeOS) send(sig os.Signal) {
	f.mu.Lock()
	c := f.channel
	f.mu.Unlock()
	c <- sig
}

func TestExitsWhenShutdownOutlastsTimeout(t *testing.T) {
	fos := newFakeOS()
	g := newGuard(&Config{Timeout: 50 * time.Millisecond, ExitCode: 3}, zap.NewNop(), fos.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	assert.ElementsMatch(t, []os.Signal{syscall.SIGTERM, os.Interrupt}, fos.signals)

	start := time.Now()
	fos.send(syscall.SIGTERM)
	select {
	case code := <-fos.exitCode:
		assert.Equal(t, 3, code)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	case <-time.After(5 * time.Second):
		t.Fatal("the guard did not end the process after its timeout")
	}
}

func TestNoExitWhenShutdownFinishesInTime(t *testing.T) {
	fos := newFakeOS()
	g := newGuard(&Config{Timeout: 200 * time.Millisecond}, zap.NewNop(), fos.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	fos.send(syscall.SIGTERM)
	require.NoError(t, g.Shutdown(context.Background()))
	assert.True(t, fos.stopped)
	select {
	case code := <-fos.exitCode:
		t.Fatalf("exit(%d) after a shutdown that finished in time", code)
	case <-time.After(400 * time.Millisecond):
	}
}

func TestNoSignalNoClock(t *testing.T) {
	fos := newFakeOS()
	g := newGuard(&Config{Timeout: 10 * time.Millisecond}, zap.NewNop(), fos.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, g.Shutdown(context.Background()))
	require.NoError(t, g.Shutdown(context.Background()), "Shutdown is idempotent")
	assert.Empty(t, fos.exitCode)
}

func TestDisabledRegistersNothing(t *testing.T) {
	fos := newFakeOS()
	g := newGuard(&Config{Timeout: 0}, zap.NewNop(), fos.hooks())
	require.NoError(t, g.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, g.Shutdown(context.Background()))
	assert.Nil(t, fos.channel)
	assert.False(t, fos.stopped)
}

func TestFactoryLifecycle(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), f.CreateDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, ext.Shutdown(context.Background()))
}
