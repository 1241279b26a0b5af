package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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
}

// File is one regular file of the share. Files are immutable once their Index is built, so a
// refreshed Index may share them with the previous one.
type File struct {
	// Entry is the file's manifest entry.
	Entry wire.Entry
	// Path is the local path the file is read from.
	Path string
	// Tree is the file's merkle tree.
	Tree *merkle.Tree
	// Size and ModTime are what the file looked like when it was hashed.
	Size    int64
	ModTime time.Time
}

// Index is a hashed share. It is immutable once built: Refresh returns a new Index.
type Index struct {
	// Share is the share name, the first component of every name.
	Share string
	// Source is the local path that was indexed.
	Source string
	// Entries lists every entry (files, directories, symlinks), sorted by name.
	Entries []wire.Entry
	// Files lists the regular files, in name order, with their trees.
	Files []*File
	// Skipped counts entries that are not served (devices, fifos, sockets, bad names).
	Skipped int
	// Bytes is the total size of the files.
	Bytes int64
	// BlockSize is the block size files were hashed with.
	BlockSize int

	exclude *exclude.Matcher // the rules it was built with
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
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	share := filepath.Base(abs)
	if err := wire.CheckShareName(share); err != nil || abs == string(filepath.Separator) {
		return nil, fmt.Errorf("index: cannot serve %s: its base name %q is not a valid share name", src, share)
	}
	ix := &Index{Share: share, Source: src, BlockSize: opt.BlockSize, exclude: opt.Exclude}
	w := walker{ix: ix, opt: opt}
	if err := w.walk(abs); err != nil {
		return nil, err
	}
	if err := hashAll(ctx, ix, opt, nil); err != nil {
		return nil, err
	}
	for _, f := range ix.Files {
		ix.Bytes += f.Size
	}
	ix.sync()
	return ix, nil
}

// sync copies the file entries (which carry the tree tops) into Entries.
func (ix *Index) sync() {
	byName := make(map[string]*File, len(ix.Files))
	for _, f := range ix.Files {
		byName[f.Entry.Name] = f
	}
	for i := range ix.Entries {
		if f, ok := byName[ix.Entries[i].Name]; ok {
			ix.Entries[i] = f.Entry
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
		Entries:    append([]wire.Entry(nil), ix.Entries...),
	}
}

// Changed reports whether f's size or modification time differs from when it was hashed.
func (f *File) Changed() (bool, error) {
	st, err := os.Stat(f.Path)
	if err != nil {
		return true, fmt.Errorf("index: %w", err)
	}
	return st.Size() != f.Size || !st.ModTime().Equal(f.ModTime), nil
}

// hashAll hashes every file: large ones sequentially with all workers, small ones
// concurrently with one worker each. A file that cannot be read is dropped from the index with
// a warning (the rest of the share is still served); cancellation stops everything.
func hashAll(ctx context.Context, ix *Index, opt Options, reuse map[string]*File) error {
	failed := make([]error, len(ix.Files))
	for i, f := range ix.Files {
		if old := reuse[f.Path]; old != nil && old.Size == f.Size && old.ModTime.Equal(f.ModTime) &&
			old.Entry.BlockShift == f.Entry.BlockShift && old.Entry.Name == f.Entry.Name {
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
				failed[i] = hashFile(ctx, ix.Files[i], 1)
			}
		}()
	}
	for i, f := range ix.Files {
		if f.Tree != nil {
			continue // reused
		}
		if f.Size >= large {
			failed[i] = hashFile(ctx, f, opt.Workers)
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

// drop removes the files whose hashing failed from Files and Entries.
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
		if log != nil {
			log.Warn("not serving", "path", f.Path, "reason", failed[i])
		}
	}
	ix.Files = kept
	if len(gone) == 0 {
		return
	}
	entries := ix.Entries[:0]
	for _, e := range ix.Entries {
		if !gone[e.Name] {
			entries = append(entries, e)
		}
	}
	ix.Entries = entries
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
	ix = &Index{Share: old.Share, Source: old.Source, BlockSize: opt.BlockSize, exclude: opt.Exclude}
	w := walker{ix: ix, opt: opt}
	if err := w.walk(abs); err != nil {
		return nil, false, err
	}
	reuse := make(map[string]*File, len(old.Files))
	for _, f := range old.Files {
		reuse[f.Path] = f
	}
	if err := hashAll(ctx, ix, opt, reuse); err != nil {
		return nil, false, err
	}
	for _, f := range ix.Files {
		ix.Bytes += f.Size
	}
	ix.sync()
	return ix, !sameEntries(old.Entries, ix.Entries), nil
}

func sameEntries(a, b []wire.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hashFile (re)hashes one file, recording the size and time seen before reading so that a
// change during hashing is caught by the next Changed check.
func hashFile(ctx context.Context, f *File, workers int) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("index: %s is no longer a regular file", f.Path)
	}
	bs := f.Entry.BlockSize()
	t, err := merkle.Build(ctx, fh, st.Size(), bs, workers)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("index: hashing %s: %w", f.Path, err)
	}
	f.Tree, f.Size, f.ModTime = t, st.Size(), st.ModTime()
	f.Entry.Size = st.Size()
	f.Entry.MTime = st.ModTime().UnixNano()
	f.Entry.Mode = unixMode(st.Mode())
	f.Entry.Top = t.Top()
	return nil
}

// walker collects entries; it never follows symlinks below the top.
type walker struct {
	ix  *Index
	opt Options
}

func (w *walker) walk(abs string) error {
	st, err := os.Stat(abs) // the argument itself is followed
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := w.add(abs, w.ix.Share, st); err != nil {
		return err
	}
	if !st.IsDir() {
		return nil
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == abs {
				return fmt.Errorf("index: %w", err)
			}
			w.skip(p, err.Error()) // unreadable directory: serve the rest
			return nil
		}
		if p == abs {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if w.excluded(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := w.ix.Share + "/" + filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if err := w.add(p, name, info); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(w.ix.Entries, func(i, j int) bool { return w.ix.Entries[i].Name < w.ix.Entries[j].Name })
	sort.Slice(w.ix.Files, func(i, j int) bool { return w.ix.Files[i].Entry.Name < w.ix.Files[j].Entry.Name })
	return nil
}

func (w *walker) add(p, name string, info fs.FileInfo) error {
	if err := wire.CheckName(name); err != nil {
		w.skip(p, err.Error())
		if info.IsDir() {
			return filepath.SkipDir
		}
		return nil
	}
	e := wire.Entry{Name: name, Mode: unixMode(info.Mode()), MTime: info.ModTime().UnixNano()}
	switch m := info.Mode(); {
	case m.IsRegular():
		e.Type = wire.EntryFile
		e.BlockShift = shift(w.opt.BlockSize)
		w.ix.Files = append(w.ix.Files, &File{Entry: e, Path: p, Size: info.Size(), ModTime: info.ModTime()})
	case m.IsDir():
		e.Type = wire.EntryDir
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if len(target) == 0 || len(target) > wire.MaxTargetLen || strings.ContainsRune(target, 0) {
			w.skip(p, "symlink target too long")
			return nil
		}
		e.Type, e.Target = wire.EntrySymlink, target
	default:
		w.skip(p, "not a regular file, directory or symlink")
		return nil
	}
	w.ix.Entries = append(w.ix.Entries, e)
	return nil
}

func (w *walker) skip(p, why string) {
	w.ix.Skipped++
	if w.opt.Logger != nil {
		w.opt.Logger.Warn("not serving", "path", p, "reason", why)
	}
}

// unixMode converts Go's FileMode permission, setuid, setgid and sticky bits to 07777 form.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 04000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 02000
	}
	if m&fs.ModeSticky != 0 {
		u |= 01000
	}
	return u
}

func shift(bs int) uint8 {
	var s uint8
	for 1<<s < bs {
		s++
	}
	return s
}
