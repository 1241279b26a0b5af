package receiver

import (
	"errors"
	"fmt"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// handle processes one datagram. The caller holds s.mu.
func (s *session) handle(d []byte, now time.Time) {
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
		s.onManifestChunk(c, now)
	case wire.TypeTree:
		p, err := wire.ParseTree(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onTree(p, now)
	case wire.TypeBlock:
		p, err := wire.ParseBlock(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onBlock(p, now)
	case wire.TypeEnd:
		p, err := wire.ParseEnd(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		if sb := s.subs[p.Group]; sb != nil && sb.joined {
			sb.lastEnd = now
		}
	case wire.TypeParity:
		p, err := wire.ParseParity(d)
		if err != nil {
			s.stats.Malformed++
			return
		}
		s.onParity(p)
	case wire.TypeStatement:
		s.onStatement(d, now)
	default:
		s.stats.Malformed++
	}
}

// assembly collects the chunks of one manifest blob.
type assembly struct {
	buf     []byte
	cov     coverage
	touched time.Time
}

// maxAssemblies bounds the manifests assembled at once (a hostile host could send many ids).
const maxAssemblies = 4

func (s *session) onManifestChunk(c wire.ManifestChunk, now time.Time) {
	sb := s.manifestSub()
	if s.manifest != nil || sb == nil {
		s.stats.Foreign++
		return
	}
	if s.refused[c.ID] {
		s.stats.Corrupt++
		return
	}
	sb.lastPacket = now
	a := s.manifestAsm[c.ID]
	if a == nil {
		if len(s.manifestAsm) >= maxAssemblies {
			s.evictAssembly()
		}
		a = &assembly{buf: make([]byte, c.Total)}
		s.manifestAsm[c.ID] = a
	}
	if int(c.Total) != len(a.buf) {
		s.stats.Malformed++
		return
	}
	a.touched = now
	lo, hi := int(c.Offset), int(c.Offset)+len(c.Data)
	s.scratch = a.cov.gaps(s.scratch[:0], lo, hi)
	if len(s.scratch) == 0 {
		s.stats.Duplicates++
		return
	}
	for _, g := range s.scratch {
		copy(a.buf[g.lo:g.hi], c.Data[g.lo-lo:g.hi-lo])
	}
	a.cov.add(lo, hi)
	if !a.cov.full(len(a.buf)) {
		return
	}
	delete(s.manifestAsm, c.ID)
	if wire.ManifestID(a.buf) != c.ID {
		s.stats.Corrupt++
		return
	}
	m, err := wire.UnmarshalManifest(a.buf)
	if err == nil && m.Share != s.share() {
		err = fmt.Errorf("it is for share %q", m.Share)
	}
	if err == nil {
		var retry bool
		if retry, err = s.vet(m, c.ID, now); retry {
			return // its statement comes with the next cycle
		}
	}
	if err != nil {
		// Remember it, so the same bad manifest is not assembled again and again, and so
		// the final error can say why nothing was accepted. It is not progress.
		s.stats.Corrupt++
		s.refused[c.ID] = true
		if s.refusedErr == nil && s.cfg.Logger != nil {
			s.cfg.Logger.Warn("refusing a manifest", "err", err)
		}
		s.refusedErr = err
		return
	}
	s.manifest = m
	sb.done = true
	s.advance(sb, now)
	s.poke()
}

func (s *session) evictAssembly() {
	var oldest [32]byte
	var at time.Time
	for id, a := range s.manifestAsm {
		if at.IsZero() || a.touched.Before(at) {
			oldest, at = id, a.touched
		}
	}
	delete(s.manifestAsm, oldest)
}

// onTree stores hashes of a tree page or of a data channel's leaf run.
func (s *session) onTree(p wire.TreePacket, now time.Time) {
	targets := s.byLabel[p.Label]
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
		t.sub.lastPacket = now
		if t.verified || t.run == nil {
			continue
		}
		fresh := false
		leafRun := t.level == 0 && (t.sub.kind == subData || t.sub.kind == subStream) // aliases f.leaves
		for j := lo; j < hi; j++ {
			if t.have.Test(uint(j - t.first)) {
				continue
			}
			h := merkle.Hash(p.Hash(j - lo))
			if leafRun && t.f.selfHashed.Test(uint(j)) && t.run[j-t.first] != h {
				t.f.selfHashed.Clear(uint(j)) // no longer the written block's hash
			}
			t.run[j-t.first] = h
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

// runComplete checks a completed run against the target's node.
func (s *session) runComplete(t *target, now time.Time) {
	if merkle.Fold(t.run) != t.hash {
		s.stats.Corrupt++
		t.have.ClearAll()
		if t.level == 0 && (t.sub.kind == subData || t.sub.kind == subStream) {
			t.f.forgetCandidates(t.first, t.end)
		}
		s.markKnown(t) // keep what was already verified
		return
	}
	t.verified = true
	if t.sub.kind == subTree {
		if t.f.pages == nil {
			t.f.pages = map[[2]int][]merkle.Hash{}
		}
		t.f.pages[[2]int{t.k, t.i}] = t.run
	}
	s.advance(t.sub, now)
	if t.level == 0 {
		s.leavesVerified(t.f, t.first, t.run)
	}
	switch {
	case t.wnode != nil:
		s.expand(t.f, t.wnode, t.level, t.first, t.run)
	case t.want[1] > t.want[0]:
		s.expandLeaves(t)
	}
	s.targetDone(t)
}

// markKnown pre-fills a leaf run with the leaves already verified, so they need not arrive.
func (s *session) markKnown(t *target) {
	if t.level != 0 || t.run == nil {
		return
	}
	for j := t.first; j < t.end; j++ {
		if t.f.leafOK.Test(uint(j)) {
			t.run[j-t.first] = t.f.leaves[j]
			t.have.Set(uint(j - t.first))
		}
	}
}

// targetDone marks a target finished and its sub done when all its targets are.
func (s *session) targetDone(t *target) {
	sb := t.sub
	for _, o := range sb.targets {
		if !s.targetFinished(o) {
			return
		}
	}
	sb.done = true
	s.poke()
}

// targetFinished reports whether a target needs nothing more from its channel.
func (s *session) targetFinished(t *target) bool {
	switch t.sub.kind {
	case subTree:
		return t.verified
	case subData, subStream:
		// Needed blocks are done only once verified against their leaves, so this also
		// means every leaf that mattered is known.
		return t.f.finished || t.f.err != nil || t.remaining == 0
	}
	return true
}

// onBlock stores a piece of a block.
func (s *session) onBlock(p wire.BlockPacket, now time.Time) {
	targets := s.byLabel[p.Label]
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
		t.sub.lastPacket = now
		if t.firstBlock.IsZero() {
			t.firstBlock = now
		}
		if !tracked {
			s.track(t, b, p)
			tracked = true
		}
		s.onPiece(t, b, p)
	}
}

func (s *session) onPiece(t *target, b int, p wire.BlockPacket) {
	f := t.f
	n := f.shape.BlockLen(b)
	lo, hi := int(p.Offset), int(p.Offset)+len(p.Data)
	if hi > n || lo >= hi {
		s.stats.Malformed++
		return
	}
	if !f.need.Test(uint(b)) || f.done.Test(uint(b)) || f.queued.Test(uint(b)) || f.finished {
		s.stats.Duplicates++
		s.stats.WastedBytes += int64(len(p.Data))
		return
	}
	bs := f.blocks[b]
	if bs != nil {
		s.scratch = bs.cov.gaps(s.scratch[:0], lo, hi)
		if len(s.scratch) == 0 {
			s.stats.Duplicates++
			s.stats.WastedBytes += int64(len(p.Data))
			return
		}
	} else {
		s.scratch = append(s.scratch[:0], span{lo, hi})
	}
	bs = s.blockState(f, b)
	for _, g := range s.scratch {
		if bs.buf != nil {
			copy(bs.buf[g.lo:g.hi], p.Data[g.lo-lo:g.hi-lo])
		} else if _, err := f.tmp.WriteAt(p.Data[g.lo-lo:g.hi-lo], f.shape.BlockOffset(b)+int64(g.lo)); err != nil {
			s.fail(f, err)
			return
		}
	}
	bs.cov.add(lo, hi)
	if bs.cov.full(n) {
		s.complete(f, b, bs, nil, t.sub.seqSize)
		return
	}
	if bs.par != nil && bs.buf != nil {
		if job, ok := rebuildable(n, bs); ok {
			s.complete(f, b, bs, job, 0)
		}
	}
}

// blockState returns the state of needed block b of f, creating it, with an in-memory buffer,
// on its first datagram (caller holds mu).
func (s *session) blockState(f *fileState, b int) *blockState {
	bs := f.blocks[b]
	if bs == nil {
		bs = &blockState{}
		f.blocks[b] = bs
	}
	if bs.buf == nil && !bs.spilled {
		bs.buf = s.getBuf(f.shape.BlockSize())[:f.shape.BlockLen(b)]
		s.partial = append(s.partial, partialRef{f, b})
		s.inMem++
		if s.inMem > maxInMem {
			s.spillOldest()
		}
	}
	return bs
}

// complete hands a block whose bytes are all in (or, with job, can be rebuilt from parity) to
// the workers; size is the channel's piece size, for the loss meter (caller holds mu).
func (s *session) complete(f *fileState, b int, bs *blockState, job *fecJob, size int) {
	s.counted(f, b, job, size)
	delete(f.blocks, b)
	if bs.buf != nil {
		s.inMem--
	}
	f.queued.Set(uint(b))
	s.jobs = append(s.jobs, writeJob{f: f, b: b, buf: bs.buf, fec: job})
	if len(s.partial) > 4*maxInMem {
		s.compactPartial()
	}
}

// compactPartial drops finished or spilled blocks from the partial list.
func (s *session) compactPartial() {
	kept := s.partial[:0]
	for _, r := range s.partial {
		if bs := r.f.blocks[r.b]; bs != nil && bs.buf != nil {
			kept = append(kept, r)
		}
	}
	s.partial = kept
}

// spillOldest writes the oldest in-memory partial block to the temporary file and frees its
// buffer; later pieces of it are written straight to the file. Blocks of files whose
// temporary file a worker has not created yet stay in memory (caller holds mu).
func (s *session) spillOldest() {
	for i, r := range s.partial {
		bs := r.f.blocks[r.b]
		if bs == nil || bs.buf == nil || r.f.tmp == nil {
			continue // completed or already spilled, or no file to spill to yet
		}
		off := r.f.shape.BlockOffset(r.b)
		for _, sp := range bs.cov.spans {
			if _, err := r.f.tmp.WriteAt(bs.buf[sp.lo:sp.hi], off+int64(sp.lo)); err != nil {
				s.fail(r.f, err)
				break
			}
		}
		s.putBuf(bs.buf)
		bs.buf, bs.spilled, bs.par = nil, true, nil
		s.inMem--
		s.partial = append(s.partial[:i], s.partial[i+1:]...)
		return
	}
}

func (s *session) getBuf(size int) []byte {
	if b, ok := s.bufPool.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:size]
	}
	return make([]byte, size)
}

func (s *session) putBuf(b []byte) {
	b = b[:cap(b)]
	s.bufPool.Put(&b)
}

// ensureTemp creates f's temporary file if it has none yet. Files are opened by the workers and
// the controller, never by the reader, so creating thousands of files does not hold up the
// socket; a file fetched through a stream is only opened once its first block is in (there
// may be thousands). It must not be called with mu held.
func (s *session) ensureTemp(f *fileState) error {
	f.tmpMu.Lock()
	defer f.tmpMu.Unlock()
	s.mu.Lock()
	has, gone := f.tmp != nil, f.finished || f.err != nil
	s.mu.Unlock()
	if has || gone {
		return nil
	}
	if s.root == nil {
		return fmt.Errorf("receiver: no destination to write %s into", f.rel)
	}
	tmp, rel, err := openTemp(s.dc, f.rel)
	if err != nil {
		return err
	}
	s.mu.Lock()
	f.tmp, f.tmpRel = tmp, rel
	s.mu.Unlock()
	return nil
}

// fail records a file's error; the controller reports it.
func (s *session) fail(f *fileState, err error) {
	if f.err == nil {
		f.err = err
	}
	s.poke()
}
