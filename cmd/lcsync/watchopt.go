package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/lcsync/lcsync/pkg/watch"
)

// watchValue is --watch: a switch that may take a value, inotify (the default) or
// poll[:INTERVAL].
type watchValue struct {
	on   bool
	poll time.Duration // > 0: poll every poll
}

func (v *watchValue) String() string {
	switch {
	case v == nil || !v.on:
		return ""
	case v.poll > 0:
		return "poll:" + v.poll.String()
	}
	return "inotify"
}

// IsBoolFlag lets --watch stand alone; --watch=MODE gives a mode.
func (v *watchValue) IsBoolFlag() bool { return true }

func (v *watchValue) Set(s string) error {
	switch {
	case s == "true" || s == "inotify":
		v.on, v.poll = true, 0
	case s == "false":
		v.on, v.poll = false, 0
	case s == "poll":
		v.on, v.poll = true, watch.DefaultPoll
	case strings.HasPrefix(s, "poll:"):
		d, err := time.ParseDuration(s[len("poll:"):])
		if err != nil || d < 100*time.Millisecond || d > 24*time.Hour {
			return fmt.Errorf("--watch=%s: the poll interval must be a duration from 100ms to 24h, such as poll:10s", s)
		}
		v.on, v.poll = true, d
	default:
		return fmt.Errorf("--watch=%s: want --watch, --watch=inotify, --watch=poll or --watch=poll:INTERVAL", s)
	}
	return nil
}

// checkWatch validates the live-sync options.
func (o *options) checkWatch() error {
	switch {
	case !o.watch.on && (o.settle != watch.DefaultSettle || o.maxDelay != watch.DefaultMaxDelay || o.allowShrink):
		return usagef("--settle, --max-delay and --allow-shrink need --watch")
	case o.settle < time.Millisecond || o.settle > time.Minute:
		return usagef(fmt.Sprintf("--settle %v: must be from 1ms to 1m", o.settle))
	case o.maxDelay < o.settle || o.maxDelay > time.Hour:
		return usagef(fmt.Sprintf("--max-delay %v: must be at least --settle (%v) and at most 1h", o.maxDelay, o.settle))
	}
	return nil
}
