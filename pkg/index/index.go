package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/exclude"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Options control indexing.
type Options struct {
	// BlockSize is the merkle block size; 0 means merkle.DefaultBlockSize.
	BlockSize int
	// Workers bounds hashing concurrency; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Logger receives skipped-entry notices at warn level; nil means silent.
	Logger *slog.Logger
	// Exclude leaves matching paths out of the index (see pkg/exclude); nil excludes only
	// lcsync's temporary files. Refresh and Update keep the old index's rules when nil.
	Exclude *exclude.Matcher
	// TreeDir is where the leaf hashes of large files go (see File.Tree), in unlinked
	// temporary files; "" means os.TempDir(). Refresh and Update keep the old index's.
	TreeDir string
	// MaxResident bounds the nodes of a file's lowest resident tree level (see
	// merkle.BuildStored): a file of more blocks keeps about 2·MaxResident hashes in memory
	// and its leaf hashes in TreeDir. 0 means DefaultMaxResident; negative keeps every tree
	// whole in memory. Refresh and Update keep the old index's.
	MaxResident int
}

// DefaultMaxResident is the default Options.MaxResident: at most 16 Ki hashes (512 KiB) of
// each file's tree stay in memory; files of up to 8192 blocks (128 MiB with 16 KiB blocks)
// are held whole.
const DefaultMaxResident = 8192

// File is one regular file of the share. Files are immutable once their Index is built, so a
// refreshed Index may share them with the previous one.
type File struct {
	// Entry is the file's manifest entry.
	Entry wire.Entry
	// Tree is the file's merkle tree. A file of more than Options.MaxResident blocks has only
	// its upper levels in memory; its leaf hashes are in an unlinked temporary file that is
	// closed when the tree is no longer referenced (use Tree.Get and Tree.Hashes below
	// Tree.Resident).
	Tree *merkle.Tree

	// A share of 100,000 small files holds 100,000 of these: nothing here is derivable
	// from the rest (the local path, size and time are methods).
	root string   // the directory the file is opened relative to (shared by every file)
	rel  string   // its slash-separated path below root, a substring of Entry.Name; "" for a single-file share
	id   identity // the inode and times it had when walked, then when hashed
}

// Path returns the local path of the file, for messages; the file is opened relative to the
// share's directory, never by this path (see Open).
func (f *File) Path() string {
	if f.rel == "" {
		return f.root
	}
	return filepath.Join(f.root, filepath.FromSlash(f.rel))
}

// Size returns the file's size when it was hashed (before that, when it was walked).
func (f *File) Size() int64 { return f.id.size }

// ModTime returns the file's modification time when it was hashed (before that, when it was
// walked).
func (f *File) ModTime() time.Time { return f.id.modTime() }

// relOf returns the path below the share's directory of the entry called name in share
// share: a substring of name, so that files keep no second copy of their path.
func relOf(share, name string) string {
	if len(name) <= len(share) {
		return ""
	}
	return name[len(share)+1:]
}

// Index is a hashed share. It is immutable once built: Refresh returns a new Index.
type Index struct {
	// Share is the share name, the first component of every name.
	Share string
	// Source is the local path that was indexed.
	Source string
	// Files lists the regular files, in name order, with their trees.
	Files []*File
	// Skipped counts entries that are not served (devices, fifos, sockets, bad names, and
	// the unreadable ones).
	Skipped int
	// Unreadable counts entries that could not be read (listed, stat'ed or hashed); the
	// directories holding them are marked incomplete in the manifest (wire.Entry.Incomplete).
	Unreadable int
	// Bytes is the total size of the files.
	Bytes int64
	// BlockSize is the block size files were hashed with.
	BlockSize int

	exclude    *exclude.Matcher // the rules it was built with
	treeDir    string           // Options.TreeDir it was built with
	resident   int              // Options.MaxResident it was built with
	incomplete map[string]bool  // directories, by name, with an unreadable entry below them
	// Every entry is kept once, in the tree objects (a file's entry also in its File): a
	// flat list beside them cost a share of 100,000 files 12 MB, and an update one pass
	// over it. entries is the walk's list, only while an index is built.
	root    wire.Entry    // the share's own entry; its Name is "" when there is none
	tree    *dirNode      // the share directory's tree object; nil for a single file
	entries []*wire.Entry // while building: every entry the walk found, sorted by name (a file's is in its File)
}

// Root returns the share's own entry: its directory, or the file of a single-file share. Its
// Name is "" for a share left with nothing to serve (a single file that could not be read).
func (ix *Index) Root() wire.Entry { return ix.root }

// Entries returns every entry (files, directories, symlinks), sorted by name, decoded from
// the tree objects: it costs the whole share, for tools and tests; Dirs and Files are cheap.
func (ix *Index) Entries() []wire.Entry {
	if ix.root.Name == "" {
		return nil
	}
	out := []wire.Entry{ix.root}
	var walk func(dir string, n *dirNode)
	walk = func(dir string, n *dirNode) {
		objs := [][]byte{n.blob}
		if n.pages != nil {
			objs = n.pages
		}
		for _, b := range objs {
			o, err := wire.UnmarshalObject(b)
			if err != nil {
				continue // the index's own encoding: cannot happen
			}
			for _, oe := range o.Entries {
				e := oe.Entry
				e.Name = dir + "/" + oe.Name
				out = append(out, e)
				if c := n.children[oe.Name]; c != nil && e.Type == wire.EntryDir {
					walk(e.Name, c)
				}
			}
		}
	}
	if ix.tree != nil {
		walk(ix.Share, ix.tree)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Dirs calls fn with the name of every directory below the share's own, in no set order.
// It costs the directories, not the entries.
func (ix *Index) Dirs(fn func(name string)) {
	var walk func(dir string, n *dirNode)
	walk = func(dir string, n *dirNode) {
		for name, c := range n.children {
			d := dir + "/" + name
			fn(d)
			walk(d, c)
		}
	}
	if ix.tree != nil {
		walk(ix.Share, ix.tree)
	}
}

// finishTree builds the tree objects from the walk's entries and keeps the share's own
// entry; the walk's list is dropped.
func (ix *Index) finishTree() error {
	if len(ix.entries) > 0 {
		ix.root = *ix.entries[0]
	}
	var err error
	ix.tree, err = buildDirTree(ix.Share, ix.entries)
	ix.entries = nil
	return err
}

// sameContent reports whether a and b list the same entries: the same own entry and the same
// tree (whose object ids commit to every entry below).
func sameContent(a, b *Index) bool {
	if a.root != b.root || (a.tree == nil) != (b.tree == nil) {
		return false
	}
	return a.tree == nil || a.tree.id == b.tree.id
}

// TreeDir returns the directory the leaf hash stores of large files go in ("" for
// os.TempDir()): Options.TreeDir.
func (ix *Index) TreeDir() string { return ix.treeDir }

// markIncomplete records that the directory named dir lost an entry it could not read. The
// share's own name is marked for entries directly in it; "" (a single-file share) is not.
func (ix *Index) markIncomplete(dir string) {
	ix.Unreadable++
	if dir == "" {
		return
	}
	if ix.incomplete == nil {
		ix.incomplete = map[string]bool{}
	}
	ix.incomplete[dir] = true
}

// large is the file size from which a file gets every hashing worker to itself.
const large = 8 << 20

// Build indexes src (a file or a directory).
func Build(ctx context.Context, src string, opt Options) (*Index, error) {
	if opt.BlockSize == 0 {
		opt.BlockSize = merkle.DefaultBlockSize
	}
	if err := merkle.CheckBlockSize(opt.BlockSize); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxResident == 0 {
		opt.MaxResident = DefaultMaxResident
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	share := filepath.Base(abs)
	if err := wire.CheckShareName(share); err != nil || abs == string(filepath.Separator) {
		return nil, fmt.Errorf("index: cannot serve %s: its base name %q is not a valid share name", src, share)
	}
	ix := &Index{Share: share, Source: src, BlockSize: opt.BlockSize, exclude: opt.Exclude,
		treeDir: opt.TreeDir, resident: opt.MaxResident}
	w := walker{ix: ix, opt: opt}
	if err := w.walk(abs); err != nil {
		return nil, err
	}
	if err := hashAll(ctx, ix, opt, nil); err != nil {
		return nil, err
	}
	for _, f := range ix.Files {
		ix.Bytes += f.Size()
	}
	ix.sync()
	if err := ix.finishTree(); err != nil {
		return nil, err
	}
	return ix, nil
}

// sync points the walk's entries of files at the entries of the files as hashed (which carry
// the tree tops; a reused file is another File than the walk's), and marks the incomplete
// directories. Both lists are sorted by name: one pass over each.
func (ix *Index) sync() {
	fi := 0
	for i, e := range ix.entries {
		switch e.Type {
		case wire.EntryFile:
			for fi < len(ix.Files) && ix.Files[fi].Entry.Name < e.Name {
				fi++
			}
			if fi < len(ix.Files) && ix.Files[fi].Entry.Name == e.Name {
				ix.entries[i] = &ix.Files[fi].Entry
			}
		case wire.EntryDir:
			e.Incomplete = ix.incomplete[e.Name]
		}
	}
}

// Manifest returns the share's manifest with the given flags and generation.
func (ix *Index) Manifest(carousel bool, pageHeight uint8, generation uint64) *wire.Manifest {
	return &wire.Manifest{
		Carousel:   carousel,
		PageHeight: pageHeight,
		Share:      ix.Share,
		Generation: generation,
		Entries:    ix.Entries(),
	}
}

// Changed reports whether the name of f no longer leads to the regular file that was hashed,
// unchanged: another inode (a file, symlink or FIFO renamed over it), another size,
// modification or change time. The name is looked up below the share's directory without
// following symlinks. A file that cannot be looked up counts as changed, with the error.
func (f *File) Changed() (bool, error) {
	st, err := lstatBeneath(f.root, f.rel)
	if err != nil {
		return true, fmt.Errorf("index: %w", err)
	}
	return !isRegular(uint32(st.Mode)) || identityOf(&st) != f.id, nil
}

// hashAll hashes every file: large ones sequentially with all workers, small ones
// concurrently with one worker each. A file that cannot be read is dropped from the index with
// a warning (the rest of the share is still served); cancellation stops everything.
func hashAll(ctx context.Context, ix *Index, opt Options, reuse map[string]*File) error {
	failed := make([]error, len(ix.Files))
	for i, f := range ix.Files {
		if old := reuse[f.Entry.Name]; old != nil && old.id == f.id && !old.Tree.Broken() &&
			old.Entry.BlockShift == f.Entry.BlockShift && old.Entry.Name == f.Entry.Name {
			// Files are immutable: an unchanged one is shared, not copied (a rescan of
			// 100,000 files held 25 MB of copies beside the old index).
			if old.Entry.Mode == f.Entry.Mode {
				ix.Files[i] = old
				continue
			}
			g := *old
			g.Entry.Mode = f.Entry.Mode
			ix.Files[i] = &g
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				failed[i] = hashFile(ctx, ix.Files[i], 1, opt)
			}
		}()
	}
	for i, f := range ix.Files {
		if f.Tree != nil {
			continue // reused
		}
		if f.Size() >= large {
			failed[i] = hashFile(ctx, f, opt.Workers, opt)
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	ix.drop(failed, opt.Logger)
	return nil
}

// drop removes the files whose hashing failed from Files and the walk's entries, marking the directories
// that held them incomplete.
func (ix *Index) drop(failed []error, log *slog.Logger) {
	gone := map[string]bool{}
	kept := ix.Files[:0]
	for i, f := range ix.Files {
		if failed[i] == nil {
			kept = append(kept, f)
			continue
		}
		gone[f.Entry.Name] = true
		ix.Skipped++
		ix.markIncomplete(parentName(f.Entry.Name))
		if log != nil {
			log.Warn("not serving", "path", f.Path(), "reason", failed[i])
		}
	}
	ix.Files = kept
	if len(gone) == 0 {
		return
	}
	entries := ix.entries[:0]
	for _, e := range ix.entries {
		if !gone[e.Name] {
			entries = append(entries, e)
		}
	}
	ix.entries = entries
}

// Refresh walks the share of old again and returns a new Index, hashing only files that are
// new or whose size or modification time changed. changed reports whether the new index
// differs from old in any entry.
func Refresh(ctx context.Context, old *Index, opt Options) (ix *Index, changed bool, err error) {
	if opt.BlockSize == 0 {
		opt.BlockSize = old.BlockSize
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	abs, err := filepath.Abs(old.Source)
	if err != nil {
		return nil, false, fmt.Errorf("index: %w", err)
	}
	if opt.Exclude == nil {
		opt.Exclude = old.exclude
	}
	opt.inherit(old)
	ix = &Index{Share: old.Share, Source: old.Source, BlockSize: opt.BlockSize, exclude: opt.Exclude,
		treeDir: opt.TreeDir, resident: opt.MaxResident}
	w := walker{ix: ix, opt: opt}
	if err := w.walk(abs); err != nil {
		return nil, false, err
	}
	reuse := make(map[string]*File, len(old.Files))
	for _, f := range old.Files {
		reuse[f.Entry.Name] = f
	}
	if err := hashAll(ctx, ix, opt, reuse); err != nil {
		return nil, false, err
	}
	for _, f := range ix.Files {
		ix.Bytes += f.Size()
	}
	ix.sync()
	if err := ix.finishTree(); err != nil {
		return nil, false, err
	}
	return ix, !sameContent(old, ix), nil
}

// hashFile (re)hashes one file, recording its identity as it was opened, so that a change
// during hashing is caught by the next Changed check. The file is opened below the share's
// directory without following symlinks or blocking, and must be the inode the walk saw: a
// file swapped (for a symlink, a FIFO or another file) since the walk is not hashed.
func hashFile(ctx context.Context, f *File, workers int, opt Options) error {
	fh, st, err := openBeneath(f.root, f.rel)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer fh.Close()
	id := identityOf(&st)
	if id.dev != f.id.dev || id.ino != f.id.ino {
		return fmt.Errorf("index: %w: %s was replaced since the walk", ErrChanged, f.Path())
	}
	bs := f.Entry.BlockSize()
	t, err := buildTree(ctx, fh, id.size, bs, workers, opt)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("index: hashing %s: %w", f.Path(), err)
	}
	f.Tree, f.id = t, id
	f.Entry.Size = id.size
	f.Entry.MTime = id.mtime
	f.Entry.Mode = uint32(st.Mode) & 0o7777
	f.Entry.Top = t.Top()
	return nil
}

// inherit fills in the tree options Refresh and Update keep from the old index.
func (opt *Options) inherit(old *Index) {
	if opt.TreeDir == "" {
		opt.TreeDir = old.treeDir
	}
	if opt.MaxResident == 0 {
		opt.MaxResident = old.resident
	}
	if opt.MaxResident == 0 {
		opt.MaxResident = DefaultMaxResident
	}
}

// buildTree hashes the open file fh. A file of more than opt.MaxResident blocks keeps its leaf
// hashes in an unlinked temporary file in opt.TreeDir, closed once the tree is unreachable;
// if that file cannot be made, the tree is held whole, with a warning.
func buildTree(ctx context.Context, fh *os.File, size int64, bs, workers int, opt Options) (*merkle.Tree, error) {
	s, err := merkle.NewShape(size, bs)
	if err != nil {
		return nil, err
	}
	if opt.MaxResident < 0 || merkle.ResidentLevel(s, opt.MaxResident) == 0 {
		return merkle.Build(ctx, fh, size, bs, workers)
	}
	store, err := leafStore(opt.TreeDir)
	if err != nil {
		if opt.Logger != nil {
			opt.Logger.Warn("holding the whole tree in memory", "path", fh.Name(), "reason", err)
		}
		return merkle.Build(ctx, fh, size, bs, workers)
	}
	t, err := merkle.BuildStored(ctx, fh, size, bs, workers, opt.MaxResident, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	runtime.AddCleanup(t, func(f *os.File) { f.Close() }, store)
	return t, nil
}

// leafStore creates an unlinked temporary file in dir (os.TempDir() if empty): nothing is
// left behind however the process ends.
func leafStore(dir string) (*os.File, error) {
	f, err := merkle.TempStore(dir)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return f, nil
}

func shift(bs int) uint8 {
	var s uint8
	for 1<<s < bs {
		s++
	}
	return s
}
