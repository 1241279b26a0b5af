package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Defaults.
const (
	// DefaultMaxDelete is the share of DST's files, in percent, one generation may delete.
	DefaultMaxDelete = 50
	// DefaultSupersedeAfter is how long a pass may make no progress, once a newer generation
	// is known, before it is abandoned for the newer one.
	DefaultSupersedeAfter = 2 * time.Second
	// firstRetry and lastRetry bound the wait before a failed pass is tried again (doubling),
	// unless a newer generation comes first.
	firstRetry, lastRetry = 5 * time.Second, 5 * time.Minute
)

// Config configures a Follower.
type Config struct {
	// Name is the followed directory, "share/" or "share/dir/" (its contents go into Dest).
	Name string
	// Dest is the mirror, a local directory (created if missing).
	Dest string
	// Fetch is the template of every pass's fetch: Scope, Channels, Perms, Times, FEC,
	// Timeout, IdleTimeout, Gate, Exclude, Logger, OnProgress, OnFile and the tuning fields.
	// Name, Dest, Transport, Manifest, Delete and DryRun are set by the follower. A path
	// Exclude excludes (relative to Dest) is never fetched, renamed, deleted nor counted
	// by the delete guard.
	Fetch receiver.Config
	// Listen opens a new receiving socket: one for the manifest channels, one per pass.
	Listen func() (receiver.Transport, error)
	// MaxDelete refuses a generation that would delete more than this percentage of the
	// files in Dest (0: DefaultMaxDelete; 100: no limit), unless ForceDelete. Deleting a
	// single file is always allowed.
	MaxDelete   int
	ForceDelete bool
	// Rejoin is how often the manifest channels are left and joined again (0:
	// receiver.DefaultManifestRejoin).
	Rejoin time.Duration
	// SupersedeAfter: see DefaultSupersedeAfter (0: the default).
	SupersedeAfter time.Duration
	// Logger receives what the follower does (nil: silent).
	Logger *slog.Logger
	// OnApplied, if set, is called from Run's goroutine after each applied generation.
	OnApplied func(Applied)
}

// Applied describes a generation applied to Dest.
type Applied struct {
	// Share and Generation name the manifest applied.
	Share      string
	Generation uint64
	// Stats are the pass's fetch statistics.
	Stats receiver.Stats
	// Renamed counts files renamed in place by content, RenamedBytes their size.
	Renamed      int
	RenamedBytes int64
	// Took is how long the pass took.
	Took time.Duration
	// Published is when the generation was published: when its signed statement was issued
	// (signed shares, to the second) or else when its manifest arrived. Lag is from then to
	// its application.
	Published time.Time
	Lag       time.Duration

	changes *changes    // what an incremental pass looked at (nil: the whole mirror)
	kept    *keptLeaves // the leaves of the large files it fetched (see localIndex)
}

// ErrRefused is wrapped by a pass refused by the delete guard.
var ErrRefused = errors.New("follow: generation refused")

// Follower keeps Dest a mirror of Name. Run runs it; Recheck may be called from any goroutine.
type Follower struct {
	cfg     Config
	prefix  string
	recheck chan struct{}
	box     mailbox
	sels    [2]selCache // the selections of the last two manifests (owned by Run's loop)

	mu    sync.Mutex
	stats Stats
}

// Stats are a Follower's counters since it started.
type Stats struct {
	// Generation is the generation applied last (by this process; 0: none yet), AppliedAt
	// when, and Lag how long after its publication (see Applied.Published). Signed says the
	// publication time came from a signed statement rather than the manifest's arrival.
	Generation uint64
	AppliedAt  time.Time
	Lag        time.Duration
	Signed     bool
	// Applied counts generations applied; Refused those the delete guard refused; Failed
	// the passes that failed (and were retried).
	Applied, Refused, Failed uint64
	// Renamed counts files renamed in place by content, Deleted entries deleted, Fetched
	// files fetched or updated, FetchedBytes the bytes of the blocks they needed.
	Renamed, Deleted, Fetched, FetchedBytes uint64
}

// Stats returns the counters; it is safe to call from any goroutine.
func (f *Follower) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// count updates the counters.
func (f *Follower) count(fn func(*Stats)) {
	f.mu.Lock()
	fn(&f.stats)
	f.mu.Unlock()
}

// New checks cfg and returns a Follower.
func New(cfg Config) (*Follower, error) {
	prefix, ok := strings.CutSuffix(cfg.Name, "/")
	if !ok || prefix == "" {
		return nil, fmt.Errorf("follow: %q: a follower takes a directory's contents, NAME/", cfg.Name)
	}
	if err := wire.CheckName(prefix); err != nil {
		return nil, fmt.Errorf("follow: remote name %q: %w", cfg.Name, err)
	}
	switch {
	case cfg.Dest == "":
		return nil, errors.New("follow: empty destination")
	case cfg.Listen == nil:
		return nil, errors.New("follow: Config needs Listen")
	case cfg.MaxDelete < 0 || cfg.MaxDelete > 100:
		return nil, fmt.Errorf("follow: MaxDelete %d: want a percentage, 0 to 100", cfg.MaxDelete)
	}
	if cfg.MaxDelete == 0 {
		cfg.MaxDelete = DefaultMaxDelete
	}
	if cfg.SupersedeAfter <= 0 {
		cfg.SupersedeAfter = DefaultSupersedeAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Fetch.Logger == nil {
		cfg.Fetch.Logger = cfg.Logger
	}
	return &Follower{cfg: cfg, prefix: prefix, recheck: make(chan struct{}, 1),
		box: mailbox{wake: make(chan struct{}, 1)}}, nil
}

// Recheck asks for a full pass against the newest generation known, even if it is applied
// already (DST may have been changed behind the follower's back). It never blocks.
func (f *Follower) Recheck() {
	select {
	case f.recheck <- struct{}{}:
	default:
	}
}

// Run follows the share until ctx ends (then it returns nil, with no pass half done and no
// temporary file left), or until something the follower cannot go on without fails: Dest
// unusable, its state file unreadable or unwritable, the manifest socket failing.
func (f *Follower) Run(ctx context.Context) error {
	if err := os.MkdirAll(f.cfg.Dest, 0o755); err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	root, err := os.OpenRoot(f.cfg.Dest)
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	defer root.Close()
	held, err := holdState(root)
	if err != nil {
		return err
	}
	defer func() { held.Close() }() // held changes at every save
	st, err := loadState(root)
	if err != nil {
		return err
	}
	if st.generation > 0 && st.name != f.cfg.Name {
		f.cfg.Logger.Warn("the mirror's state is for another name; starting afresh", "state", st.name, "name", f.cfg.Name)
		st = state{}
	}
	st.name = f.cfg.Name
	under := strings.TrimRight(f.cfg.Name, "/")
	kept, err := loadObjects(root)
	if err != nil {
		f.cfg.Logger.Warn("walking the share afresh", "err", err)
	}
	wcfg := f.cfg.Fetch
	wcfg.Name, wcfg.Dest, wcfg.Objects = f.cfg.Name, f.cfg.Dest, kept.objects
	prev := kept.applied(st.generation, under, receiver.ObjectPrune(wcfg)) // what DST holds: renames by content work at once
	tr, err := f.cfg.Listen()
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{}) // closed when the watch has ended, with its error in werr
	var werr error
	floor := max(st.generation, 1) - 1 // the recorded generation is found again: "up to date"
	go func() {
		defer close(watchDone)
		wcfg.Transport = tr
		werr = receiver.WatchManifests(wctx, wcfg, floor, f.cfg.Rejoin, f.box.put)
	}()
	err = f.loop(ctx, root, st, prev, watchDone, &held)
	stopWatch()
	<-watchDone
	if err == nil && werr != nil && ctx.Err() == nil {
		err = fmt.Errorf("follow: %w", werr)
	}
	return err
}

// loop applies generations as they come, until ctx ends or the watch ends (watchDone).
func (f *Follower) loop(ctx context.Context, root *os.Root, st state, prev *wire.Manifest, watchDone <-chan struct{}, held **os.File) error {
	var (
		applied  = prev // the last manifest applied (for renames), by this process or recorded
		saveErr  error  // the last error recording the tree objects, logged once
		unsaved  receiver.Found
		saveC    <-chan time.Time // when to record unsaved's tree objects
		idx      localIndex       // the files applied by this process (nil: hash every local copy)
		refused  uint64           // a generation the delete guard refused
		recheck  bool
		backoff  time.Duration
		retry    <-chan time.Time
		announce = true
	)
	idle := f.cfg.Fetch.IdleTimeout
	if idle <= 0 {
		idle = receiver.DefaultIdleTimeout
	}
	silent := time.NewTimer(idle) // warns once if no manifest is heard at all
	defer silent.Stop()
	save := func() {
		if unsaved.Tree == nil {
			return
		}
		err := saveObjects(root, unsaved.Tree, unsaved.Objects)
		if err != nil && (saveErr == nil || err.Error() != saveErr.Error()) {
			f.cfg.Logger.Warn("the next start walks the share afresh", "err", err)
		}
		unsaved, saveC, saveErr = receiver.Found{}, nil, err
	}
	for {
		found := f.box.get()
		m := found.Manifest
		switch {
		case m == nil || retry != nil:
		case m.Generation == st.generation && !recheck:
			if announce {
				f.cfg.Logger.Info("the mirror is up to date", "share", m.Share, "generation", m.Generation)
				announce = false
			}
			if applied == nil {
				applied = m // what DST holds, as far as the follower knows
			}
		case m.Generation > st.generation && m.Generation == refused && !recheck:
		case m.Generation > st.generation || recheck:
			if recheck {
				idx = nil // re-check: read every local copy
			}
			recheck = false
			a, err := f.pass(ctx, root, applied, m, idx)
			switch {
			case ctx.Err() != nil:
				return nil
			case err == nil:
				now := time.Now()
				a.Published, a.Lag = found.Published(), max(now.Sub(found.Published()), 0)
				f.count(func(s *Stats) {
					s.Generation, s.AppliedAt, s.Lag, s.Signed = m.Generation, now, a.Lag, !found.Issued.IsZero()
					s.Applied++
					s.Renamed += uint64(a.Renamed)
					s.Deleted += uint64(a.Stats.Deleted)
					s.Fetched += uint64(a.Stats.Files)
					s.FetchedBytes += uint64(max(a.Stats.NeededBytes, 0))
				})
				st.generation, applied, backoff = m.Generation, m, 0
				if a.changes != nil && idx != nil {
					idx.refresh(root, f.selected(m), a.changes, a.kept)
				} else {
					idx = indexAfter(root, f.selected(m), a.kept)
				}
				saved, err := saveState(root, st)
				if err != nil {
					return err
				}
				(*held).Close()
				*held = saved
				if found.Tree != nil {
					// Recorded once generations pause (objectsSaveDelay), not on the way of
					// the next one: a burst of generations writes the file once.
					unsaved, saveC = found, time.After(objectsSaveDelay)
				}
				f.cfg.Logger.Info("applied", "share", m.Share, "generation", m.Generation, "fetched", a.Stats.Files,
					"unchanged", a.Stats.Unchanged, "deleted", a.Stats.Deleted, "renamed", a.Renamed,
					"bytes", a.Stats.NeededBytes, "took", a.Took.Round(time.Millisecond))
				if f.cfg.OnApplied != nil {
					f.cfg.OnApplied(a)
				}
				continue
			case errors.Is(err, ErrRefused):
				refused = m.Generation
				f.count(func(s *Stats) { s.Refused++ })
				f.cfg.Logger.Error(err.Error())
			case errors.Is(err, errSuperseded):
				f.cfg.Logger.Info("a newer generation came while a pass stalled; applying it instead", "share", m.Share,
					"abandoned", m.Generation)
				continue
			default:
				f.count(func(s *Stats) { s.Failed++ })
				backoff = min(max(2*backoff, firstRetry), lastRetry)
				f.cfg.Logger.Error("pass failed; retrying", "share", m.Share, "generation", m.Generation, "err", err, "in", backoff)
				retry = time.After(backoff)
			}
		}
		select {
		case <-ctx.Done():
			save()
			return nil
		case <-watchDone:
			save()
			return nil // Run reports the watch's error
		case <-saveC:
			save()
		case <-f.box.wake:
			retry = nil
		case <-f.recheck:
			f.cfg.Logger.Info("re-checking the mirror")
			recheck, retry = true, nil
		case <-retry:
			retry = nil
		case <-silent.C:
			if f.box.get().Manifest == nil {
				f.warnSilent()
			}
		}
	}
}

// warnSilent says that no acceptable manifest was heard yet, and what was refused if anything.
func (f *Follower) warnSilent() {
	share, _, _ := strings.Cut(f.prefix, "/")
	msg := fmt.Sprintf("no manifest for share %q heard yet; still waiting: is a server running on this link, and are --iface, --scope and --port the same on both sides?", share)
	if g := f.cfg.Fetch.Gate; g != nil {
		if err := g.Heard(share); err != nil {
			msg = fmt.Sprintf("no acceptable manifest for share %q yet; still waiting: %v", share, err)
		}
	}
	f.cfg.Logger.Warn(msg)
}

// errSuperseded ends a pass abandoned for a newer generation.
var errSuperseded = errors.New("follow: superseded by a newer generation")

// pass applies m to DST: renames by content against prev (if any), the delete guard, the
// fetch, which hashes only the local copies idx does not vouch for.
func (f *Follower) pass(ctx context.Context, root *os.Root, prev, m *wire.Manifest, idx localIndex) (Applied, error) {
	start := time.Now()
	a := Applied{Share: m.Share, Generation: m.Generation}
	next := f.selected(m)
	if len(next) == 0 {
		if _, ok := m.Lookup(f.prefix); !ok {
			return a, fmt.Errorf("%w: %s is not in generation %d of share %s", receiver.ErrNotFound, f.prefix, m.Generation, m.Share)
		}
	}
	var (
		moves   []move
		dirs    []dirMove
		all     []move // moves and the files the directories carry
		prevSel map[string]wire.Entry
		total   int
		deleted int
		err     error
	)
	if prev != nil {
		prevSel = f.selected(prev)
		moves = planRenames(root, prevSel, next)
		dirs, moves = planDirRenames(root, prevSel, next, moves)
		all = slices.Clone(moves)
		for _, d := range dirs {
			all = append(all, d.files...)
		}
	}
	if prev != nil && idx != nil {
		// What DST holds is prev as applied (idx vouches for its files): look only at what
		// differs (a re-check, SIGHUP, or the first pass reads the whole mirror instead).
		a.changes = diff(f.prefix, prevSel, next, idx)
		total, deleted = deletionsFrom(prevSel, next, all)
	} else if total, deleted, err = deletions(root, next, all, f.cfg.Fetch.Exclude); err != nil {
		return a, fmt.Errorf("follow: reading the mirror: %w", err)
	}
	if deleted > 1 && !f.cfg.ForceDelete && deleted*100 > f.cfg.MaxDelete*total {
		return a, fmt.Errorf("%w: generation %d of share %s would delete %d of the %d files in %s (more than --max-delete %d%%); not applied: pass --force-delete to allow it",
			ErrRefused, m.Generation, m.Share, deleted, total, f.cfg.Dest, f.cfg.MaxDelete)
	}
	done := applyRenames(root, moves, dirs)
	idx.moved(root, done)
	for _, mv := range done {
		a.Renamed++
		a.RenamedBytes += mv.size
		f.cfg.Logger.Debug("renamed by content", "from", mv.from, "to", mv.to)
	}
	tr, err := f.cfg.Listen()
	if err != nil {
		return a, fmt.Errorf("follow: %w", err)
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cfg := f.cfg.Fetch
	cfg.Name, cfg.Dest, cfg.Transport, cfg.Manifest = f.cfg.Name, f.cfg.Dest, tr, m
	cfg.Delete, cfg.DryRun = true, false
	cfg.Gate = nil // m is vetted; the fetch joins no manifest channel
	if idx != nil {
		cfg.Known, cfg.LocalTree = idx.vouch, idx.tree
	}
	if a.changes != nil {
		cfg.Changed = a.changes.has
		a.kept = newKeptLeaves(treeBudget - idx.treeBytes(a.changes.changed))
	} else {
		a.kept = newKeptLeaves(treeBudget)
	}
	cfg.KeepLeaves = a.kept.want
	onFile := cfg.OnFile
	cfg.OnFile = func(r receiver.FileResult) {
		a.kept.add(r)
		if onFile != nil {
			onFile(r)
		}
	}
	var moved time.Time
	var last receiver.Progress
	onProgress := cfg.OnProgress
	cfg.OnProgress = func(p receiver.Progress) {
		now := time.Now()
		if moved.IsZero() || p.BytesDone != last.BytesDone || p.FilesDone != last.FilesDone || p.Phase != last.Phase {
			moved, last = now, p
		}
		if n := f.box.get().Manifest; n != nil && n.Generation > m.Generation && now.Sub(moved) >= f.cfg.SupersedeAfter {
			cancel(errSuperseded)
		}
		if onProgress != nil {
			onProgress(p)
		}
	}
	a.Stats, err = receiver.Fetch(pctx, cfg)
	a.Took = time.Since(start)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(pctx), errSuperseded) {
		return a, errSuperseded
	}
	return a, err
}

// mailbox holds the newest manifest found; wake says a newer one came.
type mailbox struct {
	mu   sync.Mutex
	m    receiver.Found
	wake chan struct{}
}

func (b *mailbox) put(f receiver.Found) {
	b.mu.Lock()
	if b.m.Manifest == nil || f.Manifest.Generation > b.m.Manifest.Generation {
		b.m = f
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// get returns the newest manifest found (Manifest nil: none yet).
func (b *mailbox) get() receiver.Found {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m
}
