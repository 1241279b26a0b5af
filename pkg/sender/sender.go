package sender

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
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
	signing  signing  // the current manifest's statement (signed shares)
	gen      uint64
	cycles   map[netip.Addr]*cycle
	// win holds the blocks of the window emitWindow is sending: one set for every channel,
	// since a window's blocks are copied into datagrams before the next channel's turn
	// (16 blocks, not 16 per active channel: 64 MiB with 256 channels of 16 KiB blocks).
	win  [][]byte
	lows lowIndexes // the group indexes of stored trees, by tree
	// treeFailed is set when a cycle could not be built from a stored tree; Run then re-indexes.
	treeFailed bool

	act         []*active
	rr          int // round-robin position in act
	byKey       map[actKey]*active
	recent      map[actKey][]seen                   // reporters of channels that finished recently
	walkers     walkers                             // hosts that joined the manifest lately, per interface
	served      map[actKey]servedRec                // hosts channels served lately (see gather)
	rootServed  map[actKey]map[netip.Addr]time.Time // when root pages last served each host
	gatherScore map[int32]float64                   // per file, how often waits for hosts paid off
	rootScore   listedScore                         // how often root pages' waits for followers paid off
	files       *fileCache
	events      []mld.Event
	out         outbox
	fec         fecState

	// When recent and served were last swept of old entries.
	recentSwept, servedSwept time.Time

	bucket       *bucket
	rate         *aimd // nil in carousel mode or without a rate limit
	sendFailures int
	failing      map[int]bool                     // interfaces whose last send failed (logged once; see sent)
	known        map[int]bool                     // the Transport's interfaces, as last seen (ifaces.go)
	ifacesC      chan struct{}                    // IfacesChanged requests
	listenersAt  time.Time                        // when Stats.Listeners was counted (ifaces.go)
	listenersDue bool                             // a recount was asked for too early (ifaces.go)
	seen         map[int]map[netip.Addr]time.Time // hosts that asked for the share's channels, by interface
	seg          SegmentSender                    // nil unless GSO is used

	refreshed   chan refreshResult
	refreshing  bool
	lastRefresh time.Time
	held        []heldJoin    // manifest requests waiting for a refresh
	reindex     chan struct{} // Reindex requests (see reindex.go)
	fresh       freshState    // when held requests go out (fresh.go)
	live        liveState     // --watch (live.go)
	workers     sync.WaitGroup

	mu    sync.Mutex
	stats Stats
}

type refreshResult struct {
	ix      *index.Index
	changed bool
	err     error
}

type heldJoin struct {
	key     actKey
	src     netip.Addr
	forever bool
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
		cfg:         cfg,
		geo:         geo,
		ix:          cfg.Index,
		gen:         uint64(time.Now().UnixNano()),
		byKey:       map[actKey]*active{},
		lows:        lowIndexes{},
		recent:      map[actKey][]seen{},
		walkers:     walkers{},
		served:      map[actKey]servedRec{},
		rootServed:  map[actKey]map[netip.Addr]time.Time{},
		gatherScore: map[int32]float64{},
		files:       newFileCache(64, cfg.CheckInterval),
		refreshed:   make(chan refreshResult),
		reindex:     make(chan struct{}, 1),
		ifacesC:     make(chan struct{}, 1),
		failing:     map[int]bool{},
		known:       map[int]bool{},
		seen:        map[int]map[netip.Addr]time.Time{},
		lastRefresh: time.Now(),
		fresh:       freshState{timer: time.NewTimer(time.Hour)},
		live:        liveState{done: make(chan liveResult)},
	}
	s.fresh.timer.Stop()
	for _, ifi := range cfg.Transport.Ifaces() {
		s.known[ifi.Index] = true
	}
	s.out.init(geo.maxDatagram)
	if ss, ok := cfg.Transport.(SegmentSender); ok && ss.GSO() && !cfg.NoGSO {
		s.seg = ss
	}
	s.bucket = newBucket(cfg.Rate, batchSize*geo.maxDatagram)
	if cfg.Trigger != nil && cfg.Rate > 0 && !cfg.NoCongestionControl {
		s.rate = newAIMD(cfg.Rate)
	}
	if err := s.rebuild(); err != nil {
		return nil, err
	}
	return s, nil
}

// rebuild recomputes the group table and the manifest of s.ix at generation s.gen: the
// version 2 manifest (PROTOCOL.md §5.1), which names the share directory's tree object; the
// objects are served on their own channels, and in carousel mode after the manifest on its
// channel. Nothing changes unless both can be built: on error the sender keeps serving the
// old table and manifest together.
func (s *Sender) rebuild() error {
	if err := s.signGeneration(); err != nil {
		return err
	}
	tab, err := buildTable(s.ix, s.cfg.Scope, s.cfg.PageHeight, s.publisherKey(), s.lows)
	if err != nil {
		return err
	}
	if tab.lowErr != nil && s.cfg.Logger != nil {
		s.cfg.Logger.Warn("holding the channels of large files in memory", "err", tab.lowErr)
	}
	m, err := s.ix.TreeManifest(s.cfg.Carousel, uint8(s.cfg.PageHeight), s.gen)
	if err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	m.Publisher = s.publisher()
	blob, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("sender: encoding manifest: %w", err)
	}
	chunks, err := wire.ManifestChunks(blob, s.geo.maxDatagram)
	if err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if s.cfg.Carousel {
		for _, object := range tab.objects { // before carryObjects: the current generation's only
			oc, err := wire.ObjectChunks(object, s.geo.maxDatagram)
			if err != nil {
				return fmt.Errorf("sender: %w", err)
			}
			chunks = append(chunks, oc...)
		}
	}
	if err := s.signManifest(blob); err != nil {
		return err
	}
	tab.carryObjects(s.tab)
	s.tab, s.manifest = tab, chunks
	s.lows.keep(tab, s.ix)
	s.cycles = map[netip.Addr]*cycle{}
	s.fec.parityOf = map[netip.Addr]parityRef{}
	s.mu.Lock()
	s.stats.Groups = s.tab.count()
	s.stats.ManifestBytes = len(blob)
	s.stats.Generation = s.gen
	s.mu.Unlock()
	return nil
}

// Groups returns the number of groups the sender answers and its manifest group, for logs.
func (s *Sender) Groups() (int, netip.Addr) { return s.tab.count(), s.tab.manifest }

// Run serves until ctx is done. It returns nil when ctx is cancelled, or the first fatal
// error.
func (s *Sender) Run(ctx context.Context) error {
	defer s.workers.Wait()
	defer s.files.close()
	defer s.lows.close()
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
		s.takeEvents(ctx)
		if s.listenersDue {
			s.countListeners(time.Now())
		}
		s.resignIfDue()
		select {
		case r := <-s.refreshed:
			s.applyRefresh(r)
		case <-s.reindex:
			s.refresh(ctx)
		case <-s.ifacesC:
			s.syncIfaces(time.Now())
		default:
		}
		s.freshStep(ctx)
		if s.treeFailed {
			s.treeFailed = false
			s.refresh(ctx)
		}
		if s.cfg.Carousel && time.Since(s.lastRefresh) >= s.cfg.RefreshInterval {
			s.refresh(ctx)
		}
		if s.rate != nil && s.rate.tick(time.Now()) {
			s.setRate()
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
		s.idle(ctx, s.untilListeners(s.untilResign(wait)), notify)
	}
}

// setRate applies the congestion controller's rate to the token bucket.
func (s *Sender) setRate() {
	s.bucket.setRate(s.rate.cur)
	s.mu.Lock()
	s.stats.Rate = s.rate.cur
	s.mu.Unlock()
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
	case r := <-s.refreshed:
		s.applyRefresh(r)
	case <-s.reindex:
		s.refresh(ctx)
	case <-s.ifacesC:
		s.syncIfaces(time.Now())
	case <-s.wakeC():
		s.woken(ctx)
	case b := <-s.watchBatches():
		s.takeBatch(b)
	case r := <-s.live.done:
		s.applyLive(r, time.Now())
	case <-timer:
	}
}

// startCarousel activates the manifest and stream channels on every interface, forever.
func (s *Sender) startCarousel() {
	for _, ifi := range s.cfg.Transport.Ifaces() {
		s.startCarouselOn(ifi.Index, time.Now())
	}
}

// startCarouselOn activates the manifest and stream channels on one interface, forever.
func (s *Sender) startCarouselOn(ifindex int, now time.Time) {
	for _, g := range []netip.Addr{s.tab.manifest, s.tab.byName, s.tab.stream} {
		if !g.IsValid() {
			continue // an unsigned share has no second manifest channel
		}
		s.activate(actKey{ifindex, g}, netip.Addr{}, now, true)
	}
}

// takeEvents applies the joins and leaves the Trigger has queued.
func (s *Sender) takeEvents(ctx context.Context) {
	if s.cfg.Trigger == nil {
		return
	}
	s.events = s.cfg.Trigger.TakeEvents(s.events[:0])
	now := time.Now()
	defer s.countListeners(now)
	s.fec.expire(s.cfg.Trigger, now)
	for _, ev := range s.events {
		if ev.Group == s.tab.congestion {
			member := func(h netip.Addr) bool { return s.memberOn(ev.Ifindex, h) }
			if s.rate != nil && !ev.Refresh && s.rate.signal(ev.Source, ev.Leave, now, member) {
				s.setRate()
				s.count(func(st *Stats) { st.Slowdowns++ })
			}
			continue
		}
		if _, ours := s.fec.parityOf[ev.Group]; ours {
			s.fec.event(ev, now)
			continue
		}
		if _, ours := s.tab.lookup(ev.Group); !ours {
			continue
		}
		if !ev.Leave {
			s.noteSeen(ev.Ifindex, ev.Source, now)
		}
		key := actKey{ev.Ifindex, ev.Group}
		if s.tab.isManifest(ev.Group) && s.live.note(ev, now) && ev.Refresh {
			// A host this sender has not heard before answers a query for the manifest: it
			// joined before this server started (a follower that stayed joined across a
			// restart), so it has not seen this server's generation. Answer it as a join.
			ev.Refresh = false
		}
		if ev.Leave {
			s.left(key, ev.Source, now)
			continue
		}
		if ev.Refresh {
			if a := s.byKey[key]; a != nil {
				a.addMember(ev.Source)
			}
			continue
		}
		s.count(func(st *Stats) { st.Joins++ })
		// Every manifest join gets a current manifest, repeats too: a join that looks like a
		// repeat of src's last one may be a new fetch whose leave of the previous fetch the
		// kernel merged away (a leave followed at once by a join is reported as the join).
		if s.tab.isManifest(ev.Group) && s.holdManifest(ctx, key, now) {
			// Someone wants the manifest: make sure it is current first (fresh.go).
			s.hold(heldJoin{key: key, src: ev.Source})
			continue
		}
		s.activate(key, ev.Source, now, false)
	}
}

// maxHeld bounds the manifest joins held during a re-index: their sources can be forged.
const maxHeld = 1024

// hold keeps a manifest join until the running re-index ends. A repeat of a held join is
// dropped; past maxHeld, so is a join for a channel that has one held already (the channel
// starts for that one, and the other hosts find it running).
func (s *Sender) hold(h heldJoin) {
	held := false
	for _, o := range s.held {
		if o == h {
			return
		}
		held = held || o.key == h.key
	}
	if held && len(s.held) >= maxHeld {
		return
	}
	s.held = append(s.held, h)
}

// Stats returns a snapshot of the counters. It is safe to call from any goroutine.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Listeners = slices.Clone(s.stats.Listeners) // replaced, never changed in place
	return st
}

func (s *Sender) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// refresh re-walks the share in the background (re-hashing only changed files) unless a
// refresh is already running. While it runs, manifest requests are held so that nobody gets a
// stale manifest.
func (s *Sender) refresh(ctx context.Context) {
	if s.cfg.Watch != nil {
		s.liveRefresh(ctx)
		return
	}
	if s.refreshing {
		return
	}
	s.refreshing = true
	s.walkStarted()
	old := s.ix
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		ix, changed, err := index.Refresh(ctx, old, index.Options{Workers: s.cfg.Workers, Logger: s.cfg.Logger})
		select {
		case s.refreshed <- refreshResult{ix, changed, err}:
		case <-ctx.Done():
		}
	}()
}

// applyRefresh installs a refreshed index, rebuilding the table and the manifest if anything
// changed, and releases the held manifest requests.
func (s *Sender) applyRefresh(r refreshResult) {
	s.refreshing = false
	s.lastRefresh = time.Now()
	s.walkEnded()
	switch {
	case r.err != nil:
		if s.cfg.Logger != nil {
			s.cfg.Logger.Warn("re-indexing the share failed; serving the previous index", "err", r.err)
		}
	case r.changed:
		oldIx, oldGen := s.ix, s.gen
		s.ix, s.gen = r.ix, s.gen+1
		if err := s.rebuild(); err != nil {
			s.ix, s.gen = oldIx, oldGen
			if s.cfg.Logger != nil {
				s.cfg.Logger.Error("the share changed but its new manifest cannot be served; serving the previous one", "err", err)
			}
			break
		}
		s.files.reset()
		s.recycle()
		s.count(func(st *Stats) { st.Refreshes++ })
		if s.cfg.Logger != nil {
			s.cfg.Logger.Info("share changed; serving a new manifest", "files", len(s.ix.Files), "bytes", s.ix.Bytes, "generation", s.gen)
		}
	default:
		s.adopt(r.ix)
	}
	held := s.held
	s.held = nil
	now := time.Now()
	for _, h := range held {
		s.activate(h.key, h.src, now, h.forever)
	}
}

// adopt takes a re-index whose entries equal the served ones: the manifest and the table stay,
// but its files' identities may be newer (a chmod back and forth changes only the ctime), and
// blocks are read only from a file whose identity matches.
func (s *Sender) adopt(ix *index.Index) {
	if ix == nil || ix == s.ix {
		return
	}
	s.ix = ix
	s.files.reset()
}

// recycle points the active channels at the cycles of a rebuilt table and manifest; those
// whose group is gone stop.
func (s *Sender) recycle() {
	for _, a := range s.act {
		if _, ok := s.tab.lookup(a.key.group); !ok {
			a.budget = 0
			continue
		}
		a.cyc = s.cycle(a.key.group)
		a.pos %= max(1, a.cyc.total)
		a.loaded = false
	}
}

// cycle returns the (cached) cycle of a group in the table.
func (s *Sender) cycle(g netip.Addr) *cycle {
	if c, ok := s.cycles[g]; ok {
		return c
	}
	r, _ := s.tab.lookup(g)
	c, err := newCycle(s.geo, s.ix, s.tab, g, r, s.manifest, s.cfg.PageHeight)
	if err != nil {
		// A stored tree that cannot be read: nothing is sent (the cycle is empty and not
		// kept), and a re-index stores the tree anew.
		if s.cfg.Logger != nil {
			s.cfg.Logger.Warn("cannot read the tree's hashes; re-indexing", "group", g, "err", err)
		}
		s.treeFailed = true
		return &cycle{kind: r.kind, group: g}
	}
	if c.kind == mcast.KindData || c.kind == mcast.KindStream {
		for j := range c.parity {
			c.parity[j] = mcast.ParityGroup(s.cfg.Scope, g, uint8(j))
			s.fec.parityOf[c.parity[j]] = parityRef{group: g, layer: uint8(j)}
		}
	}
	s.signCycle(c)
	s.cycles[g] = c
	return c
}
