package receiver

import (
	"sync"
	"time"
)

// batchLinger is how long a worker whose batch is not full waits for more blocks while they
// are streaming in. A kernel call of the multi-buffer hash costs about as much for one block
// as for sixteen (simd/blake2s), so hashing each block as it came cost a receiver more CPU than
// anything but its system calls; at a few hundred MB/s a batch fills within this time.
const batchLinger = time.Millisecond

// streamGaps is the gap between two batches, in lingers, below which blocks are taken to be
// streaming in: a worker lingers only then, so a lone block (the first after a pause, or a
// repair) is hashed at once and its latency does not suffer.
const streamGaps = 4

// gatherer hands batches of completed blocks to the workers, one worker gathering at a time,
// so that blocks streaming in fill a batch rather than being shared out to every idle worker
// one by one. The reader signals full when a batch's worth waits on jobs.
type gatherer struct {
	jobs <-chan writeJob
	full chan struct{} // a batch's worth waits on jobs (the reader's signal)

	wait time.Duration // how long to linger: batchLinger (tests change it)

	mu    sync.Mutex  // held by the worker gathering a batch; guards the fields below
	timer *time.Timer // the linger
	last  time.Time   // when the previous batch of fresh blocks was taken
}

func newGatherer(jobs <-chan writeJob) *gatherer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &gatherer{jobs: jobs, full: make(chan struct{}, 1), wait: batchLinger, timer: t}
}

// signalFull tells a lingering worker that a full batch waits on jobs (the reader calls it
// after sending; it never blocks).
func (g *gatherer) signalFull(pending int) {
	if pending < verifyBatch {
		return
	}
	select {
	case g.full <- struct{}{}:
	default:
	}
}

// take appends the next batch to batch: fresh blocks first, waiting for more while they are
// streaming in (see linger), up to verifyBatch; when no fresh block waits, the oldest of the
// backlog (blocks to read back and verify). It reports false once jobs is closed.
func (g *gatherer) take(q *backlog, batch []writeJob) ([]writeJob, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case j, ok := <-g.jobs:
		if !ok {
			return batch, false
		}
		return g.linger(append(batch, j)), true
	default:
	}
	select {
	case j, ok := <-g.jobs:
		if !ok {
			return batch, false
		}
		return g.linger(append(batch, j)), true
	case <-q.ready:
		return q.take(batch), true
	}
}

// linger adds the blocks waiting on jobs to batch, and if it is not full while blocks are
// streaming in, waits up to batchLinger (or until the reader signals a full batch) and adds
// those that came meanwhile (caller holds mu).
func (g *gatherer) linger(batch []writeJob) []writeJob {
	batch = drain(g.jobs, batch)
	now := time.Now()
	streaming := now.Sub(g.last) < streamGaps*g.wait
	g.last = now
	if len(batch) >= verifyBatch || !streaming {
		return batch
	}
	select {
	case <-g.full: // stale: those blocks were just taken
	default:
	}
	g.timer.Reset(g.wait)
	select {
	case <-g.timer.C:
	case <-g.full:
		g.timer.Stop()
	}
	return drain(g.jobs, batch)
}

// drain appends to batch the blocks waiting on jobs, without waiting, up to verifyBatch in
// all. A closed jobs is left for the worker's next receive to see.
func drain(jobs <-chan writeJob, batch []writeJob) []writeJob {
	for len(batch) < verifyBatch {
		select {
		case j, ok := <-jobs:
			if !ok {
				return batch
			}
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}
