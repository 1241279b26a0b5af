package sender

import (
	"context"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/watch"
)

// Live serving (--watch): the watcher's batches are applied to the index with index.Update,
// one update at a time on the sender's hashing pool; batches arriving meanwhile are merged
// and applied next. A full rescan (index.Refresh, reusing every hash whose file did not
// change) replaces an update when the watcher asks for one (events lost), when a block read
// finds a file changed behind the watcher's back, and after the shrink guard refused a
// generation. An update that changes nothing publishes nothing.
//
// Each new generation is pushed at once on the manifest channel of every interface where a
// host is known to listen to it (from its MLD reports), and pushed again pushRepeats later, so that a follower that lost a
// datagram of it need not wait for its next poll.
//
// The guard: a generation in which the share root vanished (an unmounted disk, a removed
// directory) or more than half of the files disappeared is not published unless
// Config.AllowShrink; the previous one is served instead, loudly, until the files come back
// (or the server is restarted with --allow-shrink).

// Watch is what the sender needs from the watcher; *watch.Watcher satisfies it.
type Watch interface {
	// Batches delivers the changes.
	Batches() <-chan watch.Batch
	// Pending reports whether changes were seen that are not in a batch yet.
	Pending() bool
	// Polls reports whether the watcher polls (it then sees changes only every interval,
	// so a manifest request gets a rescan first, as without a watcher).
	Polls() bool
}

// listenerTTL is how long a host that joined the manifest channel, or said it is still a
// member (answering a query), counts as listening without saying so again: about MLD's
// Multicast Address Listening Interval (260 s with the defaults).
const listenerTTL = 5 * time.Minute

// pushRepeats are when a new generation is pushed again, after the first push.
var pushRepeats = [...]time.Duration{50 * time.Millisecond, 250 * time.Millisecond, time.Second}

// maxPendingChanges turns a huge backlog of changes into one rescan.
const maxPendingChanges = 100000

// liveRescanGap is the most time between two rescans asked for by block reads or manifest
// requests; they are spaced by walkDutyFactor times the last rescan's duration, up to it.
const liveRescanGap = time.Second

type liveState struct {
	done     chan liveResult
	pending  []watch.Change
	rescan   bool // the next update is a full rescan
	updating bool

	lastRescan time.Time     // when the last rescan started
	rescanEnd  time.Time     // and ended
	rescanTook time.Duration // how long it took
	rescanAt   time.Time     // a rate-limited rescan waiting (zero: none)
	repeats    []time.Time
	refusing   bool // the guard holds a generation back
	mustRescan bool // the next update must be a full rescan (after a refusal)

	// listeners are the hosts known to listen to the manifest channel, per interface, and
	// when they last said so: MLD's Wanted cannot tell (it says yes while it verifies a
	// group), and a push to nobody would cost whole manifests.
	listeners map[actKey]map[netip.Addr]time.Time
}

type liveResult struct {
	res    index.UpdateResult
	rescan bool
	err    error
}

// note records a manifest-channel report: a join or a current-state report keeps its host
// listening, a leave ends it. It reports whether the report is the first this sender has
// heard from its host (or the first since the host's entry expired).
func (l *liveState) note(ev mld.Event, now time.Time) (first bool) {
	key := actKey{ev.Ifindex, ev.Group}
	if ev.Leave {
		delete(l.listeners[key], ev.Source)
		return false
	}
	if l.listeners == nil {
		l.listeners = map[actKey]map[netip.Addr]time.Time{}
	}
	m := l.listeners[key]
	if m == nil {
		m = map[netip.Addr]time.Time{}
		l.listeners[key] = m
	}
	if len(m) >= 4096 {
		for h, at := range m {
			if now.Sub(at) >= listenerTTL {
				delete(m, h)
			}
		}
		if len(m) >= 4096 {
			return false // enough to know someone listens
		}
	}
	at, known := m[ev.Source]
	m[ev.Source] = now
	return !known || now.Sub(at) >= listenerTTL
}

// listening reports whether a host is known to listen to manifest channel key.
func (l *liveState) listening(key actKey, now time.Time) bool {
	for h, at := range l.listeners[key] {
		if now.Sub(at) < listenerTTL {
			return true
		}
		delete(l.listeners[key], h)
	}
	return false
}

// nextWake is the live work's next deadline.
func (l *liveState) nextWake() time.Time {
	next := l.rescanAt
	for _, t := range l.repeats {
		next = earliest(next, t)
	}
	return next
}

// liveBusy reports whether changes are known that the manifest does not show yet.
func (s *Sender) liveBusy() bool {
	return s.live.updating || s.live.rescan || !s.live.rescanAt.IsZero() || len(s.live.pending) > 0 || s.cfg.Watch.Pending()
}

// takeBatch merges a batch into the pending changes.
func (s *Sender) takeBatch(b watch.Batch) {
	if b.Rescan || len(s.live.pending)+len(b.Changes) > maxPendingChanges {
		s.live.rescan = true
		s.live.pending = nil
		return
	}
	if !s.live.rescan {
		s.live.pending = append(s.live.pending, b.Changes...)
	}
}

// liveRefresh is what a request for a re-walk (a file found changed while serving it, the
// carousel's periodic walk, a manifest request to a polling watcher) becomes with --watch:
// a rescan, spaced from the last one as walks are without a watcher (fresh.go).
func (s *Sender) liveRefresh(ctx context.Context) {
	now := time.Now()
	if s.live.rescan || (s.live.updating && s.live.rescanEnd.Before(s.live.lastRescan)) {
		return // one is coming
	}
	gap := min(liveRescanGap, walkDutyFactor*s.live.rescanTook)
	if at := s.live.rescanEnd.Add(gap); now.Before(at) {
		if s.live.rescanAt.IsZero() {
			s.live.rescanAt = at
			s.arm(now)
		}
		return
	}
	s.live.rescan = true
	s.startUpdate(ctx)
}

// liveStep takes the waiting batches and results and starts the next update.
func (s *Sender) liveStep(ctx context.Context, now time.Time) {
	batches := s.cfg.Watch.Batches()
	for more := true; more; {
		select {
		case b := <-batches:
			s.takeBatch(b)
		case r := <-s.live.done:
			s.applyLive(r, now)
		default:
			more = false
		}
	}
	if !s.live.rescanAt.IsZero() && !now.Before(s.live.rescanAt) {
		s.live.rescanAt = time.Time{}
		s.live.rescan = true
	}
	kept := s.live.repeats[:0]
	pushed := false
	for _, t := range s.live.repeats {
		if now.Before(t) {
			kept = append(kept, t)
		} else if !pushed {
			s.pushManifest()
			pushed = true
		}
	}
	s.live.repeats = kept
	s.startUpdate(ctx)
}

// startUpdate applies the pending changes in the background unless an update is running.
func (s *Sender) startUpdate(ctx context.Context) {
	l := &s.live
	if l.updating || (!l.rescan && len(l.pending) == 0) {
		return
	}
	l.updating = true
	if l.mustRescan {
		l.rescan, l.mustRescan = true, false
	}
	old, changes, rescan := s.ix, l.pending, l.rescan
	l.pending, l.rescan = nil, false
	if rescan {
		l.lastRescan = time.Now()
		s.count(func(st *Stats) { st.Rescans++ })
	}
	opt := index.Options{Workers: s.cfg.Workers, Logger: s.cfg.Logger}
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		var r liveResult
		r.rescan = rescan
		if rescan {
			r.res.Index, r.res.Changed, r.err = index.Refresh(ctx, old, opt)
		} else {
			r.res, r.err = index.Update(ctx, old, changes, opt)
		}
		select {
		case s.live.done <- r:
		case <-ctx.Done():
		}
	}()
}

// applyLive installs an update's result, unless the guard refuses it, and pushes the new
// generation.
func (s *Sender) applyLive(r liveResult, now time.Time) {
	l := &s.live
	l.updating = false
	if r.rescan {
		l.rescanEnd = time.Now()
		l.rescanTook = l.rescanEnd.Sub(l.lastRescan)
		s.lastRefresh = l.rescanEnd // the carousel's periodic walk counts from here
	}
	log := s.cfg.Logger
	s.count(func(st *Stats) { st.Hashed += uint64(r.res.Hashed); st.Moved += uint64(r.res.Moved) })
	switch {
	case r.err != nil:
		// Update and Refresh fail as a whole only when the share root cannot be read.
		l.rescan, l.mustRescan = false, true
		if !l.refusing && log != nil {
			log.Error("the share root cannot be read (moved, removed or unmounted?); still serving the previous generation",
				"path", s.ix.Source, "err", r.err, "generation", s.gen)
		}
		l.refusing = true
		s.count(func(st *Stats) { st.ShrinkRefusals++ })
		s.releaseIfIdle(now)
		return
	case !r.res.Changed:
		s.adopt(r.res.Index)
		if l.refusing && r.rescan && log != nil {
			log.Info("the share is back as it was; the guard no longer holds")
		}
		l.refusing = false
		s.releaseIfIdle(now)
		return
	}
	before, after := len(s.ix.Files), len(r.res.Index.Files)
	if lost := before - after; lost*2 > before && lost >= 2 && !s.cfg.AllowShrink {
		if !l.refusing && log != nil {
			log.Error("more than half of the files disappeared at once; not publishing it (restore them, or restart with --allow-shrink if this was meant)",
				"files", before, "now", after, "generation", s.gen)
		}
		l.refusing = true
		// The refused index is dropped: the next one must come from a full rescan, or the
		// deletions it saw would be forgotten.
		l.pending, l.rescan, l.mustRescan = nil, false, true
		l.rescanAt = time.Time{}
		s.count(func(st *Stats) { st.ShrinkRefusals++ })
		s.releaseIfIdle(now)
		return
	}
	if l.refusing && log != nil {
		log.Info("the guard no longer holds; publishing", "files", after)
	}
	l.refusing = false
	held := s.held
	s.held = nil
	s.applyRefresh(refreshResult{ix: r.res.Index, changed: true})
	s.held = held
	s.count(func(st *Stats) { st.Updates++ })
	if log != nil && len(r.res.Unsettled) > 0 {
		log.Debug("files still changing; they keep their previous entry until they settle", "paths", r.res.Unsettled)
	}
	s.pushManifest()
	l.repeats = l.repeats[:0]
	for _, d := range pushRepeats {
		l.repeats = append(l.repeats, now.Add(d))
	}
	s.releaseIfIdle(now)
}

// liveWorking reports whether an update is running or due: changes the watcher reported, or
// a rescan.
func (s *Sender) liveWorking() bool {
	l := &s.live
	return l.updating || l.rescan || !l.rescanAt.IsZero() || len(l.pending) > 0
}

// releaseIfIdle releases held manifest requests once the manifest shows every known change,
// or every change the watcher reported when its unreported ones outlast liveHoldMax (or the
// guard holds, when the previous generation is what is served).
func (s *Sender) releaseIfIdle(now time.Time) {
	expired := !s.fresh.holdUntil.IsZero() && !now.Before(s.fresh.holdUntil)
	if len(s.held) > 0 && (!s.liveBusy() || s.live.refusing || (expired && !s.liveWorking())) {
		s.fresh.holdUntil = time.Time{}
		s.releaseHeld(now)
	}
}

// pushManifest sends the manifest once more on every interface where a host is known to
// listen to it (it joined and has not left, or answered a query lately), on each of the share's
// manifest channels (a signed share has one keyed by its publisher and one by the name alone).
func (s *Sender) pushManifest() {
	if s.cfg.Trigger == nil {
		return // carousel: it is sent all the time anyway
	}
	now := time.Now()
	for _, ifi := range s.cfg.Transport.Ifaces() {
		for _, g := range []netip.Addr{s.tab.manifest, s.tab.byName} {
			if g.IsValid() {
				s.pushManifestOn(actKey{ifi.Index, g}, now)
			}
		}
	}
}

// pushManifestOn grants one more cycle on manifest channel key if a host listens to it.
func (s *Sender) pushManifestOn(key actKey, now time.Time) {
	if !s.live.listening(key, now) {
		return
	}
	if a := s.byKey[key]; a != nil {
		if a.budget >= 0 {
			a.budget = max(a.budget, a.cyc.total)
		}
		s.count(func(st *Stats) { st.Pushes++ })
		return
	}
	c := s.cycle(key.group)
	if c.total == 0 {
		return
	}
	a := &active{key: key, cyc: c, budget: c.total}
	s.byKey[key] = a
	s.act = append(s.act, a)
	s.count(func(st *Stats) { st.Pushes++; st.Activations++; st.Active = len(s.act) })
}

// watchBatches is the watcher's channel, or nil (never ready) without --watch.
func (s *Sender) watchBatches() <-chan watch.Batch {
	if s.cfg.Watch == nil {
		return nil
	}
	return s.cfg.Watch.Batches()
}
