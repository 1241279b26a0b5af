//go:build !linux

package watch

import (
	"context"
	"errors"
)

// inotify stands in for the Linux backend: off Linux, New falls back to polling.
type inotify struct {
	fd   int
	byWd map[int]string
}

// errNoInotify is what newInotify returns off Linux; New then polls.
var errNoInotify = errors.New("watch: inotify is not supported on this system")

func inotifyAddWatch(int, string, uint32) (int, error) { return -1, errNoInotify }

func newInotify(*Watcher, func(int, string, uint32) (int, error)) (*inotify, error) {
	return nil, errNoInotify
}

func (in *inotify) run(context.Context) error { return errNoInotify }

func (in *inotify) queued() bool { return false }
