package receiver

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
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
	src netip.Addr
}

// verifyBatch is how many completed blocks a worker hashes at once: the lanes of the widest
// multi-buffer BLAKE2s kernel (simd/blake2s).
const verifyBatch = 16

// worker verifies and writes blocks until jobs is closed, a batch at a time: it takes its
// batches through the gatherer (see gatherer.take), fresh blocks first, the backlog when none
// waits.
func (s *session) worker(g *gatherer) {
	batch := make([]writeJob, 0, verifyBatch)
	v := &verifier{}
	for {
		var ok bool
		batch, ok = g.take(&s.backlog, batch[:0])
		if !ok {
			return
		}
		s.processBatch(v, batch)
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

// take appends the oldest blocks to batch, up to verifyBatch in all, signalling the other
// workers if more remain.
func (q *backlog) take(batch []writeJob) []writeJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head < len(q.jobs) && len(batch) < verifyBatch {
		batch = append(batch, q.jobs[q.head])
		q.jobs[q.head] = writeJob{}
		q.head++
	}
	if q.head == len(q.jobs) {
		q.jobs, q.head = q.jobs[:0], 0
	} else {
		q.signal()
	}
	return batch
}

// checkedJob is a block of a batch ready to hash: its bytes and whether they are already in
// the temporary file.
type checkedJob struct {
	writeJob
	buf     []byte
	written bool
}

// verifier is a worker's scratch space for a batch.
type verifier struct {
	ready  []checkedJob
	bufs   [][]byte
	sums   []merkle.Hash
	writes []int    // indices in ready of the blocks verified and to write
	iov    [][]byte // one run of them, for writeBlocks
}

// processBatch verifies and writes a batch of blocks: each is made ready (read back, rebuilt
// from parity), the ready ones are hashed with one multi-buffer call, then each is checked
// against its leaf: those that match are written, consecutive ones with one call (writeRuns),
// the others are dealt with by settle, as they would be alone.
func (s *session) processBatch(v *verifier, batch []writeJob) {
	v.ready, v.bufs = v.ready[:0], v.bufs[:0]
	for _, j := range batch {
		if c, ok := s.prepare(j); ok {
			v.ready = append(v.ready, c)
			v.bufs = append(v.bufs, c.buf)
		}
	}
	if len(v.ready) == 0 {
		return
	}
	v.sums = slices.Grow(v.sums[:0], len(v.ready))[:len(v.ready)]
	merkle.HashLeaves(v.bufs, v.sums)
	// The blocks whose leaf is known and matches, under one lock: a verified leaf never
	// changes, so they stay verified until written.
	v.writes = v.writes[:0]
	s.mu.Lock()
	for i, c := range v.ready {
		if !c.written && c.f.leafOK.Test(uint(c.b)) && c.f.leaves.get(c.b) == v.sums[i] {
			v.writes = append(v.writes, i)
		}
	}
	s.mu.Unlock()
	w := 0
	for i, c := range v.ready {
		if w < len(v.writes) && v.writes[w] == i {
			w++
			continue
		}
		s.settle(c, v.sums[i])
	}
	s.writeRuns(v)
	clear(v.ready)
	clear(v.bufs)
	v.ready, v.bufs = v.ready[:0], v.bufs[:0]
}

// writeRuns writes the verified blocks of v.writes into their temporary files, each run of
// consecutive blocks of a file with one call, then counts them done and releases them.
func (s *session) writeRuns(v *verifier) {
	w := v.writes
	slices.SortStableFunc(w, func(a, b int) int { return v.ready[a].b - v.ready[b].b })
	for len(w) > 0 {
		first := v.ready[w[0]]
		f := first.f
		k := 1
		for k < len(w) && v.ready[w[k]].f == f && v.ready[w[k]].b == first.b+k {
			k++
		}
		v.iov = v.iov[:0]
		for _, i := range w[:k] {
			v.iov = append(v.iov, v.ready[i].buf)
		}
		err := writeBlocks(f.tmp, f.shape.BlockOffset(first.b), v.iov)
		clear(v.iov)
		if err != nil {
			s.lockedFail(f, fmt.Errorf("receiver: writing %s: %w", f.rel, err))
		}
		now := time.Now()
		s.mu.Lock()
		for _, i := range w[:k] {
			c := v.ready[i]
			if err == nil {
				f.sources.verdict(c.src, true, now)
				s.blockDone(f, c.b)
			}
			f.queued.Clear(uint(c.b)) // as done does
		}
		s.mu.Unlock()
		for _, i := range w[:k] {
			s.mem.put(v.ready[i].buf)
		}
		w = w[k:]
	}
}

// done releases a block's buffer and lets the reader queue it again.
func (s *session) done(j writeJob, buf []byte) {
	if buf != nil {
		s.mem.put(buf)
	}
	s.mu.Lock()
	j.f.queued.Clear(uint(j.b))
	s.mu.Unlock()
}

// prepare makes a block ready to hash: it reads back a block already in the temporary file
// and rebuilds one missing shards from parity. When it reports false the block is dealt
// with (its file is gone or failed, or it was garbage) and released.
func (s *session) prepare(j writeJob) (checkedJob, bool) {
	f, b := j.f, j.b
	s.mu.Lock()
	gone := f.finished || f.err != nil
	s.mu.Unlock()
	if gone {
		s.done(j, nil)
		return checkedJob{}, false
	}
	if err := s.ensureTemp(f); err != nil {
		s.lockedFail(f, err)
		s.done(j, nil)
		return checkedJob{}, false
	}
	n := f.shape.BlockLen(b)
	c := checkedJob{writeJob: j, buf: j.buf}
	if c.buf == nil {
		c.buf = s.mem.get(f.shape.BlockSize())[:n]
		if _, err := f.tmp.ReadAt(c.buf, f.shape.BlockOffset(b)); err != nil {
			s.lockedFail(f, fmt.Errorf("receiver: reading back block %d of %s: %w", b, f.rel, err))
			s.done(j, c.buf)
			return checkedJob{}, false
		}
		c.written = true
	}
	if j.fec != nil {
		err := rebuild(&s.codec, c.buf, j.fec)
		s.mu.Lock()
		if err != nil {
			// Garbage: not a candidate for its leaf. The block stays missing and comes again.
			s.stats.Corrupt++
			f.sources.verdict(j.src, false, time.Now())
			if f.leafOK.Test(uint(b)) {
				s.refetch(f, b, f.leaves.get(b))
			}
			s.mu.Unlock()
			s.done(j, c.buf)
			return checkedJob{}, false
		}
		s.stats.Rebuilt++
		s.mu.Unlock()
	}
	return c, true
}

// settle checks a ready block, whose hash is h, against its leaf and writes it, or holds it
// unverified until its leaf arrives; then it releases the block.
func (s *session) settle(c checkedJob, h merkle.Hash) {
	defer s.done(c.writeJob, c.buf)
	f, b, buf, written := c.f, c.b, c.buf, c.written
	n, off := len(buf), f.shape.BlockOffset(b)
	for {
		s.mu.Lock()
		known, leaf := f.leafOK.Test(uint(b)), f.leaves.get(b)
		s.mu.Unlock()
		if known {
			if h != leaf {
				s.mu.Lock()
				s.stats.Corrupt++
				s.stats.WastedBytes += int64(n)
				f.sources.verdict(c.src, false, time.Now())
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
			f.sources.verdict(c.src, true, time.Now())
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
			if f.leafHave.Test(uint(b)) && f.leaves.get(b) != h {
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
