package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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

// newLogger writes "level=INFO msg=... key=value" lines (format "text") or one JSON object per
// line (format "json") to w. Timestamps are left out when journald captures w (it stamps
// every line itself) and, in text, when w is a terminal (a person watching needs no
// timestamps); they are kept otherwise, for log files.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	stamp := !journald(w) && (format == "json" || !isTerminal(w))
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && !stamp {
				return slog.Attr{}
			}
			return a
		},
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// journald reports whether w is the stream journald captures: systemd sets JOURNAL_STREAM to
// "DEVICE:INODE" of the stderr it connected (systemd.exec(5)), which stays set in children
// whose stderr goes elsewhere, so the file itself is compared.
func journald(w io.Writer) bool {
	env := os.Getenv("JOURNAL_STREAM")
	f, ok := w.(*os.File)
	if env == "" || !ok {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	return env == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
