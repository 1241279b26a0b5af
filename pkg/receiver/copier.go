package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
)

// copyJob asks the copier to put blocks [first, end) of a file, reused from its local copy,
// into its temporary file.
type copyJob struct {
	f          *fileState
	first, end int
}

// copier is the goroutine that copies reused blocks of the local copies into the temporary
// files while the walk and the network part of the fetch go on. Its queue q is guarded by
// session.mu (the walk fills it, the copier empties it); wake signals it.
type copier struct {
	s    *session
	q    []copyJob
	wake chan struct{}
}

// queue hands blocks [first, end) of f, just found equal to the local copy by the tree walk,
// to the copier, so that copying and checking them overlaps the rest of the walk and the
// network part of the fetch instead of following it (caller holds mu).
func (c *copier) queue(f *fileState, first, end int) {
	if c.s.cfg.DryRun || f.local == nil || f.teed || first >= end {
		return
	}
	if f.early == nil {
		f.early = bitset.New(uint(f.shape.Blocks()))
	}
	f.early.SetRange(uint(first), uint(end))
	if f.copying == nil {
		f.copying = make(chan struct{})
	}
	f.copyJobs++
	c.q = append(c.q, copyJob{f: f, first: first, end: end})
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run copies queued blocks until ctx ends. It is owned by the controller, which cancels ctx
// and waits for it before the plan closes the files.
func (c *copier) run(ctx context.Context) {
	s := c.s
	for {
		s.mu.Lock()
		q := c.q
		c.q = nil
		s.mu.Unlock()
		if len(q) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
			}
			continue
		}
		// One pass per file over everything queued for it: the walk finds equal subtrees a
		// few at a time.
		var order []*fileState
		sets := map[*fileState]*bitset.BitSet{}
		jobs := map[*fileState]int{}
		for _, j := range q {
			set := sets[j.f]
			if set == nil {
				set = bitset.New(uint(j.f.shape.Blocks()))
				sets[j.f] = set
				order = append(order, j.f)
			}
			set.SetRange(uint(j.first), uint(j.end))
			jobs[j.f]++
		}
		for _, f := range order {
			err := c.copyEarly(ctx, f, sets[f])
			s.mu.Lock()
			if err != nil && f.copyErr == nil {
				f.copyErr = err
			}
			if f.copyJobs -= jobs[f]; f.copyJobs == 0 {
				close(f.copying)
				f.copying = nil
			}
			s.mu.Unlock()
		}
	}
}

// copyEarly copies and checks blocks of f on one core, the fetch going on meanwhile (an
// earlier failure of the file skips it).
func (c *copier) copyEarly(ctx context.Context, f *fileState, set *bitset.BitSet) error {
	s := c.s
	if err := s.ensureTemp(f); err != nil {
		return err
	}
	s.mu.Lock()
	tmp, failed := f.tmp, f.copyErr != nil
	s.mu.Unlock()
	if tmp == nil || failed { // the file failed or finished meanwhile
		return nil
	}
	return copyBlocks(ctx, s.root, f, tmp, set, 1)
}

// copyBlocks copies the blocks in set from f's local copy (opened through root) into dst inside
// the kernel, then reads them back from dst and checks each against the local tree, in case the
// local file changed since it was hashed. workers goroutines hash.
func copyBlocks(ctx context.Context, root *os.Root, f *fileState, dst *os.File, set *bitset.BitSet, workers int) error {
	if set.None() {
		return nil
	}
	src, err := root.Open(f.rel)
	if err != nil {
		return fmt.Errorf("receiver: reopening %s: %w", f.rel, err)
	}
	defer src.Close()
	var c destfs.Copier
	for _, r := range runsOf(f, set, math.MaxInt64) { // copy_file_range takes any length
		err := c.Copy(ctx, dst, src, r.off, r.n)
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%w: %s changed while it was being updated (it shrank)", ErrVerify, f.rel)
		case err != nil:
			return fmt.Errorf("receiver: copying unchanged blocks of %s: %w", f.rel, err)
		}
	}
	return checkBlocks(ctx, dst, f, set, workers)
}

// blockRun is a run of consecutive blocks: the first, how many, and their bytes in the file.
type blockRun struct {
	first, count int
	off, n       int64
}

// runsOf cuts the blocks set in set into runs of consecutive blocks of at most limit bytes
// (a single block may exceed it).
func runsOf(f *fileState, set *bitset.BitSet, limit int64) []blockRun {
	var runs []blockRun
	last := uint(f.shape.Blocks())
	for b, ok := set.NextSet(0); ok && b < last; {
		r := blockRun{first: int(b), off: f.shape.BlockOffset(int(b))}
		for ; ok && b < last && b == uint(r.first+r.count); b, ok = set.NextSet(b + 1) {
			l := int64(f.shape.BlockLen(int(b)))
			if r.count > 0 && r.n+l > limit {
				break
			}
			r.count++
			r.n += l
		}
		runs = append(runs, r)
	}
	return runs
}

// checkSlab is how many bytes a checker reads at once.
const checkSlab = 1 << 20

// checkBlocks reads the blocks in set back from r and compares each with f's local tree. A
// difference means the local copy changed after it was hashed: the error wraps ErrVerify and
// names the block.
func checkBlocks(ctx context.Context, r io.ReaderAt, f *fileState, set *bitset.BitSet, workers int) error {
	var (
		mu  sync.Mutex
		bad = -1
	)
	err := hashBlocks(ctx, r, f, set, workers, func(first int, sums []merkle.Hash) error {
		for i, h := range sums {
			lh, err := f.local.Get(0, first+i)
			if err != nil {
				return err
			}
			if h != lh {
				mu.Lock()
				if bad < 0 || first+i < bad {
					bad = first + i
				}
				mu.Unlock()
				return errBlockDiffers
			}
		}
		return nil
	})
	switch {
	case bad >= 0:
		return fmt.Errorf("%w: %s changed while it was being updated (block %d)", ErrVerify, f.rel, bad)
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("receiver: re-reading %s: %w", f.rel, err)
	}
	return nil
}

// errBlockDiffers stops checkBlocks at the first block that differs.
var errBlockDiffers = errors.New("block differs")

// hashBlocks reads the blocks in set back from r, a slab at a time on workers goroutines,
// hashes each slab's blocks together (merkle.HashLeaves, a lane each) and hands each run's
// leaf hashes to each (the run's first block; called concurrently for disjoint runs). The
// first error, a read's or each's, stops the work and is returned as it is (ctx's when it
// ends).
func hashBlocks(ctx context.Context, r io.ReaderAt, f *fileState, set *bitset.BitSet, workers int, each func(first int, sums []merkle.Hash) error) error {
	runs := runsOf(f, set, checkSlab)
	var (
		mu   sync.Mutex
		next int
		ferr error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if ferr == nil {
			ferr = err
		}
		mu.Unlock()
	}
	take := func() (blockRun, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(runs) || ferr != nil {
			return blockRun{}, false
		}
		next++
		return runs[next-1], true
	}
	for range max(1, min(workers, len(runs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, checkSlab+f.shape.BlockSize())
			var (
				blocks [][]byte
				sums   []merkle.Hash
			)
			for {
				run, ok := take()
				if !ok {
					return
				}
				p := buf[:run.n]
				err := ctx.Err()
				if err == nil {
					_, err = r.ReadAt(p, run.off)
				}
				if err != nil {
					fail(err)
					return
				}
				blocks = blocks[:0]
				for b := run.first; b < run.first+run.count; b++ {
					n := f.shape.BlockLen(b)
					blocks = append(blocks, p[:n])
					p = p[n:]
				}
				sums = slices.Grow(sums[:0], len(blocks))[:len(blocks)]
				merkle.HashLeaves(blocks, sums)
				if err := each(run.first, sums); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if ferr != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return ferr
}
