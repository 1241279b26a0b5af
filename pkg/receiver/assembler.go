package receiver

import (
	"net/netip"
	"sync"

	"github.com/lcsync/lcsync/pkg/wire"
)

// The assembler: pieces of blocks are gathered in memory until a block is complete, or can be
// rebuilt from parity, and then handed to the workers. It runs on the reader's goroutine,
// under mu. The first bytes of a block are kept as pieces (a forged piece of one byte costs a
// few bytes, not a block); a block gets a buffer once its pieces cover 1/sparseShare of it.
// Memory is bounded (review H4): at most maxInMem buffers, and Config.blockBudget bytes of
// buffers and pieces; beyond either the oldest blocks are spilled to their temporary files,
// or, for a file that has none yet (a streamed file before its first block is in), dropped
// and fetched again.

// blockState is a block being received.
type blockState struct {
	cov     coverage
	pieces  []piece // the bytes received while sparse (buf nil, not spilled)
	buf     []byte  // nil while sparse, and once spilled to the temporary file
	spilled bool
	held    bool         // its bytes counted in blockMemory.bytes (a primary: on blockMemory.partial)
	par     *blockParity // parity shards received (nil: none)
	// src is the source whose pieces this assembly collects; alts are the other sources'
	// assemblies of a primary (see sources.go); alt marks an alternate, dropped one that
	// was dropped.
	src     netip.Addr
	alts    []*blockState
	alt     bool
	dropped bool
}

// piece is a run of received bytes at offset lo of a sparse block.
type piece struct {
	lo   int
	data []byte
}

// blockMemory is the memory the assembler keeps blocks in: partial, inMem and bytes are
// guarded by mu; the pool is safe for concurrent use (workers recycle the buffers they are
// done with).
type blockMemory struct {
	partial []partialRef // blocks with bytes in memory (a buffer or pieces), oldest first
	alts    []altRef     // alternate assemblies, oldest first (some dropped since)
	live    int          // alternates not dropped
	inMem   int          // blocks with a buffer
	bytes   int          // bytes of the buffers and pieces held
	pool    sync.Pool
	spare   [][]byte // recycled piece buffers of pieceCap bytes
}

type partialRef struct {
	f *fileState
	b int
}

// maxInMem bounds the blocks buffered in memory; more are spilled to the temporary files.
const maxInMem = 512

// sparseShare is the part of a block (1/sparseShare) its pieces may cover before the block
// gets a buffer of its own.
const sparseShare = 8

// pieceOverhead is what the bookkeeping of one piece costs besides its bytes.
const pieceOverhead = 64

// pieceCap is the size of the recycled buffers a piece of pieceCap/2 to pieceCap bytes (a
// datagram's payload at an ordinary MTU) is kept in: the first piece of nearly every block
// is kept sparse, and allocating each afresh cost a receiver some 5% of its CPU. A shorter
// piece (a forged byte) gets a buffer of its own length; a piece's cost is its buffer's size.
const pieceCap = 2048

// maxSpare bounds the recycled piece buffers kept (128 KiB).
const maxSpare = 64

// onPiece stores a piece of block b of target t's file from src (caller holds mu).
func (s *session) onPiece(t *target, b int, p wire.BlockPacket, src netip.Addr) {
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
	if bs != nil && bs.src != src {
		if a := s.candidate(f, b, bs, src, hi-lo); a != nil {
			s.onAltPiece(f, b, bs, a, lo, hi, p.Data, t.sub.seqSize)
		} else {
			s.stats.WastedBytes += int64(len(p.Data))
		}
		return
	}
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
	if bs == nil {
		bs = &blockState{src: src}
		f.blocks[b] = bs
	}
	if bs.buf == nil && !bs.spilled && s.keepSparse(f, b, bs, lo, hi, p.Data) {
		return
	}
	s.blockBuf(f, b, bs)
	if f.blocks[b] != bs {
		// Dropped to keep memory bounded (its file has nowhere to spill it yet): it comes
		// again.
		s.stats.WastedBytes += int64(len(p.Data))
		return
	}
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

// keepSparse stores the gaps in s.scratch of a piece [lo, hi) of block b as pieces, and
// reports whether it did: it does not once the block's pieces would cover 1/sparseShare of it,
// and the caller then gives the block a buffer (caller holds mu).
func (s *session) keepSparse(f *fileState, b int, bs *blockState, lo, hi int, data []byte) bool {
	n := f.shape.BlockLen(b)
	add := 0
	for _, g := range s.scratch {
		add += g.hi - g.lo
	}
	if sparseShare*(bs.cov.size()+add) >= n {
		return false
	}
	cost := 0
	for _, g := range s.scratch {
		pc := s.mem.newPiece(g.lo, data[g.lo-lo:g.hi-lo])
		bs.pieces = append(bs.pieces, pc)
		cost += pc.cost()
	}
	bs.cov.add(lo, hi)
	s.hold(f, b, bs, cost)
	return true
}

// hold counts bytes of block b as held in memory, putting the block on the partial list the
// first time, and spills or drops the oldest blocks while the bounds are exceeded (caller
// holds mu).
func (s *session) hold(f *fileState, b int, bs *blockState, bytes int) {
	if !bs.held {
		bs.held = true
		s.mem.partial = append(s.mem.partial, partialRef{f, b})
	}
	s.mem.bytes += bytes
	s.trim()
}

// trim drops alternates, then spills or drops the oldest primaries, while the assembler is
// over its bounds (caller holds mu).
func (s *session) trim() {
	for s.mem.inMem > maxInMem || s.mem.bytes > s.cfg.blockBudget() {
		if !s.trimAlts() && !s.spillOldest() {
			break
		}
	}
}

// onAltPiece stores the gaps of a piece [lo, hi) in alternate a of block b, whose primary is
// bs: as pieces while sparse, then in a buffer of its own (alternates are never spilled: they
// are dropped first when memory is short). A complete alternate goes to the workers in place
// of the primary (caller holds mu).
func (s *session) onAltPiece(f *fileState, b int, bs, a *blockState, lo, hi int, data []byte, size int) {
	n := f.shape.BlockLen(b)
	s.scratch = a.cov.gaps(s.scratch[:0], lo, hi)
	if len(s.scratch) == 0 {
		s.stats.Duplicates++
		s.stats.WastedBytes += int64(len(data))
		return
	}
	if a.buf == nil {
		add := 0
		for _, g := range s.scratch {
			add += g.hi - g.lo
		}
		if sparseShare*(a.cov.size()+add) < n {
			cost := 0
			for _, g := range s.scratch {
				pc := s.mem.newPiece(g.lo, data[g.lo-lo:g.hi-lo])
				a.pieces = append(a.pieces, pc)
				cost += pc.cost()
			}
			a.cov.add(lo, hi)
			s.holdAlt(a, cost)
			return
		}
		a.buf = s.mem.get(f.shape.BlockSize())[:n]
		freed := 0
		for _, pc := range a.pieces {
			copy(a.buf[pc.lo:], pc.data)
			freed += pc.cost()
		}
		s.mem.recycle(a.pieces)
		a.pieces = nil
		s.mem.inMem++
		s.mem.bytes -= freed
		s.holdAlt(a, len(a.buf))
		if a.dropped {
			s.stats.WastedBytes += int64(len(data))
			return
		}
	}
	for _, g := range s.scratch {
		copy(a.buf[g.lo:g.hi], data[g.lo-lo:g.hi-lo])
	}
	a.cov.add(lo, hi)
	if a.cov.full(n) {
		s.completeAlt(f, b, bs, a, size)
	}
}

// holdAlt counts bytes of alternate a as held in memory and trims (caller holds mu).
func (s *session) holdAlt(a *blockState, bytes int) {
	a.held = true
	s.mem.bytes += bytes
	s.trim()
}

// completeAlt hands a complete alternate of block b to the workers, and drops the primary
// and the other alternates (caller holds mu).
func (s *session) completeAlt(f *fileState, b int, bs, a *blockState, size int) {
	buf := a.buf
	a.buf = nil
	s.mem.inMem--
	s.mem.bytes -= len(buf)
	a.held = false
	for i, o := range bs.alts {
		if o == a {
			bs.alts = append(bs.alts[:i], bs.alts[i+1:]...)
			break
		}
	}
	a.dropped = true
	s.mem.live--
	s.dropAlts(bs)
	pbuf := bs.buf
	s.mem.release(bs)
	if pbuf != nil {
		bs.buf = nil
		s.mem.put(pbuf)
	}
	s.loss.counted(f, b, nil, size)
	delete(f.blocks, b)
	f.queued.Set(uint(b))
	s.jobs = append(s.jobs, writeJob{f: f, b: b, buf: buf, src: a.src})
}

// blockBuf gives block b of f a buffer if it has none and is not spilled, moving its sparse
// pieces into it (caller holds mu).
func (s *session) blockBuf(f *fileState, b int, bs *blockState) {
	if bs.buf != nil || bs.spilled {
		return
	}
	bs.buf = s.mem.get(f.shape.BlockSize())[:f.shape.BlockLen(b)]
	freed := 0
	for _, pc := range bs.pieces {
		copy(bs.buf[pc.lo:], pc.data)
		freed += pc.cost()
	}
	s.mem.recycle(bs.pieces)
	bs.pieces = nil
	s.mem.inMem++
	s.mem.bytes -= freed
	s.hold(f, b, bs, len(bs.buf))
}

// release forgets the memory a block holds (caller holds mu); its buffer, if any, is the
// caller's to recycle.
func (m *blockMemory) release(bs *blockState) {
	if bs.buf != nil {
		m.inMem--
		m.bytes -= len(bs.buf)
	}
	for _, pc := range bs.pieces {
		m.bytes -= pc.cost()
	}
	m.recycle(bs.pieces)
	bs.pieces = nil
	bs.held = false
}

// newPiece copies data, at offset lo of its block, into a piece: in a recycled buffer if it
// is pieceCap/2 to pieceCap bytes long, else in one of its own length (caller holds mu).
func (m *blockMemory) newPiece(lo int, data []byte) piece {
	if len(data) < pieceCap/2 || len(data) > pieceCap {
		return piece{lo: lo, data: append([]byte(nil), data...)}
	}
	var b []byte
	if n := len(m.spare); n > 0 {
		b, m.spare[n-1] = m.spare[n-1][:0], nil
		m.spare = m.spare[:n-1]
	} else {
		b = make([]byte, 0, pieceCap)
	}
	return piece{lo: lo, data: append(b, data...)}
}

// recycle keeps the buffers of pieces no longer needed for newPiece, up to maxSpare (caller
// holds mu; the pieces must not be used again).
func (m *blockMemory) recycle(ps []piece) {
	for _, pc := range ps {
		if cap(pc.data) == pieceCap && len(m.spare) < maxSpare {
			m.spare = append(m.spare, pc.data)
		}
	}
}

// cost is what a piece counts against the assembler's memory bound: its buffer and its
// bookkeeping.
func (pc piece) cost() int { return cap(pc.data) + pieceOverhead }

// complete hands a block whose bytes are all in (or, with job, can be rebuilt from parity) to
// the workers; size is the channel's piece size, for the loss meter (caller holds mu).
func (s *session) complete(f *fileState, b int, bs *blockState, job *fecJob, size int) {
	s.loss.counted(f, b, job, size)
	delete(f.blocks, b)
	s.dropAlts(bs)
	s.mem.release(bs)
	f.queued.Set(uint(b))
	s.jobs = append(s.jobs, writeJob{f: f, b: b, buf: bs.buf, fec: job, src: bs.src})
	if len(s.mem.partial) > 4*maxInMem {
		s.mem.compact()
	}
}

// compact drops finished, spilled or dropped blocks from the partial list.
func (m *blockMemory) compact() {
	kept := m.partial[:0]
	for _, r := range m.partial {
		if bs := r.f.blocks[r.b]; bs != nil && bs.held {
			kept = append(kept, r)
		}
	}
	m.partial = kept
}

// spillOldest frees the memory of the oldest block held in memory: it writes the block's bytes
// to the temporary file, and later pieces of it go straight there. A block of a file that has
// no temporary file yet (a streamed file before its first block is in) is dropped instead, to
// be fetched again. It reports whether it freed anything (caller holds mu).
func (s *session) spillOldest() bool {
	for len(s.mem.partial) > 0 {
		r := s.mem.partial[0]
		s.mem.partial = s.mem.partial[1:]
		bs := r.f.blocks[r.b]
		if bs == nil || !bs.held {
			continue // completed, or already spilled or dropped
		}
		buf := bs.buf
		if r.f.tmp == nil || r.f.err != nil {
			s.stats.WastedBytes += int64(bs.cov.size())
			s.dropAlts(bs)
			s.mem.release(bs)
			delete(r.f.blocks, r.b)
		} else {
			off := r.f.shape.BlockOffset(r.b)
			var err error
			if buf != nil {
				for _, sp := range bs.cov.spans {
					if _, err = r.f.tmp.WriteAt(buf[sp.lo:sp.hi], off+int64(sp.lo)); err != nil {
						break
					}
				}
			}
			for _, pc := range bs.pieces {
				if err == nil {
					_, err = r.f.tmp.WriteAt(pc.data, off+int64(pc.lo))
				}
			}
			if err != nil {
				s.fail(r.f, err)
			}
			s.mem.release(bs)
			bs.buf, bs.spilled, bs.par = nil, true, nil
		}
		if buf != nil {
			s.mem.put(buf)
		}
		return true
	}
	return false
}

// get returns a buffer of size bytes (safe without mu).
func (m *blockMemory) get(size int) []byte {
	if b, ok := m.pool.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:size]
	}
	return make([]byte, size)
}

// put recycles a buffer (safe without mu).
func (m *blockMemory) put(b []byte) {
	b = b[:cap(b)]
	m.pool.Put(&b)
}
