package sender

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// actKey names a channel on one interface.
type actKey struct {
	ifindex int
	group   netip.Addr
}

// seen records when a host last reported a group.
type seen struct {
	addr netip.Addr
	at   time.Time
}

// active is a channel being sent on one interface.
type active struct {
	key       actKey
	cyc       *cycle
	pos       int64        // next datagram of the cycle
	budget    int64        // datagrams left to send; negative = forever
	sources   []seen       // hosts whose joins started or extended the channel recently
	members   []netip.Addr // hosts known to have joined and not left
	nextCheck time.Time    // next Trigger.Wanted check
	pause     time.Time    // carousel manifest pacing, or the gather window
	expect    []netip.Addr // hosts the channel waits for before it starts (see gather)
	served    []netip.Addr // hosts that joined it since it started
	isRoot    bool         // a file's root page (see gather)
	listed    bool         // it waits for the followers of a generation (see gather, rootScore)
	removed   bool
	finished  bool      // the granted cycle was sent in full
	leftAt    time.Time // when a host last left it (MLD then checks for listeners)

	replay replay // hashes sent again for a host that joined mid-part

	fecGen  uint64 // fec.gen when fecMask was computed
	fecMask uint8  // parity layers someone on the interface has joined

	buf    []byte // current block
	loaded bool
	bfile  int
	bblock int
}

// saw reports whether src already started or extended the channel inside the window; if not,
// it records src now. Ignored reports are not recorded, so a host repeating its report does
// not keep pushing its own window forward.
func saw(list []seen, src netip.Addr, now time.Time, window time.Duration) ([]seen, bool) {
	kept := list[:0]
	for _, e := range list {
		if now.Sub(e.at) >= window {
			continue
		}
		if e.addr == src {
			return list, true
		}
		kept = append(kept, e)
	}
	if len(kept) >= 16 {
		kept = kept[1:]
	}
	return append(kept, seen{src, now}), false
}

// activate starts (or extends) a channel after a join from src.
func (s *Sender) activate(key actKey, src netip.Addr, now time.Time, forever bool) {
	if s.tab.isManifest(key.group) {
		s.walkers.note(key.ifindex, src, now)
	}
	if a, ok := s.byKey[key]; ok {
		a.addMember(src)
		a.addServed(src)
		s.gathered(a, now)
		var dup bool
		a.sources, dup = saw(a.sources, src, now, s.cfg.DedupWindow)
		if dup {
			s.count(func(st *Stats) { st.DupJoins++ })
			return
		}
		a.budget = max(a.budget, a.cyc.total) // one more complete cycle from here
		a.replayHashes()
		s.debug("channel extended", a, src)
		return
	}
	c := s.cycle(key.group)
	if c.total == 0 {
		return
	}
	// A host repeating its report right after its cycle finished wants nothing new.
	if prev, ok := s.recent[key]; ok {
		var dup bool
		if prev, dup = saw(prev, src, now, s.cfg.DedupWindow); dup && !forever {
			s.recent[key] = prev
			s.count(func(st *Stats) { st.DupJoins++ })
			return
		}
		delete(s.recent, key)
	}
	a := &active{key: key, cyc: c, budget: c.total}
	if forever {
		a.budget = -1
	} else if c.total <= s.cfg.GatherMax && s.cfg.Gather > 0 {
		a.pause = now.Add(s.cfg.Gather) // let near-simultaneous joins share the cycle
		s.gather(a, src, now)
	}
	a.sources, _ = saw(nil, src, now, s.cfg.DedupWindow)
	a.addMember(src)
	a.addServed(src)
	s.byKey[key] = a
	s.act = append(s.act, a)
	s.debug("channel started", a, src)
	s.count(func(st *Stats) { st.Activations++; st.Active = len(s.act) })
}

// forget removes src from a dedup list.
func forget(list []seen, src netip.Addr) []seen {
	kept := list[:0]
	for _, e := range list {
		if e.addr != src {
			kept = append(kept, e)
		}
	}
	return kept
}

func (a *active) addMember(src netip.Addr) {
	for _, m := range a.members {
		if m == src {
			return
		}
	}
	if len(a.members) < 256 {
		a.members = append(a.members, src)
	}
}

// memberOn reports whether h is a member of a channel being sent on interface ifindex.
func (s *Sender) memberOn(ifindex int, h netip.Addr) bool {
	for _, a := range s.act {
		if !a.removed && a.key.ifindex == ifindex && slices.Contains(a.members, h) {
			return true
		}
	}
	return false
}

// left handles a leave from src. A leave names its sender only by a source address any
// host on the link can forge, so it never stops a channel by itself: the channel is asked
// about at once and then every wantedEvery, and stops as soon as MLD's last-listener query
// goes unanswered (Trigger.Wanted turns false, RFC 3810 §7.4.2), which with the server's
// short Last Listener Query Interval is a few hundred milliseconds. A listener that is still
// there answers the query, so a forged leave costs it nothing.
func (s *Sender) left(key actKey, src netip.Addr, now time.Time) {
	// A host that left is no longer repeating its last join: its next join is a new one.
	if prev, ok := s.recent[key]; ok {
		s.recent[key] = forget(prev, src)
	}
	a := s.byKey[key]
	if a == nil || a.budget < 0 {
		return
	}
	a.sources = forget(a.sources, src)
	for i, m := range a.members {
		if m == src {
			a.members = append(a.members[:i], a.members[i+1:]...)
			break
		}
	}
	a.leftAt = now
	a.nextCheck = now
}

// debug logs a channel event.
func (s *Sender) debug(msg string, a *active, src netip.Addr) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Debug(msg, "group", a.key.group, "kind", a.cyc.kind, "ifindex", a.key.ifindex, "from", src,
			"pos", a.pos, "cycle", a.cyc.total, "budget", a.budget)
	}
}

// deactivate marks a channel finished; round removes it.
func (s *Sender) deactivate(a *active, now time.Time) {
	if a.removed {
		return
	}
	s.debug("channel stopped", a, netip.Addr{})
	a.removed = true
	s.keepServed(a, now)
	delete(s.byKey, a.key)
	if len(s.recent) > 4096 && now.Sub(s.recentSwept) >= s.cfg.DedupWindow {
		// At most once per window: the map then holds two windows' worth of channels, and a
		// burst of channels ending does not sweep it for each of them.
		s.recentSwept = now
		sweep(s.recent, func(l []seen) bool { return len(l) == 0 || now.Sub(l[len(l)-1].at) >= s.cfg.DedupWindow })
	}
	s.recent[a.key] = a.sources
}

// sweep deletes the entries of m that old reports.
func sweep[K comparable, V any](m map[K]V, old func(V) bool) {
	for k, v := range m {
		if old(v) {
			delete(m, k)
		}
	}
}

// maxPending bounds the datagrams queued by one round, so memory stays small however many
// channels are active.
const maxPending = 4 * batchSize

// round gives active channels one burst each, in round-robin order, until enough datagrams are
// queued. It returns how long the caller may wait before the next round: 0 for at once, a
// positive duration while every channel is paused, or -1 when nothing is active.
func (s *Sender) round(ctx context.Context) time.Duration {
	now := time.Now()
	wait := time.Duration(-1)
	for visited := 0; visited < len(s.act) && s.out.count() < maxPending; visited++ {
		if s.rr >= len(s.act) {
			s.rr = 0
		}
		a := s.act[s.rr]
		s.rr++
		if a.removed {
			continue
		}
		if s.cfg.Trigger != nil && !now.Before(a.nextCheck) {
			a.nextCheck = now.Add(wantedEvery)
			if !s.cfg.Trigger.Wanted(a.key.ifindex, a.key.group) {
				s.deactivate(a, now)
				if !a.leftAt.IsZero() {
					s.count(func(st *Stats) { st.FastLeaves++ })
				}
				continue
			}
		}
		if now.Before(a.pause) {
			if d := a.pause.Sub(now); wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		s.gatherTimedOut(a)
		s.burst(ctx, a, now)
		if a.budget == 0 {
			if a.finished {
				s.queueEnd(a)
			}
			s.deactivate(a, now)
		}
	}
	if s.rr >= len(s.act) {
		s.compact()
		s.rr = 0
	}
	if s.out.count() > 0 {
		return 0
	}
	for _, a := range s.act {
		if !a.removed && !now.Before(a.pause) {
			return 0
		}
	}
	return wait
}

// compact drops removed channels from the round-robin list.
func (s *Sender) compact() {
	kept := s.act[:0]
	for _, a := range s.act {
		if !a.removed {
			kept = append(kept, a)
		}
	}
	clear(s.act[len(kept):])
	s.act = kept
	s.mu.Lock()
	s.stats.Active = len(kept)
	s.mu.Unlock()
}

// burst queues up to Burst datagrams of channel a.
func (s *Sender) burst(ctx context.Context, a *active, now time.Time) {
	for n := 0; n < s.cfg.Burst && a.budget != 0; {
		if r := &a.replay; r.next < r.end {
			if !s.queueTree(ctx, a, r.part, r.next) {
				r.next = r.end
				continue
			}
			s.count(func(st *Stats) { st.TreePackets++; st.ReplayPackets++ })
			r.next++
			n++
			continue
		}
		k := s.emit(ctx, a, now)
		if k == 0 {
			a.budget = 0
			return
		}
		n += k
		a.pos += int64(k)
		if a.budget > 0 {
			a.budget = max(0, a.budget-int64(k))
			a.finished = a.budget == 0
		}
		if a.pos == a.cyc.total {
			a.pos = 0
			s.count(func(st *Stats) { st.Cycles++ })
			if a.cyc.kind == mcast.KindManifest && a.budget < 0 {
				a.pause = now.Add(s.cfg.ManifestInterval)
				return
			}
		}
	}
}

// queueEnd tells the channel's receivers that its cycle is over (PROTOCOL.md §4.5): twice
// for data channels, so that one lost datagram does not leave them waiting for silence; once
// for a tree page, itself a datagram or two.
func (s *Sender) queueEnd(a *active) {
	n := 2
	if a.cyc.kind == mcast.KindTree || a.cyc.kind == mcast.KindObject {
		n = 1
	}
	for range n {
		buf := s.out.add(a.key.ifindex, a.key.group)
		s.out.set(wire.AppendEnd(buf, wire.EndPacket{Group: a.key.group}))
	}
}

// emit queues the datagram(s) at a.pos: one datagram, or with GSO the rest of the current
// block as one train. It returns how many datagrams it queued, 0 if the channel cannot
// continue (its file changed or cannot be read).
func (s *Sender) emit(ctx context.Context, a *active, now time.Time) int {
	c := a.cyc
	if c.kind == mcast.KindManifest || c.kind == mcast.KindObject {
		buf := s.out.add(a.key.ifindex, a.key.group)
		s.out.set(append(buf, c.chunks[a.pos]...))
		if c.kind == mcast.KindObject {
			s.count(func(st *Stats) { st.ObjectPackets++ })
		} else {
			s.count(func(st *Stats) { st.ManifestPackets++ })
		}
		return 1
	}
	p, q := c.locate(a.pos)
	block, piece, isBlock := p.blockAt(q)
	if !isBlock {
		if !s.queueTree(ctx, a, p, q) {
			return 0
		}
		s.count(func(st *Stats) { st.TreePackets++ })
		return 1
	}
	if piece == 0 && s.fec.mask(a) != 0 {
		if n := s.emitWindow(ctx, a, p, block, now); n != 0 {
			return n
		}
	}
	if !a.loaded || a.bfile != p.fileIdx || a.bblock != block {
		if !s.load(ctx, a, p, block, now) {
			return 0
		}
	}
	pieces := int(ceilDiv(int64(len(a.buf)), int64(s.geo.piece)))
	if s.seg == nil || pieces-piece < 2 {
		s.out.set(p.appendPiece(s.out.add(a.key.ifindex, a.key.group), s.geo, block, piece, a.buf))
		s.count(func(st *Stats) { st.BlockPackets++ })
		if piece == pieces-1 {
			s.queueParity(a, p, block, a.buf)
		}
		return 1
	}
	// The rest of the block as one train: every segment but the last is a full datagram.
	n := min(pieces-piece, maxTrain/s.geo.maxDatagram)
	if a.budget > 0 {
		n = int(min(int64(n), a.budget))
	}
	buf := s.out.addTrain(a.key.ifindex, a.key.group)
	for j := range n {
		buf = p.appendPiece(buf, s.geo, block, piece+j, a.buf)
	}
	s.out.setTrain(buf, s.geo.maxDatagram, n)
	s.count(func(st *Stats) { st.BlockPackets += uint64(n) })
	if piece+n == pieces {
		s.queueParity(a, p, block, a.buf)
	}
	return n
}

// load reads one block into the channel's buffer, after checking the file has not changed.
func (s *Sender) load(ctx context.Context, a *active, p *part, block int, now time.Time) bool {
	var ok bool
	if a.buf, ok = s.read(ctx, p, block, a.buf, now); !ok {
		return false
	}
	a.loaded, a.bfile, a.bblock = true, p.fileIdx, block
	return true
}

// queueTree queues tree packet q of part p on channel a. If a stored tree's hashes cannot be
// read it queues nothing, starts a re-index (which stores the tree anew) and returns false.
func (s *Sender) queueTree(ctx context.Context, a *active, p *part, q int64) bool {
	b, err := p.appendTree(s.out.add(a.key.ifindex, a.key.group), s.geo, q, s.out.scratch[:0], s.out.hashes)
	if err != nil {
		s.out.drop()
		if s.cfg.Logger != nil {
			s.cfg.Logger.Warn("cannot read the tree's hashes; re-indexing", "path", p.file.Path(), "err", err)
		}
		s.refresh(ctx)
		return false
	}
	s.out.set(b)
	return true
}

// read reads block of p's file into buf (grown as needed), after checking the file has not
// changed; on failure it starts a re-index and returns ok=false.
func (s *Sender) read(ctx context.Context, p *part, block int, buf []byte, now time.Time) ([]byte, bool) {
	f := p.file
	if s.files.stale(f, now) {
		s.refresh(ctx)
		return buf, false
	}
	sh := f.Tree.Shape()
	n := sh.BlockLen(block)
	if cap(buf) < sh.BlockSize() {
		buf = make([]byte, sh.BlockSize())
	}
	buf = buf[:n]
	if err := s.files.read(f, buf, sh.BlockOffset(block)); err != nil {
		if s.cfg.Logger != nil {
			s.cfg.Logger.Warn("cannot read block; re-indexing", "path", f.Path(), "err", err)
		}
		s.refresh(ctx)
		return buf, false
	}
	return buf, true
}
