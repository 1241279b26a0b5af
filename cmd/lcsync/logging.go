package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// level resolves -q, -v and --loglevel (which wins) into a slog level.
func (o *options) level() (slog.Level, error) {
	if o.logLevel != "" {
		switch strings.ToLower(o.logLevel) {
		case "error":
			return slog.LevelError, nil
		case "warn", "warning":
			return slog.LevelWarn, nil
		case "info":
			return slog.LevelInfo, nil
		case "debug":
			return slog.LevelDebug, nil
		}
		// The original lcsync's bitmask: 1 severe, 2 error, 4 warning, 8 info, 16 trace,
		// 32 full trace, 64 debug.
		mask, err := strconv.ParseUint(o.logLevel, 0, 8)
		if err != nil {
			return 0, usagef(fmt.Sprintf("--loglevel %q: want error, warn, info, debug or a number 0-127", o.logLevel))
		}
		switch {
		case mask&(16|32|64) != 0:
			return slog.LevelDebug, nil
		case mask&8 != 0:
			return slog.LevelInfo, nil
		case mask&4 != 0:
			return slog.LevelWarn, nil
		default:
			return slog.LevelError, nil
		}
	}
	switch {
	case o.quiet:
		return slog.LevelError, nil
	case o.verbose:
		return slog.LevelDebug, nil
	default:
		return slog.LevelInfo, nil
	}
}

// newLogger writes "level=INFO msg=... key=value" lines to w, without timestamps (this is a
// command, not a daemon log; systemd adds its own).
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
