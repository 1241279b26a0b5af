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

// worker verifies and writes blocks until jobs is closed, fresh blocks first: the reader
// waits on jobs when it is full, and the socket overruns while it waits. The backlog of
// blocks to read back and verify is taken only when no fresh block waits.
func (s *session) worker(jobs <-chan writeJob) {
	for {
		select {
		case j, ok := <-jobs:
			if !ok {
				return
			}
			s.process(j)
			continue
		default:
		}
		select {
		case j, ok := <-jobs:
			if !ok {
				return
			}
			s.process(j)
		case <-s.backlogReady:
			if j, ok := s.takeBacklog(); ok {
				s.process(j)
			}
		}
	}
}

// toBacklog queues a block written before its leaf was known for verification (caller holds
// mu).
func (s *session) toBacklog(j writeJob) {
	s.backlog = append(s.backlog, j)
	select {
	case s.backlogReady <- struct{}{}:
	default:
	}
}

// takeBacklog takes the oldest backlog block, signalling the other workers if more remain.
func (s *session) takeBacklog() (writeJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backlogHead == len(s.backlog) {
		return writeJob{}, false
	}
	j := s.backlog[s.backlogHead]
	s.backlog[s.backlogHead] = writeJob{}
	s.backlogHead++
	if s.backlogHead == len(s.backlog) {
		s.backlog, s.backlogHead = s.backlog[:0], 0
	} else {
		select {
		case s.backlogReady <- struct{}{}:
		default:
		}
	}
	return j, true
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
		if err != nil {
			// Garbage: not a candidate for its leaf. The block stays missing and comes again.
			s.stats.Corrupt++
			if f.leafOK.Test(uint(b)) {
				s.refetch(f, b, f.leaves[b])
			}
			s.mu.Unlock()
			return
		}
		s.stats.Rebuilt++
		s.mu.Unlock()
	}
	h := merkle.LeafHash(buf)
	for {
		s.mu.Lock()
		known, leaf := f.leafOK.Test(uint(b)), f.leaves[b]
		s.mu.Unlock()
		if known {
			if h != leaf {
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
		s.heldUnverified(f, b, h)
		s.mu.Unlock()
		return
	}
}

// heldUnverified keeps block b, written before its leaf was verified, with its hash h as the
// leaf's candidate: a block is its own leaf hash, so one whose hash packet was lost fills the
// gap in its channel's run, and once the leaf is verified the block is done without being
// read back and hashed again. A block whose hash disagrees with the candidate a hash packet
// brought is dropped (one of them is forged or damaged); it comes again (caller holds mu).
func (s *session) heldUnverified(f *fileState, b int, h merkle.Hash) {
	if f.leafHave.Test(uint(b)) && f.leaves[b] != h {
		s.stats.Corrupt++
		s.stats.WastedBytes += int64(f.shape.BlockLen(b))
		return
	}
	f.unverified.Set(uint(b))
	f.selfHashed.Set(uint(b))
	if f.leafHave.Test(uint(b)) {
		return
	}
	f.leaves[b] = h
	f.leafHave.Set(uint(b))
	now := time.Now()
	for _, t := range f.targets {
		if t.level != 0 || t.run == nil || t.verified || b < t.first || b >= t.end ||
			t.sub.kind != subData && t.sub.kind != subStream {
			continue
		}
		t.have.Set(uint(b - t.first)) // t.run aliases f.leaves
		if t.have.Count() == uint(t.end-t.first) {
			s.runComplete(t, now)
		}
	}
}

// forgetCandidates drops the unverified leaf candidates of [a, b) after they failed to fold
// to a verified node (caller holds mu).
func (f *fileState) forgetCandidates(a, b int) {
	for x := a; x < b; x++ {
		if !f.leafOK.Test(uint(x)) {
			f.leafHave.Clear(uint(x))
			f.selfHashed.Clear(uint(x))
		}
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
		self := f.selfHashed.Test(uint(b)) && f.leaves[b] == h // the block written hashes to h
		f.selfHashed.Clear(uint(b))
		f.leaves[b] = h
		f.leafOK.Set(uint(b))
		if !f.walked && f.need.Test(uint(b)) && !f.done.Test(uint(b)) && !f.queued.Test(uint(b)) && f.localEqual(0, b, h) {
			s.reuseLate(f, b)
			continue
		}
		if f.unverified.Test(uint(b)) {
			f.unverified.Clear(uint(b))
			if self {
				s.blockDone(f, b)
				continue
			}
			f.queued.Set(uint(b)) // read back and verified by a worker
			s.toBacklog(writeJob{f: f, b: b})
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
