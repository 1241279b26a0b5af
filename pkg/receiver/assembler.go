package receiver

import (
	"sync"

	"github.com/lcsync/lcsync/pkg/wire"
)

// The assembler: pieces of blocks are gathered in memory (at most maxInMem blocks, older ones
// spilled to the temporary file) until a block is complete, or can be rebuilt from parity,
// and then handed to the workers. It runs on the reader's goroutine, under mu.

// blockState is a block being received.
type blockState struct {
	cov     coverage
	buf     []byte // nil once spilled to the temporary file
	spilled bool
	par     *blockParity // parity shards received (nil: none)
}

// blockMemory is the memory the assembler keeps blocks in: partial and inMem are guarded by
// mu; the pool is safe for concurrent use (workers recycle the buffers they are done with).
type blockMemory struct {
	partial []partialRef // blocks with an in-memory buffer, oldest first
	inMem   int
	pool    sync.Pool
}

type partialRef struct {
	f *fileState
	b int
}

// maxInMem bounds the blocks buffered in memory; more are spilled to the temporary files.
const maxInMem = 512

// onPiece stores a piece of block b of target t's file (caller holds mu).
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
		bs.buf = s.mem.get(f.shape.BlockSize())[:f.shape.BlockLen(b)]
		s.mem.partial = append(s.mem.partial, partialRef{f, b})
		s.mem.inMem++
		if s.mem.inMem > maxInMem {
			s.spillOldest()
		}
	}
	return bs
}

// complete hands a block whose bytes are all in (or, with job, can be rebuilt from parity) to
// the workers; size is the channel's piece size, for the loss meter (caller holds mu).
func (s *session) complete(f *fileState, b int, bs *blockState, job *fecJob, size int) {
	s.loss.counted(f, b, job, size)
	delete(f.blocks, b)
	if bs.buf != nil {
		s.mem.inMem--
	}
	f.queued.Set(uint(b))
	s.jobs = append(s.jobs, writeJob{f: f, b: b, buf: bs.buf, fec: job})
	if len(s.mem.partial) > 4*maxInMem {
		s.mem.compact()
	}
}

// compact drops finished or spilled blocks from the partial list.
func (m *blockMemory) compact() {
	kept := m.partial[:0]
	for _, r := range m.partial {
		if bs := r.f.blocks[r.b]; bs != nil && bs.buf != nil {
			kept = append(kept, r)
		}
	}
	m.partial = kept
}

// spillOldest writes the oldest in-memory partial block to the temporary file and frees its
// buffer; later pieces of it are written straight to the file. Blocks of files whose
// temporary file a worker has not created yet stay in memory (caller holds mu).
func (s *session) spillOldest() {
	for i, r := range s.mem.partial {
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
		s.mem.put(bs.buf)
		bs.buf, bs.spilled, bs.par = nil, true, nil
		s.mem.inMem--
		s.mem.partial = append(s.mem.partial[:i], s.mem.partial[i+1:]...)
		return
	}
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
