package sender

import (
	"context"
	"time"
)

// A manifest request must never get a stale manifest: a file written just before a fetch
// starts must be in the manifest that fetch gets.
//
// Without --watch the share is walked again (re-hashing only what changed) when someone asks
// for the manifest, and the request is held until the walk is done. Walks are spaced by ten
// times the duration of the last one, at most RefreshMin: a request arriving sooner is held
// until the next walk, never answered from the previous one. A small share is thus walked
// for every fetch; a large one at most about 10% of the time.
//
// With --watch the index follows the tree by itself; a request is held only while changes
// are known but not yet indexed (the watcher's debounce, a running update), and at most
// liveHoldMax for changes the watcher has not reported yet, so that a file that never settles
// does not hold requests for ever (an update already running or due is always waited for). A polling
// watcher learns of changes only every interval, so there a request gets a rescan first.

// walkDutyFactor spaces re-walks by this many times the last walk's duration.
const walkDutyFactor = 10

// liveHoldMax is the longest a manifest request is held for pending changes with --watch.
const liveHoldMax = time.Second

// freshState is the bookkeeping for holding manifest requests, owned by the sender goroutine.
type freshState struct {
	timer     *time.Timer   // wakes the sender for walkAt, holdUntil and live repeats
	armed     time.Time     // when timer fires (zero: stopped)
	started   time.Time     // when the last walk started
	took      time.Duration // how long the last walk took
	walkAt    time.Time     // a walk scheduled for held requests (zero: none)
	holdUntil time.Time     // held requests go out at the latest then (zero: no limit)
}

// holdManifest decides whether a manifest request from src arriving at now is held until
// the manifest is current, and starts or schedules what makes it current.
func (s *Sender) holdManifest(ctx context.Context, key actKey, now time.Time) bool {
	if s.cfg.Carousel {
		return false
	}
	if s.cfg.Watch != nil {
		if s.cfg.Watch.Polls() {
			s.liveRefresh(ctx) // the poller may not have seen the latest writes yet
		}
		if !s.liveBusy() {
			return false
		}
		if s.fresh.holdUntil.IsZero() {
			s.fresh.holdUntil = now.Add(liveHoldMax)
			s.arm(now)
		}
		return true
	}
	if s.refreshing {
		return true // released when the running walk ends
	}
	gap := min(s.cfg.RefreshMin, walkDutyFactor*s.fresh.took)
	if at := s.lastRefresh.Add(gap); now.Before(at) {
		if s.fresh.walkAt.IsZero() {
			s.fresh.walkAt = at
			s.arm(now)
		}
		return true
	}
	s.refresh(ctx)
	return true
}

// walkStarted and walkEnded time the walks, to space them.
func (s *Sender) walkStarted() { s.fresh.started = time.Now() }

func (s *Sender) walkEnded() {
	if !s.fresh.started.IsZero() {
		s.fresh.took = time.Since(s.fresh.started)
	}
}

// freshStep runs what is due: a scheduled walk, the release of requests held too long, and
// (with --watch) the live work. It is called from the sender's loop and when its timer fires.
func (s *Sender) freshStep(ctx context.Context) {
	now := time.Now()
	if !s.fresh.walkAt.IsZero() && !now.Before(s.fresh.walkAt) {
		s.fresh.walkAt = time.Time{}
		if len(s.held) > 0 {
			s.refresh(ctx)
		}
	}
	if s.cfg.Watch != nil {
		s.liveStep(ctx, now)
	}
	if !s.fresh.holdUntil.IsZero() && (len(s.held) == 0 || (!now.Before(s.fresh.holdUntil) && !s.liveWorking())) {
		// The time limit is for changes that never settle in the watcher; an update that
		// is running or due is waited for, however long it takes (it releases them).
		s.fresh.holdUntil = time.Time{}
		s.releaseHeld(now)
	}
	s.arm(now)
}

// releaseHeld activates the held manifest requests.
func (s *Sender) releaseHeld(now time.Time) {
	held := s.held
	s.held = nil
	for _, h := range held {
		s.activate(h.key, h.src, now, h.forever)
	}
}

// arm sets the timer to the earliest pending deadline.
func (s *Sender) arm(now time.Time) {
	next := s.fresh.walkAt
	next = earliest(next, s.fresh.holdUntil)
	if s.cfg.Watch != nil {
		next = earliest(next, s.live.nextWake())
	}
	if next.Equal(s.fresh.armed) {
		return
	}
	s.fresh.armed = next
	if next.IsZero() {
		s.fresh.timer.Stop()
		return
	}
	s.fresh.timer.Reset(max(next.Sub(now), 0))
}

// wakeC is the timer's channel, for the sender's idle wait.
func (s *Sender) wakeC() <-chan time.Time { return s.fresh.timer.C }

// woken handles the timer firing.
func (s *Sender) woken(ctx context.Context) {
	s.fresh.armed = time.Time{}
	s.freshStep(ctx)
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
