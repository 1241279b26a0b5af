package receiver

import (
	"fmt"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"

	"github.com/lcsync/lcsync/merkle"
)

// writeJob is a completed block to verify and write. buf is nil when the block is already
// in the temporary file (spilled, or written before its leaf was known).
type writeJob struct {
	f   *fileState
	b   int
	buf []byte
	fec *fecJob // set when buf misses shards to rebuild from parity first
}

// worker verifies and writes blocks until jobs is closed.
func (s *session) worker(jobs <-chan writeJob) {
	for j := range jobs {
		s.process(j)
	}
}

func (s *session) process(j writeJob) {
	f, b := j.f, j.b
	defer func() {
		s.mu.Lock()
		f.queued.Clear(uint(b))
		s.mu.Unlock()
	}()
	s.mu.Lock()
	gone := f.finished || f.err != nil
	s.mu.Unlock()
	if gone {
		return
	}
	if err := s.ensureTemp(f); err != nil {
		s.lockedFail(f, err)
		return
	}
	n := f.shape.BlockLen(b)
	off := f.shape.BlockOffset(b)
	buf, written := j.buf, false
	if buf == nil {
		buf = s.getBuf(f.shape.BlockSize())[:n]
		if _, err := f.tmp.ReadAt(buf, off); err != nil {
			s.lockedFail(f, fmt.Errorf("receiver: reading back block %d of %s: %w", b, f.rel, err))
			s.putBuf(buf)
			return
		}
		written = true
	}
	defer s.putBuf(buf)
	if j.fec != nil {
		err := s.rebuild(buf, j.fec)
		s.mu.Lock()
		if err == nil {
			s.stats.Rebuilt++
		} else {
			s.stats.Corrupt++ // it fails verification below and comes again
		}
		s.mu.Unlock()
	}
	for {
		s.mu.Lock()
		known, leaf := f.leafOK.Test(uint(b)), f.leaves[b]
		s.mu.Unlock()
		if known {
			if merkle.LeafHash(buf) != leaf {
				s.mu.Lock()
				s.stats.Corrupt++
				s.stats.WastedBytes += int64(n)
				s.refetch(f, b, leaf)
				s.mu.Unlock()
				return // still needed: the next cycle brings it again
			}
			if !written {
				if _, err := f.tmp.WriteAt(buf, off); err != nil {
					s.lockedFail(f, fmt.Errorf("receiver: writing %s: %w", f.rel, err))
					return
				}
			}
			s.mu.Lock()
			s.blockDone(f, b)
			s.mu.Unlock()
			return
		}
		if !written {
			if _, err := f.tmp.WriteAt(buf, off); err != nil {
				s.lockedFail(f, fmt.Errorf("receiver: writing %s: %w", f.rel, err))
				return
			}
			written = true
		}
		s.mu.Lock()
		if f.leafOK.Test(uint(b)) {
			s.mu.Unlock()
			continue // the leaf arrived meanwhile: verify now
		}
		f.unverified.Set(uint(b))
		s.mu.Unlock()
		return
	}
}

// blockDone records a verified, written block (caller holds mu).
func (s *session) blockDone(f *fileState, b int) {
	if f.done.Test(uint(b)) || !f.need.Test(uint(b)) {
		return
	}
	f.done.Set(uint(b))
	f.remaining--
	s.stats.Needed++
	s.stats.NeededBytes += int64(f.shape.BlockLen(b))
	now := time.Now()
	s.lastUseful = now
	for _, t := range f.targets {
		if b >= t.blockFirst && b < t.blockEnd {
			t.remaining--
			t.sub.lastUseful = now
		}
	}
	s.maybeReady(f)
	s.poke()
}

// leavesVerified installs leaves that chain up to a trusted node, reconciles them with the
// local copy when no walk did so (carousel, fresh data channels), and queues the blocks that
// were written before their leaf was known for verification (caller holds mu).
func (s *session) leavesVerified(f *fileState, first int, run []merkle.Hash) {
	for j, h := range run {
		b := first + j
		if f.leafOK.Test(uint(b)) {
			continue
		}
		f.leaves[b] = h
		f.leafOK.Set(uint(b))
		if !f.walked && f.need.Test(uint(b)) && !f.done.Test(uint(b)) && !f.queued.Test(uint(b)) && f.localEqual(0, b, h) {
			s.reuseLate(f, b)
			continue
		}
		if f.unverified.Test(uint(b)) {
			f.unverified.Clear(uint(b))
			f.queued.Set(uint(b))
			s.jobs = append(s.jobs, writeJob{f: f, b: b})
		}
	}
}

// reuseLate turns a needed block into a reused one once its leaf shows the local copy has it.
func (s *session) reuseLate(f *fileState, b int) {
	f.need.Clear(uint(b))
	f.unverified.Clear(uint(b))
	f.reuse.Set(uint(b))
	f.remaining--
	if bs := f.blocks[b]; bs != nil {
		if bs.buf != nil {
			s.putBuf(bs.buf)
			s.inMem--
		}
		delete(f.blocks, b)
	}
	for _, t := range f.targets {
		if b >= t.blockFirst && b < t.blockEnd {
			t.remaining--
		}
	}
	s.maybeReady(f)
	s.poke()
}

func (s *session) lockedFail(f *fileState, err error) {
	s.mu.Lock()
	s.fail(f, err)
	s.mu.Unlock()
}

// refetch makes sure a block that failed verification comes again: if no joined or queued
// channel covers it any more (its channel was repaired away while the block sat with a
// worker), it queues the block's own data channel (caller holds mu).
func (s *session) refetch(f *fileState, b int, leaf merkle.Hash) {
	for _, t := range f.targets {
		if b >= t.blockFirst && b < t.blockEnd && !t.sub.done {
			return
		}
	}
	s.enqueue(mcast.DataGroup(s.cfg.Scope, leaf), subData, s.dataTarget(f, 0, b, leaf))
	s.poke()
}
