package receiver

import (
	"fmt"
	"os"
	"sync"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// fileState is one file being fetched. Unless a field says otherwise it is guarded by
// session.mu; entry, shape, rel and name are read-only.
type fileState struct {
	entry wire.Entry
	shape merkle.Shape
	rel   string // destination path relative to the root
	name  string // remote name

	walkState
	leafState
	need      *bitset.BitSet // blocks that must come over the network
	done      *bitset.BitSet // needed blocks verified and written
	reuse     *bitset.BitSet // blocks copied from the local file
	queued    *bitset.BitSet // complete blocks handed to a worker, not yet done or discarded
	remaining int            // needed blocks not yet done
	blocks    map[int]*blockState
	targets   []*target // data targets over this file, for block accounting
	sources   sourceState
	copyState
	tempFile

	finished bool
	planned  bool // data subscriptions queued
	dry      bool // dry run: no data is fetched
	streamed bool // fetched through a directory stream
	readied  bool // queued on session.ready
	err      error
	// stateCost is the memory alloc made for the per-block state (see stateBytes).
	stateCost int64
}

// walkState is what the tree walk learnt of a file against its local copy.
type walkState struct {
	local     *merkle.Tree // tree of the existing local file, same block size; nil if none
	walked    bool         // the walk established need and reuse (no reconciliation with leaves)
	whole     map[nodeRef]bool
	walkHash  map[nodeRef]merkle.Hash // nodes the walk found different, with their hashes
	walking   int                     // tree subscriptions outstanding
	leafWalks int                     // leaf-walk pages outstanding (repair)
	// pages are the tree pages verified so far, by node: a later leaf walk through the same
	// node uses them instead of joining the tree channel again, which the sender would take
	// for a repeat of the earlier join and ignore.
	pages map[nodeRef][]merkle.Hash
}

// leafState is what is known of a file's leaf hashes.
type leafState struct {
	leaves     leafTable
	leafOK     *bitset.BitSet // leaves known to chain up to the manifest's top
	leafHave   *bitset.BitSet // leaves received on a data channel, not yet verified
	unverified *bitset.BitSet // blocks written before their leaf was verified
	selfHashed *bitset.BitSet // unverified blocks whose hash is leaves[b] (see heldUnverified)
}

// copyState is the copier's work on a file: guarded by mu, queued by the walk and done by
// the copier goroutine.
type copyState struct {
	teed     bool           // the local copy was written into tmp as it was hashed (see tee.go), or cloned
	vouched  bool           // cloned, its tree from Config.LocalTree (see cloneLocal, checkRoot)
	early    *bitset.BitSet // reused blocks handed to the copier (nil: none)
	copyJobs int            // copier jobs not done
	copying  chan struct{}  // closed when copyJobs falls to 0; nil while it is 0
	copyErr  error          // the copier's first failure
}

// tempFile is the temporary file a file is assembled in. tmpMu serialises its creation
// (ensureTemp; taken before mu); tmp and tmpRel are set under both, so either lock reads them.
// Once set, tmp is written at distinct offsets by the reader (spilled pieces), the workers and
// the copier, and closed by the controller.
type tempFile struct {
	tmpMu  sync.Mutex
	tmp    *os.File
	tmpRel string
}

// newFileState returns the state of a file to fetch, per-block state included (its leaves
// in memory).
func newFileState(e wire.Entry, shape merkle.Shape, rel string) *fileState {
	f := describeFile(e, shape, rel)
	_ = f.alloc(-1, "", 0) // held in memory: nothing can fail
	return f
}

// describeFile returns the state of a file to fetch without its per-block state, which alloc
// makes when the file is started: a manifest entry alone, whatever size it claims, costs no
// more than this (review H5).
func describeFile(e wire.Entry, shape merkle.Shape, rel string) *fileState {
	return &fileState{entry: e, shape: shape, rel: rel, name: e.Name, blocks: map[int]*blockState{}}
}

// alloc makes f's per-block state (leaves and bitsets) if it has none yet: the leaf hashes of
// a file of more than storedLeaves blocks (negative: never) in a temporary file in dir (see
// leafTable). If that file cannot be made, they are held in memory when that fits budget,
// and alloc fails otherwise. It records the memory the state takes in f.stateCost.
func (f *fileState) alloc(storedLeaves int, dir string, budget int64) error {
	if f.leafOK != nil {
		return nil
	}
	n := uint(f.shape.Blocks())
	stored := storesLeaves(f.shape, storedLeaves)
	leaves, err := newLeafTable(int(n), stored, dir)
	if err != nil {
		if stateBytes(f.shape, -1) > budget {
			return fmt.Errorf("receiver: %s: no store for its leaf hashes, which do not fit in memory: %w", f.rel, err)
		}
		stored = false
		leaves, _ = newLeafTable(int(n), false, "")
	}
	f.leafState = leafState{leaves: leaves, leafOK: bitset.New(n), leafHave: bitset.New(n),
		unverified: bitset.New(n), selfHashed: bitset.New(n)}
	f.need, f.done, f.reuse, f.queued = bitset.New(n), bitset.New(n), bitset.New(n), bitset.New(n)
	f.stateCost = leafBytes(int64(n), stored) + bitBytes(int64(n))
	return nil
}

// storesLeaves reports whether a file of this shape keeps its leaf hashes in a temporary
// file: one of more than storedLeaves blocks (negative: none).
func storesLeaves(shape merkle.Shape, storedLeaves int) bool {
	return storedLeaves >= 0 && shape.Blocks() > storedLeaves
}

// stateBytes is what alloc makes for a file of this shape: its leaf hashes (in memory, or a
// stored table's cache) and 8 bits per block.
func stateBytes(shape merkle.Shape, storedLeaves int) int64 {
	n := int64(shape.Blocks())
	return leafBytes(n, storesLeaves(shape, storedLeaves)) + bitBytes(n)
}

// bitBytes is what the 8 bitsets of n blocks take.
func bitBytes(n int64) int64 { return 8 * ((n + 63) / 64 * 8) }

// needAll marks every block needed (no usable local copy).
func (f *fileState) needAll() {
	n := uint(f.shape.Blocks())
	f.need.FlipRange(0, n)
	f.remaining = int(n)
}

// complete reports whether every needed block is in (in a dry run: whether the walk is done).
func (f *fileState) complete() bool {
	return f.planned && f.walking == 0 && (f.dry || f.remaining == 0)
}

// missing reports whether block b is needed and neither done nor on its way to a worker.
func (f *fileState) missing(b int) bool {
	return f.need.Test(uint(b)) && !f.done.Test(uint(b)) && !f.queued.Test(uint(b))
}

// countMissing counts the missing blocks of [first, end).
func (f *fileState) countMissing(first, end int) int {
	n := 0
	for b := first; b < end; b++ {
		if f.missing(b) {
			n++
		}
	}
	return n
}

// unknownMissing reports whether some block in [a, b) is missing and its leaf unknown.
func (f *fileState) unknownMissing(a, b int) bool {
	for x := a; x < b; x++ {
		if f.missing(x) && !f.leafOK.Test(uint(x)) {
			return true
		}
	}
	return false
}

// leaflessSpan returns the smallest span [lo, hi) holding every block of [first, end) that is
// missing and has no verified leaf, or -1, -1 when there is none.
func (f *fileState) leaflessSpan(first, end int) (lo, hi int) {
	lo, hi = -1, -1
	for b := first; b < end; b++ {
		if f.missing(b) && !f.leafOK.Test(uint(b)) {
			if lo < 0 {
				lo = b
			}
			hi = b + 1
		}
	}
	return lo, hi
}

// forgetCandidates drops the unverified leaf candidates of [a, b) after they failed to fold
// to a verified node.
func (f *fileState) forgetCandidates(a, b int) {
	for x := a; x < b; x++ {
		if !f.leafOK.Test(uint(x)) {
			f.leafHave.Clear(uint(x))
			f.selfHashed.Clear(uint(x))
		}
	}
}

// localEqual reports whether the local tree has node (k, i) covering the same leaves with the
// same hash, so its blocks can be reused. A node a stored local tree cannot read back is
// taken as different: its blocks are fetched.
func (f *fileState) localEqual(k, i int, h merkle.Hash) bool {
	if f.local == nil || !f.local.Shape().HasNode(k, i) {
		return false
	}
	a0, a1 := f.shape.Span(k, i)
	b0, b1 := f.local.Shape().Span(k, i)
	if a0 != b0 || a1 != b1 {
		return false
	}
	lh, err := f.local.Get(k, i)
	return err == nil && lh == h
}

// allDiffer reports whether a page of nodes at level (level > 0) starting at first, covering
// at most wholeMax leaves, differs from the local copy in every node.
func (f *fileState) allDiffer(level, first int, run []merkle.Hash) bool {
	a, _ := f.shape.Span(level, first)
	_, b := f.shape.Span(level, first+len(run)-1)
	if b-a > wholeMax || len(run) < 2 {
		return false
	}
	for j, h := range run {
		if f.localEqual(level, first+j, h) {
			return false
		}
	}
	return true
}

// blockBytes returns the size of f's blocks set in b.
func blockBytes(f *fileState, b *bitset.BitSet) int64 {
	n := int64(b.Count()) * int64(f.shape.BlockSize())
	if last := f.shape.Blocks() - 1; last >= 0 && b.Test(uint(last)) {
		n -= int64(f.shape.BlockSize() - f.shape.BlockLen(last))
	}
	return n
}

// shapeOf returns an entry's tree shape.
func shapeOf(e wire.Entry) (merkle.Shape, error) {
	return merkle.NewShape(e.Size, e.BlockSize())
}
