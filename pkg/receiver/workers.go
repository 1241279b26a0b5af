package receiver

import (
	"fmt"
	"sync"

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
		case <-s.backlog.ready:
			if j, ok := s.backlog.take(); ok {
				s.process(j)
			}
		}
	}
}

// backlog holds blocks written before their leaf was known, to read back and verify once it
// is: workers take them when no fresh block waits (see worker), so that a run of leaves
// verified at once never blocks the reader. Its lock is taken after session.mu, never before.
type backlog struct {
	mu    sync.Mutex
	jobs  []writeJob
	head  int           // the next to take
	ready chan struct{} // signals that it is not empty
}

// push queues a block.
func (q *backlog) push(j writeJob) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	q.signal()
}

func (q *backlog) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take takes the oldest block, signalling the other workers if more remain.
func (q *backlog) take() (writeJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.jobs) {
		return writeJob{}, false
	}
	j := q.jobs[q.head]
	q.jobs[q.head] = writeJob{}
	q.head++
	if q.head == len(q.jobs) {
		q.jobs, q.head = q.jobs[:0], 0
	} else {
		q.signal()
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
		buf = s.mem.get(f.shape.BlockSize())[:n]
		if _, err := f.tmp.ReadAt(buf, off); err != nil {
			s.lockedFail(f, fmt.Errorf("receiver: reading back block %d of %s: %w", b, f.rel, err))
			s.mem.put(buf)
			return
		}
		written = true
	}
	defer s.mem.put(buf)
	if j.fec != nil {
		err := rebuild(&s.codec, buf, j.fec)
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
			// Block b in the temporary file is about to change, so it no longer hashes to
			// the candidate it was held with; and a block that disagrees with the candidate
			// a hash packet brought is not written at all (review C1: a forged copy written
			// over a held genuine block was later taken for it).
			s.mu.Lock()
			if f.leafOK.Test(uint(b)) {
				s.mu.Unlock()
				continue
			}
			if f.leafHave.Test(uint(b)) && f.leaves[b] != h {
				s.stats.Corrupt++
				s.stats.WastedBytes += int64(n)
				s.mu.Unlock()
				return
			}
			f.selfHashed.Clear(uint(b))
			s.mu.Unlock()
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

// refetch makes sure a block that failed verification comes again: if no joined or queued
// channel covers it any more (its channel was repaired away while the block sat with a
// worker), it queues the block's own data channel (caller holds mu).
func (s *session) refetch(f *fileState, b int, leaf merkle.Hash) {
	for _, t := range f.targets {
		if b >= t.blockFirst && b < t.blockEnd && !t.sub.done {
			return
		}
	}
	s.enqueue(mcast.DataGroup(s.cfg.Scope, leaf), subData, f.dataTarget(0, b, leaf))
	s.poke()
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
