package receiver

import (
	"errors"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// reader is the socket's only reader goroutine: it handles each datagram under mu and hands
// the blocks completed meanwhile to the workers once it has let go of mu. What it owns alone
// (no lock): pending, and the congestion signal.
type reader struct {
	s          *session
	jobs       chan<- writeJob
	g          *gatherer // told when a full batch waits on jobs
	pending    []writeJob
	cong       congestionSignal
	meterDrops uint64 // socket drops already given to the loss meter
}

// run reads until the transport is closed.
func (r *reader) run() error {
	s := r.s
	for {
		s.mu.Lock()
		s.clock.waiting = true // until a datagram comes, the socket is empty
		s.mu.Unlock()
		n := 0
		var now time.Time
		fn := func(d []byte, src netip.Addr) {
			if n == 0 {
				// One clock reading a batch: its datagrams were all in the socket when it
				// was read (a reading each cost some 3% of a receiver's CPU).
				now = time.Now()
			}
			n++
			s.mu.Lock()
			if s.clock.waiting {
				s.clock.waiting, s.clock.drained = false, now
			}
			s.handle(d, src, now)
			if len(s.jobs) > 0 {
				r.pending = append(r.pending, s.jobs...)
				s.jobs = s.jobs[:0]
			}
			s.mu.Unlock()
		}
		var err error
		if sr, ok := s.cfg.Transport.(SourceReceiver); ok {
			err = sr.ReceiveFrom(fn)
		} else {
			err = s.cfg.Transport.Receive(func(d []byte) { fn(d, netip.Addr{}) })
		}
		for _, j := range r.pending {
			r.jobs <- j
		}
		if len(r.pending) > 0 {
			r.g.signalFull(len(r.jobs))
		}
		clear(r.pending)
		r.pending = r.pending[:0]
		if err != nil {
			return err
		}
		r.meterOverruns()
		r.cong.signal(s, time.Now(), n >= backlogBatch)
	}
}

// backlogBatch is the batch size from which the reader suspects a backlog and looks at its
// socket's queue (a drained socket returns short batches; checking it costs two syscalls).
const backlogBatch = 32

// meterOverruns feeds the loss meter with the datagrams the socket dropped since the last
// call, counting a dropped message as the mean datagrams per message read (a GRO train is
// one message).
func (r *reader) meterOverruns() {
	s := r.s
	d := s.cfg.Transport.Drops()
	if d <= r.meterDrops {
		return
	}
	per := 1.0
	if t, ok := s.cfg.Transport.(MessageCounter); ok {
		per = t.DatagramsPerMessage()
	}
	s.mu.Lock()
	s.loss.overrun(float64(d-r.meterDrops) * per)
	s.mu.Unlock()
	r.meterDrops = d
}

// handle processes one datagram from src (the zero Addr if the transport does not say). The
// caller holds s.mu.
func (s *session) handle(d []byte, src netip.Addr, now time.Time) {
	s.stats.Datagrams++
	s.stats.BytesReceived += int64(len(d))
	t, err := wire.PeekType(d)
	if err != nil {
		if errors.Is(err, wire.ErrNotOurs) {
			s.stats.Foreign++
		} else {
			s.stats.Malformed++
		}
		return
	}
	switch t {
	case wire.TypeManifest:
		c, err := wire.ParseManifestChunk(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onManifestChunk(c, src, now)
	case wire.TypeTree:
		p, err := wire.ParseTree(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onTree(p, src, now)
	case wire.TypeBlock:
		p, err := wire.ParseBlock(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onBlock(p, src, now)
	case wire.TypeEnd:
		p, err := wire.ParseEnd(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		if sb := s.chans.subs[p.Group]; sb != nil && sb.joined && s.endFrom(sb, src) {
			sb.lastEnd = now
		}
	case wire.TypeParity:
		p, err := wire.ParseParity(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onParity(p, src)
	case wire.TypeStatement:
		s.onStatement(d, now)
	case wire.TypeObject:
		c, err := wire.ParseObjectChunk(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onObjectChunk(c, src, now)
	default:
		s.stats.Malformed++
	}
}

// onManifestChunk feeds the manifest assembler (caller holds mu).
func (s *session) onManifestChunk(c wire.ManifestChunk, src netip.Addr, now time.Time) {
	if s.manifest != nil {
		s.onLaterChunk(c, src, now)
		return
	}
	sb := s.manifestSub()
	if s.tree != nil || sb == nil {
		s.stats.Foreign++
		return
	}
	if !s.asm.refused[c.ID] {
		sb.lastPacket = now
	}
	refusedBefore := s.asm.refusedErr != nil
	m, res := s.asm.add(c, src, now)
	switch res {
	case chunkDuplicate:
		s.stats.Duplicates++
	case chunkMalformed:
		s.stats.Malformed++
	case chunkRefused:
		s.stats.Corrupt++
		if !refusedBefore && s.asm.refusedErr != nil {
			s.cfg.Logger.Warn("refusing a manifest", "err", s.asm.refusedErr)
		}
	case chunkComplete:
		retry, err := s.vet(m.flat, c.ID, now)
		if retry {
			return // its statement comes with the next cycle
		}
		if err != nil {
			s.asm.refused[c.ID], s.asm.refusedErr = true, err
			s.stats.Corrupt++
			if !refusedBefore {
				s.cfg.Logger.Warn("refusing a manifest", "err", err)
			}
			return
		}
		if m.tree != nil {
			// Its objects come next: on their channels, or in carousel mode on this one,
			// which then stays joined (subFinished) until the walk is complete.
			s.tree = m.tree
			sb.done = !m.tree.Carousel
			if m.tree.Root.Type == wire.EntryDir {
				s.objs.wanted([][wire.HashLen]byte{m.tree.Root.ID})
			}
		} else {
			s.manifest = m.flat
			sb.done = true
		}
		s.asm.forget(c.ID)
		s.clock.advance(sb, now)
		s.poke()
	}
}

// onObjectChunk feeds the tree objects being fetched (caller holds mu).
func (s *session) onObjectChunk(c wire.ManifestChunk, src netip.Addr, now time.Time) {
	if s.tree == nil || s.manifest != nil {
		s.stats.Foreign++
		return
	}
	sb := s.chans.subs[mcast.ObjectGroup(s.cfg.Scope, c.ID)]
	if sb != nil {
		sb.lastPacket = now
	}
	switch s.objs.add(c, src, now) {
	case chunkDuplicate:
		s.stats.Duplicates++
	case chunkMalformed:
		s.stats.Malformed++
	case chunkRefused:
		if s.objs.err != nil {
			s.stats.Corrupt++
			s.poke()
		} else {
			s.stats.Foreign++
		}
	case chunkComplete:
		if sb != nil {
			sb.done = true
		}
		s.clock.advance(sb, now)
		s.poke()
	}
}

// onTree stores hashes of a tree page or of a data channel's leaf run.
func (s *session) onTree(p wire.TreePacket, src netip.Addr, now time.Time) {
	targets := s.chans.byLabel[p.Label]
	if len(targets) == 0 {
		s.stats.Foreign++
		return
	}
	for _, t := range targets {
		if int(p.Level) != t.level {
			continue
		}
		lo := t.first + int(p.Index)
		hi := lo + p.Count()
		if lo < t.first || hi > t.end || hi < lo {
			s.stats.Malformed++
			continue
		}
		if !t.collects() {
			t.sub.lastPacket = now
			continue
		}
		if t.verified {
			if t.agrees(p, lo, hi) {
				t.sub.lastPacket = now
			}
			continue
		}
		leafRun := t.leafRun
		if !leafRun && t.f.sources.distrusted(src, now) {
			s.stats.Distrusted++
			continue
		}
		// A packet counts as a sign of life of the channel only if it brings hashes or
		// agrees with those held: forged packets in range must not hold a channel whose
		// cycle is over (review M2).
		if t.agrees(p, lo, hi) {
			t.sub.lastPacket = now
		}
		if !leafRun && src.IsValid() && len(t.run) <= maxAltRun {
			// A tree page is assembled per source, as blocks are (sources.go).
			if !t.runSrc.IsValid() {
				t.runSrc = src
			}
			if src != t.runSrc {
				s.onAltRun(t, p, lo, hi, src, now)
				continue
			}
		}
		fresh := false
		for j := lo; j < hi; j++ {
			if t.have.Test(uint(j - t.first)) {
				continue
			}
			if leafRun && t.f.leafOK.Test(uint(j)) {
				// Verified meanwhile (by a leaf walk): never overwritten by a packet, which
				// may be forged.
				t.have.Set(uint(j - t.first))
				fresh = true
				continue
			}
			h := merkle.Hash(p.Hash(j - lo))
			if leafRun && t.f.selfHashed.Test(uint(j)) && t.runAt(j) != h {
				t.f.selfHashed.Clear(uint(j)) // no longer the written block's hash
			}
			t.setRun(j, h)
			t.have.Set(uint(j - t.first))
			if leafRun {
				t.f.leafHave.Set(uint(j))
			}
			fresh = true
		}
		if !fresh {
			continue
		}
		s.stats.TreeBytes += int64(p.Count() * merkle.HashSize)
		if t.have.Count() == uint(t.end-t.first) {
			s.runComplete(t, now)
		}
	}
}

// agrees reports whether tree packet p, for hashes [lo, hi) of t's run, brings a hash t lacks
// or has exactly the hashes t holds.
func (t *target) agrees(p wire.TreePacket, lo, hi int) bool {
	for j := lo; j < hi; j++ {
		if !t.have.Test(uint(j-t.first)) || t.runAt(j) != merkle.Hash(p.Hash(j-lo)) {
			return !t.have.Test(uint(j - t.first))
		}
	}
	return true
}

// onBlock stores a piece of a block from src.
func (s *session) onBlock(p wire.BlockPacket, src netip.Addr, now time.Time) {
	targets := s.chans.byLabel[p.Label]
	if len(targets) == 0 {
		s.stats.Foreign++
		return
	}
	tracked := false
	for _, t := range targets {
		if t.sub.kind != subData && t.sub.kind != subStream {
			continue
		}
		b := t.blockFirst + int(p.Block)
		if b < t.blockFirst || b >= t.blockEnd || int(p.Offset)+len(p.Data) > t.f.shape.BlockLen(b) {
			s.stats.Malformed++
			continue
		}
		if t.f.sources.distrusted(src, now) {
			// Its source sent a block of this file that failed verification (review M2).
			s.stats.Distrusted++
			continue
		}
		if t.f.sources.alive(src) {
			t.sub.lastPacket = now
		}
		if t.firstBlock.IsZero() {
			t.firstBlock = now
		}
		if !tracked {
			s.loss.track(t, b, p)
			tracked = true
		}
		s.onPiece(t, b, p, src)
	}
}
