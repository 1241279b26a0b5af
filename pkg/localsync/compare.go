package localsync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
)

// compareSlab is how much of each side a compare worker reads at a time. It
// is a multiple of every block size.
const compareSlab = merkle.MaxBlockSize

// output is where the changed blocks of a file go: a temporary file or, in
// place, the destination itself. It is opened on the first write, so a file
// found identical opens nothing.
type output struct {
	open func() (*os.File, string, error) // opens the file, returns its path for errors
	f    *os.File                         // nil until opened, and again once closed
	path string                           // for errors
	tmp  string                           // temporary file relative to the root, or ""
}

// ensure opens the output unless it is open already.
func (o *output) ensure() error {
	if o.f != nil {
		return nil
	}
	f, p, err := o.open()
	if err != nil {
		return err
	}
	o.f, o.path = f, p
	return nil
}

// diffPass is the compare pass over one file whose destination exists:
// workers read the source and the old destination a slab at a time, compare
// them block by block (the block at the same index, as merkle.Diff would)
// and write the source blocks that differ into out at once, so every byte
// written is a byte compared and the source is read once.
type diffPass struct {
	s          *syncer
	j          *fileJob
	out        *output // nil in a dry run
	slabBlocks int
	slabs      int
	next       atomic.Int64 // next slab to take
	stop       atomic.Bool  // set on the first error

	mu       sync.Mutex // guards the fields below and every write to out
	err      error
	need     *bitset.BitSet
	compared int64 // bytes read on both sides
	copied   int64 // source bytes read and written
}

// compare reads both sides of j and reports whether they are identical:
// the same size and the same bytes. Otherwise j.need holds the blocks that
// differ; unless out is nil they have been written into it at their offsets.
func (s *syncer) compare(j *fileJob, out *output) (same bool, err error) {
	n := j.shape.Blocks()
	p := &diffPass{s: s, j: j, out: out, need: bitset.New(uint(n))}
	p.slabBlocks = compareSlab / j.shape.BlockSize()
	p.slabs = (n + p.slabBlocks - 1) / p.slabBlocks
	workers := s.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, p.slabs)
	if workers <= 1 {
		// One slab (most files of a tree): inline, through the syncer's buffers.
		p.work(s.cmpBufs())
	} else {
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.work(nil, nil)
			}()
		}
		wg.Wait()
	}
	s.stats.ComparedBytes += p.compared
	s.stats.BytesRead += p.copied
	if p.err != nil {
		return false, p.err
	}
	if err := s.ctx.Err(); err != nil {
		return false, err
	}
	j.need = p.need
	return p.need.None() && j.si.Size() == j.oldInfo.Size(), nil
}

// fail records the pass's first error and stops the workers.
func (p *diffPass) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.stop.Store(true)
}

// work is one worker's loop: take a slab, read both sides, compare, write
// what differs, until no slab is left, an error occurred or the sync was
// cancelled. It reads through src and old, or buffers of its own if they are
// nil.
func (p *diffPass) work(src, old []byte) {
	if src == nil {
		src, old = make([]byte, compareSlab), make([]byte, compareSlab)
	}
	var diff []int
	shape, oldSize := p.j.shape, p.j.oldInfo.Size()
	for !p.stop.Load() {
		if err := p.s.ctx.Err(); err != nil {
			p.fail(err)
			return
		}
		slab := int(p.next.Add(1) - 1)
		if slab >= p.slabs {
			return
		}
		first := slab * p.slabBlocks
		end := min(first+p.slabBlocks, shape.Blocks())
		off := shape.BlockOffset(first)
		sp := src[:runBytes(shape, first, end)]
		if err := readAll(p.j.src, sp, off); err != nil {
			p.fail(newError("read", p.j.srcPath, fmt.Errorf("source shrank during the sync: %w", err)))
			return
		}
		op := old[:max(0, min(int64(len(sp)), oldSize-off))]
		if err := readAll(p.j.old, op, off); err != nil {
			p.fail(newError("read", p.s.dstPath(p.j.rel), fmt.Errorf("destination shrank during the sync: %w", err)))
			return
		}
		diff = diff[:0]
		for i, at := first, 0; i < end; i++ {
			bl := shape.BlockLen(i)
			// The old block at the same index, which may be shorter or
			// (the source's last block) longer.
			oldLen := min(max(0, oldSize-(off+int64(at))), int64(shape.BlockSize()))
			if oldLen != int64(bl) || !bytes.Equal(sp[at:at+bl], op[at:at+bl]) {
				diff = append(diff, i)
			}
			at += bl
		}
		if err := p.record(first, sp, diff, int64(len(sp)+len(op))); err != nil {
			p.fail(err)
			return
		}
	}
}

// record marks the blocks of diff (indexes in the slab starting at block
// first, whose source bytes are sp) as needed and writes them into the
// output, a run of adjacent blocks at a time.
func (p *diffPass) record(first int, sp []byte, diff []int, compared int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.compared += compared
	if p.err != nil {
		return nil
	}
	shape := p.j.shape
	base := shape.BlockOffset(first)
	for k := 0; k < len(diff); {
		e := k + 1
		for e < len(diff) && diff[e] == diff[e-1]+1 {
			e++
		}
		a, b := diff[k], diff[e-1]+1
		for i := a; i < b; i++ {
			p.need.Set(uint(i))
		}
		k = e
		if p.out == nil {
			continue
		}
		if err := p.s.ctx.Err(); err != nil {
			return err
		}
		if err := p.out.ensure(); err != nil {
			return err
		}
		off := shape.BlockOffset(a)
		run := sp[off-base : off-base+runBytes(shape, a, b)]
		if _, err := p.out.f.WriteAt(run, off); err != nil {
			return newError("write", p.out.path, err)
		}
		p.copied += int64(len(run))
		p.s.stats.BytesWritten += int64(len(run))
		p.s.wrote()
	}
	return nil
}

// cmpBufs returns the syncer's two compare buffers, allocated on first use.
func (s *syncer) cmpBufs() (src, old []byte) {
	if s.cmpSrc == nil {
		s.cmpSrc, s.cmpOld = make([]byte, compareSlab), make([]byte, compareSlab)
	}
	return s.cmpSrc, s.cmpOld
}

// readAll fills p from f at off; fewer bytes is an error.
func readAll(f *os.File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
