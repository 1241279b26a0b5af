package sender

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/wire"
)

// batchSize is how many datagrams go to the kernel per Send (sendmmsg).
const batchSize = 64

// wantedEvery is how often an active channel asks the Trigger whether it is still wanted.
const wantedEvery = 100 * time.Millisecond

// Sender serves one share. Create it with New and run it with Run; it is not safe for
// concurrent use except for Stats.
type Sender struct {
	cfg Config
	geo geometry
	ix  *index.Index

	tab      *table
	manifest [][]byte // datagrams of the current manifest
	gen      uint64
	cycles   map[netip.Addr]*cycle

	act    []*active
	rr     int // round-robin position in act
	byKey  map[actKey]*active
	recent map[actKey][]seen // reporters of channels that finished recently
	files *fileCache
	stale map[*index.File]bool // being re-hashed
	joins []Join
	out   outbox

	bucket       *bucket
	sendFailures int

	rehashed chan rehashResult
	workers  sync.WaitGroup

	mu    sync.Mutex
	stats Stats
}

type rehashResult struct {
	f   *index.File
	u   index.Update
	err error
}

// New prepares a Sender: it builds the group table and the manifest.
func New(cfg Config) (*Sender, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	geo, err := newGeometry(cfg.MTU)
	if err != nil {
		return nil, err
	}
	s := &Sender{
		cfg:      cfg,
		geo:      geo,
		ix:       cfg.Index,
		gen:      uint64(time.Now().UnixNano()),
		byKey:    map[actKey]*active{},
		recent:   map[actKey][]seen{},
		files:    newFileCache(64, cfg.CheckInterval),
		stale:    map[*index.File]bool{},
		rehashed: make(chan rehashResult),
	}
	s.out.init(geo.maxDatagram)
	s.bucket = newBucket(cfg.Rate, batchSize*geo.maxDatagram)
	if err := s.rebuild(); err != nil {
		return nil, err
	}
	return s, nil
}

// rebuild recomputes the group table and the manifest after (re)indexing.
func (s *Sender) rebuild() error {
	s.tab = buildTable(s.ix, s.cfg.Scope, s.cfg.PageHeight)
	blob, err := s.ix.Manifest(s.cfg.Carousel, uint8(s.cfg.PageHeight), s.gen).MarshalBinary()
	if err != nil {
		return fmt.Errorf("sender: encoding manifest: %w", err)
	}
	if s.manifest, err = wire.ManifestChunks(blob, s.geo.maxDatagram); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	s.cycles = map[netip.Addr]*cycle{}
	s.mu.Lock()
	s.stats.Groups = len(s.tab.groups)
	s.stats.ManifestBytes = len(blob)
	s.stats.Generation = s.gen
	s.mu.Unlock()
	return nil
}

// Groups returns the number of groups the sender answers and its manifest group, for logs.
func (s *Sender) Groups() (int, netip.Addr) { return len(s.tab.groups), s.tab.manifest }

// Run serves until ctx is done. It returns nil when ctx is cancelled, or the first fatal
// error.
func (s *Sender) Run(ctx context.Context) error {
	defer s.workers.Wait()
	defer s.files.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.cfg.Carousel {
		s.startCarousel()
	}
	var notify <-chan struct{}
	if s.cfg.Trigger != nil {
		notify = s.cfg.Trigger.Notify()
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		s.takeJoins()
		select {
		case r := <-s.rehashed:
			s.applyRehash(r)
		default:
		}
		wait := s.round(ctx)
		if err := s.flush(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		if wait == 0 {
			continue
		}
		s.idle(ctx, wait, notify)
	}
}

// idle waits until a join is notified, a re-hash finishes, ctx ends or, if wait > 0, wait
// passes.
func (s *Sender) idle(ctx context.Context, wait time.Duration, notify <-chan struct{}) {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
	case <-notify:
	case r := <-s.rehashed:
		s.applyRehash(r)
	case <-timer:
	}
}

// startCarousel activates the manifest and stream channels on every interface, forever.
func (s *Sender) startCarousel() {
	for _, ifi := range s.cfg.Transport.Ifaces() {
		for _, g := range []netip.Addr{s.tab.manifest, s.tab.stream} {
			s.activate(actKey{ifi.Index, g}, netip.Addr{}, time.Now(), true)
		}
	}
}

// takeJoins applies the joins the Trigger has queued.
func (s *Sender) takeJoins() {
	if s.cfg.Trigger == nil {
		return
	}
	s.joins = s.cfg.Trigger.TakeJoins(s.joins[:0])
	now := time.Now()
	for _, j := range s.joins {
		if _, ours := s.tab.groups[j.Group]; !ours {
			continue
		}
		s.count(func(st *Stats) { st.Joins++ })
		s.activate(actKey{j.Ifindex, j.Group}, j.Source, now, false)
	}
}

// Stats returns a snapshot of the counters. It is safe to call from any goroutine.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Active = s.stats.Active
	return st
}

func (s *Sender) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// rehash starts hashing f again in the background and stops serving it meanwhile.
func (s *Sender) rehash(ctx context.Context, f *index.File) {
	if s.stale[f] {
		return
	}
	s.stale[f] = true
	s.files.forget(f)
	for _, a := range s.act {
		if a.file() == f {
			a.budget = 0
		}
	}
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info("file changed, hashing it again", "path", f.Path)
	}
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		u, err := f.Hash(ctx, s.cfg.Workers)
		select {
		case s.rehashed <- rehashResult{f, u, err}:
		case <-ctx.Done():
		}
	}()
}

func (s *Sender) applyRehash(r rehashResult) {
	delete(s.stale, r.f)
	if r.err != nil {
		if s.cfg.Logger != nil {
			s.cfg.Logger.Warn("hashing a changed file failed; it stays unavailable until it hashes again", "path", r.f.Path, "err", r.err)
		}
		return
	}
	s.ix.Apply(r.u)
	s.gen++
	// Channels of the old content keep their cycles only if the new table still maps them.
	if err := s.rebuild(); err != nil && s.cfg.Logger != nil {
		s.cfg.Logger.Error("rebuilding the manifest failed", "err", err)
	}
	for _, a := range s.act {
		if _, ok := s.tab.groups[a.key.group]; !ok {
			a.budget = 0
		} else {
			a.cyc = s.cycle(a.key.group)
			a.pos %= max(1, a.cyc.total)
			a.loaded = false
		}
	}
	s.count(func(st *Stats) { st.Rehashes++ })
}

// cycle returns the (cached) cycle of a group in the table.
func (s *Sender) cycle(g netip.Addr) *cycle {
	if c, ok := s.cycles[g]; ok {
		return c
	}
	c := newCycle(s.geo, s.ix, g, s.tab.groups[g], s.manifest, s.cfg.PageHeight)
	s.cycles[g] = c
	return c
}
