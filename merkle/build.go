package merkle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	mb "github.com/lcsync/lcsync/simd/blake2s"
)

// Slab sizes: each worker reads slabBytes with one ReadAt call, or at least
// mb.MaxLanes blocks (so the leaves fill every SIMD lane) as long as that
// stays within maxSlabBytes.
const (
	slabBytes    = 1 << 20
	maxSlabBytes = 8 << 20
)

// Build hashes size bytes read from r into a tree with block size bs.
//
// Hashing runs on a bounded pool of workers goroutines (workers <= 0 means
// runtime.GOMAXPROCS(0)). Each worker repeatedly takes the next slab of
// contiguous blocks (1 MiB, or 16 blocks when they are larger), reads it with
// one ReadAt call into its own buffer and hashes its leaves up to 16 at a time
// (see [HashLeaves]); inner levels are then computed, in parallel when they
// are large, and with the same multi-buffer hash. Build returns when every worker has exited.
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
		if err := hashLeaves(ctx, r, s, t.level(0), workers); err != nil {
			return nil, err
		}
	}
	t.finish(workers)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// Top hashes size bytes read from r, cut into blocks of bs, and returns the
// top of their tree: what Build(...).Top() returns, without keeping the tree.
// The leaves are read and hashed as Build does (slabs of 1 MiB, or 16 blocks,
// always a power of two), and each slab's leaves are folded at once into the
// node above them, so that memory is one slab per worker and one hash per slab
// (32 bytes a MiB of file) instead of two hashes per block. Errors are those
// of Build.
func Top(ctx context.Context, r io.ReaderAt, size int64, bs int, workers int) (Hash, error) {
	s, err := NewShape(size, bs)
	if err != nil {
		return Hash{}, err
	}
	if err := ctx.Err(); err != nil {
		return Hash{}, err
	}
	if s.n == 0 {
		return Hash{}, nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// A power of two: slab i's leaves are the descendants of one node, whose
	// hash is their fold, and the fold of those nodes is the top (§1.4).
	slabBlocks := max(slabBytes/s.bs, min(mb.MaxLanes, maxSlabBytes/s.bs), 1)
	j := &leafJob{ctx: ctx, r: r, s: s, slabBlocks: slabBlocks}
	j.slabs = (s.n + slabBlocks - 1) / slabBlocks
	j.tops = make([]Hash, j.slabs)
	if err := j.run(workers); err != nil {
		return Hash{}, err
	}
	return foldInPlace(j.tops), nil
}

// leafJob is the shared state of one hashLeaves or Top call.
type leafJob struct {
	ctx        context.Context
	r          io.ReaderAt
	s          Shape
	leaves     []Hash // every leaf (hashLeaves)
	tops       []Hash // or the fold of each slab's leaves (Top)
	slabBlocks int
	slabs      int

	next atomic.Int64 // next slab to take
	firstErr
}

// firstErr keeps the first error of a job's workers and tells the others to stop.
type firstErr struct {
	stop atomic.Bool // set on the first error
	mu   sync.Mutex
	err  error // first error, guarded by mu
}

// fail records err unless an error came first, and asks every worker to stop.
func (f *firstErr) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
	f.stop.Store(true)
}

// hashLeaves fills leaves (len s.n > 0) with the leaf hashes read from r.
func hashLeaves(ctx context.Context, r io.ReaderAt, s Shape, leaves []Hash, workers int) error {
	slabBlocks := max(slabBytes/s.bs, min(mb.MaxLanes, maxSlabBytes/s.bs), 1)
	// Keep a few slabs per worker so that small files still spread out,
	// but not below a full batch of lanes: one core hashing 16 leaves at once
	// is faster than two hashing 8 each.
	slabBlocks = min(slabBlocks, max(mb.MaxLanes, (s.n+4*workers-1)/(4*workers)))
	j := &leafJob{ctx: ctx, r: r, s: s, leaves: leaves, slabBlocks: slabBlocks}
	j.slabs = (s.n + slabBlocks - 1) / slabBlocks
	return j.run(workers)
}

// run runs the job on up to workers goroutines and waits for them.
func (j *leafJob) run(workers int) error {
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
	return j.ctx.Err()
}

// work is one worker's loop: take a slab, read it, hash its leaves, until no
// slab is left, an error occurred or the context is done.
func (j *leafJob) work() {
	// No slab is longer than the file: a small file gets a small buffer (a 16-block slab is
	// 256 KiB with 16 KiB blocks, which a share of 100,000 small files allocated 100,000
	// times, 25 GB of garbage and a heap of 240 MiB on the way).
	buf := make([]byte, min(int64(j.slabBlocks*j.s.bs), j.s.size))
	blocks := make([][]byte, 0, j.slabBlocks)
	var scratch []Hash // a slab's leaves, for Top
	if j.tops != nil {
		scratch = make([]Hash, j.slabBlocks)
	}
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
		blocks = blocks[:0]
		for range end - first {
			n := min(j.s.bs, len(p))
			blocks = append(blocks, p[:n])
			p = p[n:]
		}
		if j.tops == nil {
			HashLeaves(blocks, j.leaves[first:end])
			continue
		}
		HashLeaves(blocks, scratch[:end-first])
		j.tops[slab] = foldInPlace(scratch[:end-first])
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
