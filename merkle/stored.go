package merkle

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	mb "github.com/lcsync/lcsync/simd/blake2s"
)

// LeafStore holds the leaf hashes of a tree whose lower levels are not kept in
// memory (see [BuildStored]): leaf i is the 32 bytes at offset 32·i. An
// unlinked temporary file (*os.File) is the usual one.
type LeafStore interface {
	io.ReaderAt
	io.WriterAt
}

// ResidentLevel returns the lowest level a tree of shape s keeps in memory
// when at most maxNodes nodes may make up that level: 0 (the whole tree) when
// the file has at most maxNodes blocks, otherwise the lowest level k with
// LevelLen(k) ≤ maxNodes. The levels from there up hold fewer than 2·maxNodes
// nodes, whatever the file size.
func ResidentLevel(s Shape, maxNodes int) int {
	k := 0
	for s.LevelLen(k) > max(1, maxNodes) {
		k++
	}
	return k
}

// BuildStored is [Build] for a file too large to keep its whole tree in
// memory: only the levels from ResidentLevel(shape, maxNodes) up stay in the
// returned tree; the leaf hashes are written to store and the levels between
// are recomputed from them when asked for (see [Tree.Hashes]), each run of
// leaves checked against the resident node above it. The file is hashed in
// units of one resident node's leaves, so no more than one unit of leaves
// (or a slab's, when that is more) per worker is ever in memory. When the
// whole tree fits in maxNodes leaves, BuildStored is Build and store is not
// used. The store must outlive the tree; the tree does not close it.
func BuildStored(ctx context.Context, r io.ReaderAt, size int64, bs, workers, maxNodes int, store LeafStore) (*Tree, error) {
	s, err := NewShape(size, bs)
	if err != nil {
		return nil, err
	}
	low := ResidentLevel(s, maxNodes)
	if low == 0 || store == nil {
		return Build(ctx, r, size, bs, workers)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	t := newStoredTree(s, low, store)
	j := &unitJob{ctx: ctx, r: r, t: t, units: s.LevelLen(low)}
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
		return nil, j.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k := low + 1; k < s.levels; k++ {
		hashLevel(t.levels[k], t.levels[k-1], workers)
	}
	t.root = RootOf(s, t.Top())
	return t, nil
}

// newStoredTree allocates the resident levels (low and up) of shape s.
func newStoredTree(s Shape, low int, store LeafStore) *Tree {
	t := &Tree{shape: s, levels: make([][]Hash, s.levels), low: low, stored: &stored{store: store}}
	n := 0
	for k := low; k < s.levels; k++ {
		n += s.LevelLen(k)
	}
	t.nodes = make([]Hash, n)
	start := 0
	for k := s.levels - 1; k >= low; k-- {
		end := start + s.LevelLen(k)
		t.levels[k] = t.nodes[start:end:end]
		start = end
	}
	return t
}

// unitJob is the shared state of one BuildStored call: workers take the
// resident level's nodes (units) one at a time.
type unitJob struct {
	ctx   context.Context
	r     io.ReaderAt
	t     *Tree
	units int

	next atomic.Int64
	firstErr
}

// work hashes items of whole units until none is left: each item's blocks slab by slab into
// its leaves, which go to the store, then folds each unit's leaves into its resident node. An
// item is one unit, or as many as make a slab when units are smaller (so that the leaves
// still fill every SIMD lane).
func (j *unitJob) work() {
	s, low := j.t.shape, j.t.low
	unit := 1 << low
	slabBlocks := max(slabBytes/s.bs, min(mb.MaxLanes, maxSlabBytes/s.bs), 1)
	per := max(1, slabBlocks/unit) // units an item
	slabBlocks = min(slabBlocks, per*unit)
	buf := make([]byte, slabBlocks*s.bs)
	blocks := make([][]byte, 0, slabBlocks)
	leaves := make([]Hash, per*unit)
	items := (j.units + per - 1) / per
	for !j.stop.Load() {
		if err := j.ctx.Err(); err != nil {
			j.fail(err)
			return
		}
		item := int(j.next.Add(1) - 1)
		if item >= items {
			return
		}
		u0, u1 := item*per, min((item+1)*per, j.units)
		first, _ := s.Descendants(low, u0, 0)
		_, end := s.Descendants(low, u1-1, 0)
		for lo := first; lo < end; lo += slabBlocks {
			hi := min(lo+slabBlocks, end)
			off := s.BlockOffset(lo)
			length := int(min(s.BlockOffset(hi), s.size) - off)
			if err := readFull(j.r, buf[:length], off); err != nil {
				j.fail(fmt.Errorf("merkle: reading blocks %d to %d at offset %d: %w", lo, hi-1, off, err))
				return
			}
			p := buf[:length]
			blocks = blocks[:0]
			for range hi - lo {
				n := min(s.bs, len(p))
				blocks = append(blocks, p[:n])
				p = p[n:]
			}
			HashLeaves(blocks, leaves[lo-first:hi-first])
		}
		if _, err := j.t.stored.store.WriteAt(hashBytes(leaves[:end-first]), int64(first)*HashSize); err != nil {
			j.fail(fmt.Errorf("merkle: storing leaf hashes %d to %d: %w", first, end-1, err))
			return
		}
		for u := u0; u < u1; u++ {
			a, b := s.Descendants(low, u, 0)
			j.t.levels[low][u] = foldInPlace(leaves[a-first : b-first])
		}
	}
}

// foldInPlace folds run (§1.4) using run itself as scratch space.
func foldInPlace(run []Hash) Hash {
	n := len(run)
	if n == 0 {
		return Hash{}
	}
	for n > 1 {
		n = pairUp(run[:(n+1)/2], run[:n])
	}
	return run[0]
}

// hashBytes views hashes as their contiguous bytes.
func hashBytes(hs []Hash) []byte {
	if len(hs) == 0 {
		return nil
	}
	return unsafe.Slice(&hs[0][0], len(hs)*HashSize)
}

// Resident returns the lowest level held in memory: 0 for a tree held whole,
// more for one built by [BuildStored] whose lower levels come from its store.
func (t *Tree) Resident() int { return t.low }

// unitCache is the one unit of a stored tree loaded last: its leaves, read
// from the store and checked against the resident node, and every level
// between, computed from them.
type unitCache struct {
	mu     sync.Mutex
	unit   int      // which unit; -1 when none
	levels [][]Hash // levels[k] for k < low, the unit's part of level k
}

// Hashes appends to dst the hashes of nodes [first, end) of level k and
// returns the extended slice. Resident levels are copied; lower levels of a
// stored tree are read from its store unit by unit, and a unit whose leaves
// do not fold into the resident node above them gives an error wrapping
// [ErrMismatch] (the store was damaged). It fails on a range outside the
// level.
func (t *Tree) Hashes(k, first, end int, dst []Hash) ([]Hash, error) {
	if k < 0 || k >= t.shape.levels || first < 0 || first > end || end > t.shape.LevelLen(k) {
		return dst, fmt.Errorf("merkle: nodes [%d, %d) of level %d do not exist (%s)", first, end, k, t.shape)
	}
	if k >= t.low {
		return append(dst, t.level(k)[first:end]...), nil
	}
	c := &t.stored.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	d := uint(t.low - k) // level k nodes per unit: 1 << d
	for first < end {
		u := first >> d
		if err := t.loadUnit(u); err != nil {
			t.broken.Store(true)
			return dst, err
		}
		base := u << d
		stop := min(end, (u+1)<<d)
		dst = append(dst, c.levels[k][first-base:stop-base]...)
		first = stop
	}
	return dst, nil
}

// Broken reports whether reading the tree's store has failed: the tree should be built anew.
func (t *Tree) Broken() bool { return t.broken.Load() }

// Get returns the hash of node (k, i), reading it from the store for a level
// below [Tree.Resident]; see [Tree.Hashes].
func (t *Tree) Get(k, i int) (Hash, error) {
	if k >= t.low && t.shape.HasNode(k, i) {
		return t.level(k)[i], nil
	}
	var one [1]Hash
	hs, err := t.Hashes(k, i, i+1, one[:0])
	if err != nil {
		return Hash{}, err
	}
	return hs[0], nil
}

// loadUnit makes unit u the cached one; t.stored.cache.mu is held.
func (t *Tree) loadUnit(u int) error {
	c := &t.stored.cache
	if c.levels != nil && c.unit == u {
		return nil
	}
	if c.levels == nil {
		c.levels = make([][]Hash, t.low)
		for k := range c.levels {
			c.levels[k] = make([]Hash, 0, 1<<(t.low-k))
		}
	}
	c.unit = -1
	first, end := t.shape.Descendants(t.low, u, 0)
	leaves := c.levels[0][:end-first]
	if _, err := t.stored.store.ReadAt(hashBytes(leaves), int64(first)*HashSize); err != nil {
		return fmt.Errorf("merkle: reading leaf hashes %d to %d from the store: %w", first, end-1, err)
	}
	c.levels[0] = leaves
	for k := 1; k < t.low; k++ {
		below := c.levels[k-1]
		c.levels[k] = c.levels[k][:(len(below)+1)/2]
		pairUp(c.levels[k], below)
	}
	top := c.levels[t.low-1]
	var node Hash
	if len(top) == 1 {
		node = top[0]
	} else {
		node = NodeHash(top[0], top[1])
	}
	if node != t.levels[t.low][u] {
		return fmt.Errorf("%w: stored leaf hashes %d to %d do not fold into node (%d, %d)", ErrMismatch, first, end-1, t.low, u)
	}
	c.unit = u
	return nil
}

// TempStore creates an empty [LeafStore]: an unlinked temporary file in dir
// (os.TempDir() if empty), so that nothing is left behind however the
// process ends. The caller closes it.
func TempStore(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".lcsync-tree-*")
	if err != nil {
		return nil, fmt.Errorf("merkle: leaf hash store: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("merkle: leaf hash store: %w", err)
	}
	return f, nil
}
