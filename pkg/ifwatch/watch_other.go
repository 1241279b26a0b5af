//go:build !linux

package ifwatch

import (
	"context"
	"net"
	"sync"
)

// Watcher reports interfaces that become usable or stop being usable (Linux only).
type Watcher struct {
	mu    sync.Mutex
	inUse map[int]net.Interface
}

// New fails with ErrNotSupported.
func New(Config) (*Watcher, error) { return nil, ErrNotSupported }

// Events returns nil.
func (w *Watcher) Events() <-chan Event { return nil }

// Run fails with ErrNotSupported.
func (w *Watcher) Run(context.Context) error { return ErrNotSupported }
