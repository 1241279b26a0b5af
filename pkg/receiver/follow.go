package receiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// DefaultManifestRejoin is how often WatchManifests leaves and joins the manifest channels
// again, the safety net that catches a generation whose pushes were all lost: the sender
// sends its manifest when a receiver joins and when it publishes a new generation, never on
// a timer.
const DefaultManifestRejoin = 3 * time.Minute

// maxStale bounds the manifest ids WatchManifests remembers as not newer (or refused), so
// that it does not assemble them again at every repeat; a host sending many ids cannot make
// the set grow.
const maxStale = 256

// WatchManifests joins the manifest channels of cfg's share (the Gate's channels for a
// signed share) and stays joined until ctx ends, calling found, from its own goroutine, with
// every manifest that assembles, decodes, is accepted by cfg.Gate (if set) and whose
// generation is newer than after and than every manifest found before. found must return
// quickly: the socket is not read meanwhile. Manifests not newer are dropped without asking
// the gate (they would move no high-water mark) and noted on cfg.Logger. Every rejoin
// (DefaultManifestRejoin if not positive) the channels are left and joined again, so the
// sender sends its current manifest even if every push of it was lost.
//
// It uses cfg.Name (only the share part matters), Transport, Scope, Gate and Logger; it
// closes the Transport before it returns. It returns nil when ctx ends, or the transport's
// error.
func WatchManifests(ctx context.Context, cfg Config, after uint64, rejoin time.Duration, found func(Found)) error {
	if cfg.Transport == nil {
		return errors.New("receiver: WatchManifests needs a Transport")
	}
	share, _, _ := strings.Cut(cfg.Name, "/")
	if err := wire.CheckName(share); err != nil || strings.Contains(share, "/") {
		return fmt.Errorf("receiver: share name %q: %v", share, err)
	}
	if cfg.Scope == 0 {
		cfg.Scope = mcast.ScopeSite
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if rejoin <= 0 {
		rejoin = DefaultManifestRejoin
	}
	groups := []netip.Addr{mcast.ManifestGroup(cfg.Scope, share)}
	var later []netip.Addr
	if cfg.Gate != nil {
		groups, later = cfg.Gate.ManifestGroups(cfg.Scope, share)
	}
	w := &manifestWatch{cfg: cfg, share: share, last: after, found: found, later: later,
		asm: newManifestAssembler(share), stale: map[[wire.HashLen]byte]bool{},
		under: strings.TrimRight(cfg.Name, "/"), prune: ObjectPrune(cfg), objs: newObjectFetch(), joined: map[netip.Addr]time.Time{},
		kick: make(chan struct{}, 1)}
	for id, o := range cfg.Objects {
		if o != nil {
			w.objs.have[id] = o
		}
	}
	for _, g := range groups {
		if err := cfg.Transport.Join(g); err != nil {
			cfg.Transport.Close()
			return fmt.Errorf("receiver: joining the manifest channel %v: %w", g, err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // owner of the rejoin timer; closes the transport when ctx ends
		defer wg.Done()
		defer cfg.Transport.Close()
		tick := time.NewTicker(rejoin)
		defer tick.Stop()
		// The object retry ticks only while object channels are joined: an idle follower
		// wakes for nothing but the rejoin.
		var retry *time.Ticker
		var retryC <-chan time.Time
		defer func() {
			if retry != nil {
				retry.Stop()
			}
		}()
		var laterC <-chan time.Time
		if len(later) > 0 {
			laterC = time.After(manifestLater)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-laterC:
				w.joinLater()
			case <-w.kick:
				if retry == nil {
					retry = time.NewTicker(objectRetry)
					retryC = retry.C
				}
			case now := <-retryC:
				if !w.retryObjects(ctx, now) {
					retry.Stop()
					retry, retryC = nil, nil
				}
			case <-tick.C:
				for _, g := range groups {
					_ = cfg.Transport.Leave(g)
				}
				select { // a new join, not a repeat of the last report (see Config.RejoinAfter)
				case <-time.After(20 * time.Millisecond):
				case <-ctx.Done():
					return
				}
				for _, g := range groups {
					if err := cfg.Transport.Join(g); err != nil {
						cfg.Logger.Warn("rejoining the manifest channel", "group", g, "err", err)
					}
				}
			}
		}
	}()
	var err error
	sr, withSrc := cfg.Transport.(SourceReceiver)
	for err == nil {
		if withSrc {
			err = sr.ReceiveFrom(func(d []byte, src netip.Addr) { w.handle(d, src, time.Now()) })
		} else {
			err = cfg.Transport.Receive(func(d []byte) { w.handle(d, netip.Addr{}, time.Now()) })
		}
	}
	close(stop)
	wg.Wait()
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("receiver: reading the manifest channel: %w", err)
}

// manifestWatch is WatchManifests' state, owned by its reading goroutine (but laterMu's).
type manifestWatch struct {
	cfg   Config
	share string
	last  uint64 // the newest generation found (or the caller's floor)
	found func(Found)
	asm   manifestAssembler
	stale map[[wire.HashLen]byte]bool // ids of manifests not newer than last

	// The walk of a version 2 manifest's objects (PROTOCOL.md §5.1), under mu: the reading
	// goroutine feeds it, the timer goroutine joins again the object channels gone silent.
	mu      sync.Mutex
	under   string             // the name followed: only objects on the way to it and below it are walked
	prune   func(string) bool  // directories below it that cfg.Exclude excludes: not walked (ObjectPrune)
	pending *wire.TreeManifest // accepted, its objects being fetched
	pendID  [wire.HashLen]byte
	objs    objectFetch              // the objects of the last generation found, and those being fetched
	joined  map[netip.Addr]time.Time // object channels joined, and when
	kick    chan struct{}            // tells the timer goroutine that object channels were joined

	// The gate's later channels (see Gate.ManifestGroups) are joined when nothing was
	// accepted within manifestLater, so that what is heard there can be reported, and left
	// at the first manifest accepted.
	later       []netip.Addr
	laterMu     sync.Mutex
	laterJoined bool
	accepted    bool
}

// joinLater joins the later channels unless a manifest was accepted already.
func (w *manifestWatch) joinLater() {
	w.laterMu.Lock()
	defer w.laterMu.Unlock()
	if w.accepted || w.laterJoined {
		return
	}
	w.laterJoined = true
	for _, g := range w.later {
		if err := w.cfg.Transport.Join(g); err != nil {
			w.cfg.Logger.Warn("joining the manifest channel", "group", g, "err", err)
		}
	}
}

// acceptedOne leaves the later channels, if joined, once a manifest is accepted.
func (w *manifestWatch) acceptedOne() {
	w.laterMu.Lock()
	defer w.laterMu.Unlock()
	w.accepted = true
	if w.laterJoined {
		w.laterJoined = false
		for _, g := range w.later {
			_ = w.cfg.Transport.Leave(g)
		}
	}
}

// handle processes one datagram of a manifest channel from src.
func (w *manifestWatch) handle(d []byte, src netip.Addr, now time.Time) {
	t, err := wire.PeekType(d)
	if err != nil {
		return
	}
	switch t {
	case wire.TypeStatement:
		if w.cfg.Gate == nil {
			return
		}
		st, err := wire.ParseStatement(d)
		if err == nil && st.Share == w.share {
			w.cfg.Gate.Statement(&st, now)
		}
	case wire.TypeObject:
		c, err := wire.ParseObjectChunk(d)
		if err != nil {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.pending != nil && w.objs.add(c, src, now) == chunkComplete {
			w.walk()
		}
	case wire.TypeManifest:
		c, err := wire.ParseManifestChunk(d)
		if err != nil || w.stale[c.ID] {
			return
		}
		refusedBefore := w.asm.refusedErr
		m, res := w.asm.add(c, src, now)
		switch res {
		case chunkRefused:
			if w.asm.refusedErr != refusedBefore {
				w.cfg.Logger.Warn("refusing a manifest", "err", w.asm.refusedErr)
			}
			w.bound()
		case chunkComplete:
			w.complete(m, c.ID, now)
		}
	}
}

// complete decides on a manifest that assembled and decoded.
func (w *manifestWatch) complete(d decoded, id [wire.HashLen]byte, now time.Time) {
	m := d.flat
	if d.tree != nil {
		w.mu.Lock()
		walking := w.pending != nil && w.pendID == id
		w.mu.Unlock()
		if walking {
			return // a repeat of the one being walked
		}
	}
	if m.Generation <= w.last {
		w.stale[id] = true
		w.bound()
		if m.Generation < w.last {
			w.cfg.Logger.Warn("ignoring an older generation of the share (a server restarted with its clock behind, or a replay?)",
				"share", w.share, "generation", m.Generation, "applied", w.last)
		}
		return
	}
	if w.cfg.Gate != nil {
		retry, err := w.cfg.Gate.Accept(m, id, now)
		if retry {
			return // its statement comes with the next repeat
		}
		if err != nil {
			w.asm.refused[id], w.asm.refusedErr = true, err
			w.bound()
			w.cfg.Logger.Warn("refusing a manifest", "err", err)
			return
		}
	}
	if d.tree != nil {
		w.acceptedOne()
		w.mu.Lock()
		defer w.mu.Unlock()
		w.startWalk(d.tree, id)
		return
	}
	w.last = m.Generation
	w.acceptedOne()
	w.found(w.foundOf(m, id, now))
}

// foundOf returns what WatchManifests hands over for m, the manifest of id, complete at now.
func (w *manifestWatch) foundOf(m *wire.Manifest, id [wire.HashLen]byte, now time.Time) Found {
	f := Found{Manifest: m, Arrived: now}
	if is, ok := w.cfg.Gate.(issuer); ok {
		f.Issued, _ = is.Issued(id)
	}
	return f
}

// Found is a manifest WatchManifests found, with when it was published, as far as the
// receiver can tell.
type Found struct {
	// Manifest is the manifest, accepted by the gate if there is one.
	Manifest *wire.Manifest
	// Arrived is when its last datagram arrived.
	Arrived time.Time
	// Issued is when the statement that vouched for it was issued (signed shares, with a
	// gate that keeps it: *sign.Gate does), to the second; zero otherwise.
	Issued time.Time
	// Tree and Objects are, for a version 2 manifest, its header and the tree objects, by
	// id, that its walk to the name followed used (nil for a version 1 manifest): the same
	// walk of Tree over Objects (FlattenPruned, with Config.Exclude's directories) gives
	// Manifest again, and Config.Objects takes them back after a
	// restart. They are not changed after Found is handed over.
	Tree    *wire.TreeManifest
	Objects map[[wire.HashLen]byte]*wire.Object
}

// Published returns Issued if known, else Arrived.
func (f Found) Published() time.Time {
	if !f.Issued.IsZero() {
		return f.Issued
	}
	return f.Arrived
}

// issuer is implemented by gates that tell when the statement of a manifest they accepted
// was issued (*sign.Gate).
type issuer interface {
	Issued(id [wire.HashLen]byte) (time.Time, bool)
}

// objectRetry is how often WatchManifests looks for object channels that went silent, and
// objectRejoin how long one may stay joined without its object before it is joined again.
const (
	objectRetry  = 200 * time.Millisecond
	objectRejoin = 600 * time.Millisecond
)

// maxObjectJoins bounds the object channels WatchManifests joins at once.
const maxObjectJoins = 64

// startWalk starts fetching the objects of tm, an accepted version 2 manifest, from those of
// the generation found last (caller holds mu).
func (w *manifestWatch) startWalk(tm *wire.TreeManifest, id [wire.HashLen]byte) {
	w.leaveObjects()
	w.objs.drop()
	w.pending, w.pendID = tm, id
	w.walk()
}

// walk goes on with the pending manifest's walk: it hands the manifest over once complete,
// else joins the channels of the objects it lacks (caller holds mu).
func (w *manifestWatch) walk() {
	tm := w.pending
	if w.objs.err != nil {
		w.cfg.Logger.Warn("refusing a manifest", "share", w.share, "generation", tm.Generation, "err", w.objs.err)
		w.objs.err = nil
		w.asm.refused[w.pendID] = true
		w.pending = nil
		w.leaveObjects()
		return
	}
	m, ids, err := tm.FlattenPruned(w.objs.have, w.under, w.prune)
	if err != nil {
		w.cfg.Logger.Warn("refusing a manifest", "share", w.share, "generation", tm.Generation, "err", err)
		w.asm.refused[w.pendID] = true
		w.pending = nil
		w.leaveObjects()
		return
	}
	if m != nil {
		w.objs.keep(ids)
		w.pending = nil
		w.leaveObjects()
		w.last = m.Generation
		f := w.foundOf(m, w.pendID, time.Now())
		f.Tree, f.Objects = tm, maps.Clone(w.objs.have) // the fetch goes on adding to have
		w.found(f)
		return
	}
	w.objs.wanted(ids)
	if tm.Carousel {
		return // they come on the manifest channel
	}
	now := time.Now()
	for _, id := range ids {
		g := mcast.ObjectGroup(w.cfg.Scope, id)
		if _, ok := w.joined[g]; ok || len(w.joined) >= maxObjectJoins {
			continue
		}
		if err := w.cfg.Transport.Join(g); err != nil {
			w.cfg.Logger.Warn("joining an object channel", "group", g, "err", err)
			continue
		}
		w.joined[g] = now
	}
	if len(w.joined) > 0 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	for g := range w.joined {
		if !w.wants(g) {
			_ = w.cfg.Transport.Leave(g)
			delete(w.joined, g)
		}
	}
}

// wants reports whether the object channel g carries an object still wanted (caller holds mu).
func (w *manifestWatch) wants(g netip.Addr) bool {
	for id := range w.objs.want {
		if mcast.ObjectGroup(w.cfg.Scope, id) == g {
			return true
		}
	}
	return false
}

// leaveObjects leaves every object channel joined (caller holds mu).
func (w *manifestWatch) leaveObjects() {
	for g := range w.joined {
		_ = w.cfg.Transport.Leave(g)
	}
	clear(w.joined)
}

// retryObjects leaves and joins again the object channels joined for longer than
// objectRejoin without their object: the sender grants a join one cycle, which was lost. It
// reports whether object channels were joined (false: the retries can stop).
func (w *manifestWatch) retryObjects(ctx context.Context, now time.Time) bool {
	w.mu.Lock()
	var again []netip.Addr
	for g, at := range w.joined {
		if now.Sub(at) >= objectRejoin {
			_ = w.cfg.Transport.Leave(g)
			again = append(again, g)
		}
	}
	joined := len(w.joined) > 0
	w.mu.Unlock()
	if len(again) == 0 {
		return joined
	}
	select { // a new join, not a repeat of the last report (see Config.RejoinAfter)
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range again {
		if _, still := w.joined[g]; !still {
			continue // completed, or the walk moved on, meanwhile
		}
		if err := w.cfg.Transport.Join(g); err != nil {
			delete(w.joined, g)
			continue
		}
		w.joined[g] = time.Now()
	}
	return true
}

// bound keeps the remembered ids within maxStale.
func (w *manifestWatch) bound() {
	if len(w.stale) > maxStale {
		clear(w.stale)
	}
	if len(w.asm.refused) > maxStale {
		clear(w.asm.refused)
	}
}

// useManifest takes a manifest vetted by the caller (Config.Manifest) in place of the
// manifest phase.
func (s *session) useManifest(m *wire.Manifest) error {
	if m.Share != s.share {
		return fmt.Errorf("receiver: the manifest given is for share %q, not %q", m.Share, s.share)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifest = m
	s.clock.advance(nil, time.Now())
	return nil
}

// known reports whether Config.Known vouches for f's local copy, a regular file of f's size,
// and returns the copy's Lstat.
func (p *plan) known(s *session, f *fileState) (fs.FileInfo, bool) {
	if s.cfg.Known == nil || p.root == nil || s.cfg.DryRun {
		return nil, false
	}
	fi, err := p.dc.Lstat(f.rel)
	return fi, err == nil && fi.Mode().IsRegular() && fi.Size() == f.entry.Size && s.cfg.Known(f.rel, fi, f.entry)
}
