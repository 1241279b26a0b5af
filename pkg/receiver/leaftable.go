package receiver

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"unsafe"

	"github.com/lcsync/lcsync/merkle"
)

// leafTable holds one file's leaf hashes, verified or candidates (leafState says which),
// guarded by mu. A file of at most Config.StoredLeaves blocks keeps them in memory; a larger
// one keeps them in a merkle.TempStore (an unlinked temporary file in Config.LeafDir, 32
// bytes a leaf at 32·i, as a server keeps the leaves of its large trees) behind a cache of a
// few pages, so a fetch's memory does not grow with the size of its files (issue 17). Leaves
// arrive, are verified and are read by the workers mostly in block order, so the cache
// rarely misses.
type leafTable struct {
	all   []merkle.Hash // every leaf, when held in memory; nil when stored
	store *os.File      // the leaves of a stored table (nil once released)
	n     int
	pages []*leafPage // the cached pages of a stored table, at most leafCachePages
	last  *leafPage   // the page used last
	tick  uint64
	// err is the first failure to read or write the store: the file fails with it (see
	// controller.fileError); meanwhile reads give zero hashes, which verify nothing.
	err error
}

// leafPage is a cached page of a stored table: leaves [idx·leafPageLen, +len(h)).
type leafPage struct {
	idx   int
	h     []merkle.Hash
	dirty bool
	used  uint64
}

const (
	// leafPageLen is the leaves a page holds (32 KiB).
	leafPageLen = 1024
	// leafCachePages bounds the pages a stored table caches (512 KiB).
	leafCachePages = 16
	// DefaultStoredLeaves is the default Config.StoredLeaves: a file of more blocks (512 MiB
	// with 16 KiB blocks) keeps its leaf hashes in a temporary file, and needs 512 KiB of
	// memory for them instead of 32 bytes a block.
	DefaultStoredLeaves = 32768
)

// leafBytes is the memory a leaf table of n leaves needs, stored or not.
func leafBytes(n int64, stored bool) int64 {
	if stored {
		return leafCachePages * leafPageLen * merkle.HashSize
	}
	return n * merkle.HashSize
}

// newLeafTable makes the table of n leaves: stored in a temporary file in dir when stored.
func newLeafTable(n int, stored bool, dir string) (leafTable, error) {
	if !stored {
		return leafTable{all: make([]merkle.Hash, n), n: n}, nil
	}
	f, err := merkle.TempStore(dir)
	if err != nil {
		return leafTable{}, err
	}
	// Sized at once (a hole): a page never read back short, whatever was written.
	if err := f.Truncate(int64(n) * merkle.HashSize); err != nil {
		f.Close()
		return leafTable{}, fmt.Errorf("receiver: sizing the leaf hash store: %w", err)
	}
	return leafTable{store: f, n: n}, nil
}

// get returns leaf b.
func (l *leafTable) get(b int) merkle.Hash {
	if l.all != nil {
		return l.all[b]
	}
	pg := l.page(b / leafPageLen)
	if pg == nil {
		return merkle.Hash{}
	}
	return pg.h[b%leafPageLen]
}

// set makes leaf b h.
func (l *leafTable) set(b int, h merkle.Hash) {
	if l.all != nil {
		l.all[b] = h
		return
	}
	if pg := l.page(b / leafPageLen); pg != nil {
		pg.h[b%leafPageLen] = h
		pg.dirty = true
	}
}

// fold returns merkle.Fold of leaves [a, b), the span of a node (a is a multiple of the
// largest power of two not above b-a). A stored table is folded page-aligned chunk by chunk:
// a chunk of a node's span folds to its node a few levels up, and those nodes fold to the
// same hash as the whole run.
func (l *leafTable) fold(a, b int) merkle.Hash {
	if l.all != nil {
		return merkle.Fold(l.all[a:b])
	}
	if b-a <= leafPageLen && a/leafPageLen == (b-1)/leafPageLen {
		pg := l.page(a / leafPageLen)
		if pg == nil {
			return merkle.Hash{}
		}
		return merkle.Fold(pg.h[a%leafPageLen : a%leafPageLen+b-a])
	}
	// b-a > leafPageLen here (a span is aligned to its own size), so a is page-aligned
	// and chunks of leafPageLen are subtrees of the node.
	tops := make([]merkle.Hash, 0, (b-a+leafPageLen-1)/leafPageLen)
	for x := a; x < b; x += leafPageLen {
		pg := l.page(x / leafPageLen)
		if pg == nil {
			return merkle.Hash{}
		}
		tops = append(tops, merkle.Fold(pg.h[:min(leafPageLen, b-x)]))
	}
	return merkle.Fold(tops)
}

// page returns cached page p, loading it (and evicting the least recently used) if need be;
// nil once the store failed.
func (l *leafTable) page(p int) *leafPage {
	l.tick++
	if l.last != nil && l.last.idx == p {
		l.last.used = l.tick
		return l.last
	}
	if l.err != nil || l.store == nil { // failed, or released
		return nil
	}
	var victim *leafPage
	for _, pg := range l.pages {
		if pg.idx == p {
			pg.used = l.tick
			l.last = pg
			return pg
		}
		if victim == nil || pg.used < victim.used {
			victim = pg
		}
	}
	if len(l.pages) < leafCachePages {
		victim = &leafPage{h: make([]merkle.Hash, leafPageLen)}
		l.pages = append(l.pages, victim)
	} else if !l.flush(victim) {
		return nil
	}
	first := p * leafPageLen
	victim.idx, victim.dirty, victim.used = p, false, l.tick
	victim.h = victim.h[:min(leafPageLen, l.n-first)]
	if _, err := l.store.ReadAt(hashBytes(victim.h), int64(first)*merkle.HashSize); err != nil && err != io.EOF {
		l.err = fmt.Errorf("receiver: reading leaf hashes from the store: %w", err)
		victim.idx = -1
		return nil
	}
	l.last = victim
	return victim
}

// flush writes a dirty page back to the store; false if that failed.
func (l *leafTable) flush(pg *leafPage) bool {
	if !pg.dirty {
		return true
	}
	if _, err := l.store.WriteAt(hashBytes(pg.h), int64(pg.idx)*leafPageLen*merkle.HashSize); err != nil {
		l.err = fmt.Errorf("receiver: writing leaf hashes to the store: %w", err)
		return false
	}
	pg.dirty = false
	return true
}

// release frees the table once its file is finished or failed: the store is closed, and
// later reads give zero hashes (nothing reads them any more).
func (l *leafTable) release() {
	if l.store != nil {
		l.store.Close()
		l.store = nil
	}
	l.all, l.pages, l.last, l.n = nil, nil, nil, 0
}

// hashBytes views hashes as their contiguous bytes.
func hashBytes(hs []merkle.Hash) []byte {
	if len(hs) == 0 {
		return nil
	}
	return unsafe.Slice(&hs[0][0], len(hs)*merkle.HashSize)
}

// treeBuilder hashes local copies: a file of more than stored blocks keeps only its tree's
// upper levels in memory (merkle.BuildStored), its leaf hashes in a merkle.TempStore in dir,
// closed once the tree is unreachable; a smaller one, or any with stored ≤ 0 (the zero
// value), is held whole. If no store can be made, the tree is held whole.
type treeBuilder struct {
	stored int
	dir    string
}

// builder returns the session's treeBuilder.
func (c *Config) builder() treeBuilder { return treeBuilder{stored: c.StoredLeaves, dir: c.LeafDir} }

// build hashes the size bytes of r in blocks of bs bytes.
func (tb treeBuilder) build(ctx context.Context, r io.ReaderAt, size int64, bs int) (*merkle.Tree, error) {
	s, err := merkle.NewShape(size, bs)
	if err != nil {
		return nil, err
	}
	if tb.stored <= 0 || s.Blocks() <= tb.stored {
		return merkle.Build(ctx, r, size, bs, 0)
	}
	store, err := merkle.TempStore(tb.dir)
	if err != nil {
		return merkle.Build(ctx, r, size, bs, 0)
	}
	t, err := merkle.BuildStored(ctx, r, size, bs, 0, localResident, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	runtime.AddCleanup(t, func(f *os.File) { f.Close() }, store)
	return t, nil
}

// localResident is the most nodes of the lowest level a stored local tree keeps in memory
// (as a server's, index.DefaultMaxResident): fewer than 16 Ki hashes, 512 KiB.
const localResident = 8192
