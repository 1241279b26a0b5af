package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/lcsync/lcsync/pkg/exclude"
)

// Change is one path that changed.
type Change struct {
	// Rel is the path relative to the watched root, with "/" separators; "" is the root.
	Rel string
	// Meta is set when only attributes (mode, times, owner) changed: the content need not
	// be hashed again.
	Meta bool
	// Tree is set for a directory that appeared (created or moved in): everything below it
	// is new to the indexer.
	Tree bool
}

// Batch is a set of changes to apply together.
type Batch struct {
	// Changes lists the changed paths, each once.
	Changes []Change
	// Rescan asks for a full walk of the tree: events were lost, or the root moved.
	Rescan bool
}

// Defaults of Config.
const (
	DefaultSettle   = 100 * time.Millisecond
	DefaultMaxDelay = 10 * time.Second
	DefaultWindow   = 50 * time.Millisecond
	DefaultBatchMax = time.Second
	DefaultPoll     = 10 * time.Second
)

// Config configures a Watcher.
type Config struct {
	// Root is the directory (or single file) watched.
	Root string
	// Exclude leaves paths unwatched and unreported (nil: only lcsync's temporary files).
	Exclude *exclude.Matcher
	// Settle is how long a path must be free of events to be ready (DefaultSettle).
	Settle time.Duration
	// MaxDelay is the longest a path that never settles waits (DefaultMaxDelay).
	MaxDelay time.Duration
	// Window is how long a batch waits for more ready paths (DefaultWindow), BatchMax the
	// longest it stays open (DefaultBatchMax).
	Window, BatchMax time.Duration
	// Poll, if positive, polls every Poll instead of using inotify.
	Poll time.Duration
	// Logger receives the fallback notice (at warn level) and rescans (at info); nil: silent.
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Root == "" {
		return errors.New("watch: no root")
	}
	for _, d := range []*time.Duration{&c.Settle, &c.MaxDelay, &c.Window, &c.BatchMax} {
		if *d < 0 {
			return errors.New("watch: negative duration")
		}
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.BatchMax == 0 {
		c.BatchMax = DefaultBatchMax
	}
	return nil
}

// Stats are a Watcher's counters.
type Stats struct {
	// Mode is "inotify" or "poll".
	Mode string
	// Watches is the number of directories watched (inotify mode).
	Watches int
	// Batches counts batches emitted, Rescans those that asked for a full walk, Overflows
	// the kernel queue overflows seen.
	Batches, Rescans, Overflows uint64
}

// Watcher watches a tree. Create it with New before indexing the tree (so that changes made
// while indexing are reported), then Run it.
type Watcher struct {
	cfg     Config
	abs     string // absolute root
	file    string // the base name when Root is a file (its directory is watched)
	out     chan Batch
	ino     *inotify         // nil in poll mode
	prev    map[string]stamp // poll mode: the snapshot taken by New
	pending atomic.Bool
	stats   atomic.Pointer[Stats]
	running atomic.Bool
}

// New sets the watches up (or takes the first poll snapshot). It returns an error only when
// the root cannot be watched at all; reaching the watch limit falls back to polling.
func New(cfg Config) (*Watcher, error) { return newWatcher(cfg, inotifyAddWatch) }

// newWatcher is New with the inotify_add_watch call given, so that tests can make it fail.
func newWatcher(cfg Config, addWatch func(fd int, path string, mask uint32) (int, error)) (*Watcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved // the root is followed if it is a symlink, as the indexer does
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{cfg: cfg, abs: abs, out: make(chan Batch)}
	if !st.IsDir() {
		w.file = filepath.Base(abs)
		w.abs = filepath.Dir(abs)
	}
	w.stats.Store(&Stats{Mode: "poll"})
	if cfg.Poll > 0 {
		w.prev, _ = w.snapshot() // before the indexer walks: changes made meanwhile show
		return w, nil
	}
	w.ino, err = newInotify(w, addWatch)
	if errors.Is(err, errNoInotify) {
		w.ino = nil
		w.cfg.Poll = DefaultPoll
		w.prev, _ = w.snapshot()
		if cfg.Logger != nil {
			cfg.Logger.Warn("inotify is Linux-only; polling the share instead (changes are seen up to " + DefaultPoll.String() + " late)")
		}
		return w, nil
	}
	if err != nil {
		var limit *limitError
		if !errors.As(err, &limit) {
			return nil, err
		}
		w.ino = nil
		w.cfg.Poll = DefaultPoll
		w.prev, _ = w.snapshot()
		if cfg.Logger != nil {
			cfg.Logger.Warn("inotify limit reached; polling the share instead (changes are seen up to "+DefaultPoll.String()+" late)",
				"limit", limit.sysctl, "dirs", limit.dirs, "fix", limit.fix())
		}
		return w, nil
	}
	w.setStats(func(s *Stats) { s.Mode = "inotify"; s.Watches = len(w.ino.byWd) })
	return w, nil
}

// Batches returns the channel Run sends batches on.
func (w *Watcher) Batches() <-chan Batch { return w.out }

// Pending reports whether changes were seen that have not been sent in a batch yet,
// counting events the kernel has queued but the watcher not read yet. It is safe to call
// from any goroutine while Run runs.
func (w *Watcher) Pending() bool {
	if w.pending.Load() {
		return true
	}
	if w.ino != nil && w.running.Load() {
		return w.ino.queued()
	}
	return false
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (w *Watcher) Stats() Stats { return *w.stats.Load() }

func (w *Watcher) setStats(f func(*Stats)) {
	s := *w.stats.Load()
	f(&s)
	w.stats.Store(&s)
}

// Polls reports whether the watcher polls (chosen, or fallen back to at the watch limit).
func (w *Watcher) Polls() bool { return w.Mode() == "poll" }

// Mode returns "inotify" or "poll".
func (w *Watcher) Mode() string { return w.Stats().Mode }

// Run watches until ctx ends, sending batches on Batches. It returns nil when ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("watch: Run called twice")
	}
	if w.ino == nil {
		return w.poll(ctx)
	}
	err := w.ino.run(ctx)
	var limit *limitError
	if errors.As(err, &limit) {
		// The limit was reached by a directory that appeared later: poll from now on.
		if w.cfg.Logger != nil {
			w.cfg.Logger.Warn("inotify limit reached; polling the share instead (changes are seen up to "+DefaultPoll.String()+" late)",
				"limit", limit.sysctl, "dirs", limit.dirs, "fix", limit.fix())
		}
		w.cfg.Poll = DefaultPoll
		w.setStats(func(s *Stats) { s.Mode = "poll"; s.Watches = 0 })
		if !w.send(ctx, Batch{Rescan: true}) {
			return nil
		}
		return w.poll(ctx)
	}
	return err
}

// send delivers b, unless ctx ends first.
func (w *Watcher) send(ctx context.Context, b Batch) bool {
	select {
	case w.out <- b:
		w.setStats(func(s *Stats) {
			s.Batches++
			if b.Rescan {
				s.Rescans++
			}
		})
		return true
	case <-ctx.Done():
		return false
	}
}

// rel returns p (absolute, below the watched directory) relative to the share root, and
// whether it belongs to the share at all (for a single-file share, only that file does).
func (w *Watcher) rel(p string) (string, bool) {
	r, err := filepath.Rel(w.abs, p)
	if err != nil {
		return "", false
	}
	if w.file != "" {
		return "", r == w.file
	}
	if r == "." {
		return "", true
	}
	return filepath.ToSlash(r), true
}

// limitError is a per-user inotify limit reached.
type limitError struct {
	sysctl string // fs.inotify.max_user_watches or fs.inotify.max_user_instances
	dirs   int    // directories in the share
	err    error
}

func (e *limitError) Error() string {
	return fmt.Sprintf("watch: %s reached (%d directories to watch): %v; %s", e.sysctl, e.dirs, e.err, e.fix())
}

func (e *limitError) Unwrap() error { return e.err }

func (e *limitError) fix() string {
	cur := "?"
	if b, err := os.ReadFile("/proc/sys/" + sysctlPath(e.sysctl)); err == nil {
		cur = string(trimSpace(b))
	}
	want := "1024"
	if e.sysctl == "fs.inotify.max_user_watches" {
		want = fmt.Sprint(max(2*e.dirs, 65536))
	}
	return fmt.Sprintf("raise it (now %s) with: sysctl -w %s=%s, and in /etc/sysctl.d/ to keep it", cur, e.sysctl, want)
}

func sysctlPath(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
