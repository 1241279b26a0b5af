package merkle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// slabBytes is how much each worker reads with one ReadAt call.
const slabBytes = 1 << 20

// Build hashes size bytes read from r into a tree with block size bs.
//
// Hashing runs on a bounded pool of workers goroutines (workers <= 0 means
// runtime.GOMAXPROCS(0)). Each worker repeatedly takes the next slab of
// contiguous blocks (up to 1 MiB), reads it with one ReadAt call into its own
// buffer and hashes its leaves; inner levels are then computed, in parallel
// when they are large. Build returns when every worker has exited.
//
// Build stops promptly when ctx is cancelled and then returns ctx.Err(). If r
// returns fewer bytes than size promises (the file shrank), the error wraps
// [io.ErrUnexpectedEOF]; any other read error is wrapped as it is.
func Build(ctx context.Context, r io.ReaderAt, size int64, bs int, workers int) (*Tree, error) {
	s, err := NewShape(size, bs)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	t := newTree(s)
	if s.n > 0 {
		if err := hashLeaves(ctx, r, s, t.levels[0], workers); err != nil {
			return nil, err
		}
	}
	t.finish(workers)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// leafJob is the shared state of one hashLeaves call.
type leafJob struct {
	ctx        context.Context
	r          io.ReaderAt
	s          Shape
	leaves     []Hash
	slabBlocks int
	slabs      int

	next atomic.Int64 // next slab to take
	stop atomic.Bool  // set on the first error
	mu   sync.Mutex
	err  error // first error, guarded by mu
}

// hashLeaves fills leaves (len s.n > 0) with the leaf hashes read from r.
func hashLeaves(ctx context.Context, r io.ReaderAt, s Shape, leaves []Hash, workers int) error {
	slabBlocks := max(1, slabBytes/s.bs)
	// Keep at least a few slabs per worker so small files still spread out.
	slabBlocks = max(1, min(slabBlocks, (s.n+4*workers-1)/(4*workers)))
	j := &leafJob{ctx: ctx, r: r, s: s, leaves: leaves, slabBlocks: slabBlocks}
	j.slabs = (s.n + slabBlocks - 1) / slabBlocks
	workers = min(workers, j.slabs)

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.work()
		}()
	}
	wg.Wait()
	if j.err != nil {
		return j.err
	}
	return ctx.Err()
}

func (j *leafJob) fail(err error) {
	j.mu.Lock()
	if j.err == nil {
		j.err = err
	}
	j.mu.Unlock()
	j.stop.Store(true)
}

// work is one worker's loop: take a slab, read it, hash its leaves, until no
// slab is left, an error occurred or the context is done.
func (j *leafJob) work() {
	buf := make([]byte, j.slabBlocks*j.s.bs)
	h := newLeafHasher()
	for !j.stop.Load() {
		if err := j.ctx.Err(); err != nil {
			j.fail(err)
			return
		}
		slab := int(j.next.Add(1) - 1)
		if slab >= j.slabs {
			return
		}
		first := slab * j.slabBlocks
		end := min(first+j.slabBlocks, j.s.n)
		off := j.s.BlockOffset(first)
		length := int(min(j.s.BlockOffset(end), j.s.size) - off)
		if err := readFull(j.r, buf[:length], off); err != nil {
			j.fail(fmt.Errorf("merkle: reading blocks %d to %d at offset %d: %w", first, end-1, off, err))
			return
		}
		p := buf[:length]
		for i := first; i < end; i++ {
			n := min(j.s.bs, len(p))
			j.leaves[i] = h.sum(p[:n])
			p = p[n:]
		}
	}
}

// readFull fills p from r at off. Fewer bytes than asked for is an error
// wrapping io.ErrUnexpectedEOF.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) && (err == nil || errors.Is(err, io.EOF)) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("got %d of %d bytes: %w", n, len(p), io.ErrUnexpectedEOF)
	}
	return err
}
