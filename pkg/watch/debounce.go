package watch

import (
	"sort"
	"time"
)

// hotWindow: a path that changes again within this time of being reported is "hot" (a log,
// a file rewritten in a loop): it is then ready only when quiet for hotSettle, or after
// MaxDelay, instead of at each close.
const (
	hotWindow = time.Second
	hotSettle = time.Second
)

// what kind of event touched a path.
type what uint8

const (
	wContent what = iota // written, created, truncated: not ready until closed or quiet
	wClosed              // closed after writing: ready (unless hot)
	wMeta                // attributes only: ready when quiet
	wGone                // deleted or moved away: ready at once
	wTree                // a directory appeared: ready at once, walk it whole
)

// pend is a path with events not reported yet.
type pend struct {
	first, last time.Time
	closed      bool // closed after writing since the last event
	content     bool // content may have changed
	gone, tree  bool
	ready       bool // in the open batch
}

// debouncer turns events into batches. It is owned by the watcher's goroutine; times are
// passed in so that tests control them.
type debouncer struct {
	settle, maxDelay, window, batchMax time.Duration

	paths     map[string]*pend
	published map[string]time.Time // when paths were last reported, for hotWindow
	nready    int
	firstRdy  time.Time // when the open batch got its first ready path (zero: none)
	lastRdy   time.Time
	rescan    bool
}

func newDebouncer(c Config) *debouncer {
	return &debouncer{settle: c.Settle, maxDelay: c.MaxDelay, window: c.Window, batchMax: c.BatchMax,
		paths: map[string]*pend{}, published: map[string]time.Time{}}
}

// note records an event on rel at now.
func (d *debouncer) note(rel string, k what, now time.Time) {
	p := d.paths[rel]
	if p == nil {
		p = &pend{first: now}
		d.paths[rel] = p
	}
	p.last = now
	switch k {
	case wContent:
		p.content, p.closed, p.gone = true, false, false
	case wClosed:
		p.content, p.closed, p.gone = true, true, false
	case wMeta:
		p.gone = false
	case wGone:
		p.gone, p.closed = true, false
	case wTree:
		p.tree, p.gone = true, false
	}
}

// needRescan asks for a full rescan with the next batch, which then closes at once.
func (d *debouncer) needRescan() { d.rescan = true }

// pending reports whether anything waits to be reported.
func (d *debouncer) pending() bool { return d.rescan || len(d.paths) > 0 }

// isReady reports whether p may go into the batch at now.
func (d *debouncer) isReady(rel string, p *pend, now time.Time) bool {
	if p.gone || p.tree {
		return true
	}
	hot := false
	if at, ok := d.published[rel]; ok && p.first.Sub(at) < hotWindow {
		hot = true
	}
	quiet := d.settle
	if hot {
		quiet = max(d.settle, hotSettle)
	}
	switch {
	case p.closed && !hot:
		return true
	case now.Sub(p.last) >= quiet:
		return true
	case now.Sub(p.first) >= d.maxDelay:
		return true
	}
	return false
}

// tick moves the paths that became ready into the open batch, and reports whether the
// batch should be sent now, and otherwise when to call tick again (zero: nothing pending).
func (d *debouncer) tick(now time.Time) (send bool, next time.Time) {
	for rel, p := range d.paths {
		if p.ready || !d.isReady(rel, p, now) {
			continue
		}
		p.ready = true
		d.nready++
		if d.firstRdy.IsZero() {
			d.firstRdy = now
		}
		d.lastRdy = now
	}
	if d.rescan {
		return true, time.Time{}
	}
	if d.nready > 0 {
		closeAt := minTime(d.lastRdy.Add(d.window), d.firstRdy.Add(d.batchMax))
		if !now.Before(closeAt) {
			return true, time.Time{}
		}
		next = closeAt
	}
	for rel, p := range d.paths {
		if p.ready {
			continue
		}
		quiet := d.settle
		if at, ok := d.published[rel]; ok && p.first.Sub(at) < hotWindow {
			quiet = max(d.settle, hotSettle)
		}
		next = minTime(next, minTime(p.last.Add(quiet), p.first.Add(d.maxDelay)))
	}
	return false, next
}

// take removes the open batch and returns it.
func (d *debouncer) take(now time.Time) Batch {
	b := Batch{Rescan: d.rescan}
	if d.rescan {
		// A full walk covers every pending path.
		clear(d.paths)
	}
	for rel, p := range d.paths {
		if !p.ready {
			continue
		}
		b.Changes = append(b.Changes, Change{Rel: rel, Meta: !p.content && !p.gone && !p.tree, Tree: p.tree && !p.gone})
		delete(d.paths, rel)
		d.published[rel] = now
	}
	sortChanges(b.Changes)
	for rel, at := range d.published {
		if now.Sub(at) >= hotWindow {
			delete(d.published, rel)
		}
	}
	d.rescan, d.nready, d.firstRdy, d.lastRdy = false, 0, time.Time{}, time.Time{}
	return b
}

// minTime returns the earlier of a and b, a zero time counting as "none".
func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func sortChanges(c []Change) {
	sort.Slice(c, func(i, j int) bool { return c[i].Rel < c[j].Rel })
}
