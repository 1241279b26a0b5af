package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/lcsync/lcsync/pkg/watch"
	"github.com/lcsync/lcsync/pkg/wire"
	"golang.org/x/sys/unix"
)

// tornRetries is how many times Update hashes a file that keeps changing under it before
// leaving it out of this update (its writer's next events bring it back).
const tornRetries = 3

// UpdateResult is what Update produced.
type UpdateResult struct {
	// Index is the new index (old itself when nothing changed).
	Index *Index
	// Changed reports whether any entry differs from old.
	Changed bool
	// Hashed counts the files hashed; Unsettled lists (relative to the share root) those
	// that changed while being hashed every time, and kept their previous entry (or none).
	Hashed    int
	Unsettled []string
}

// Update returns old with the given paths (relative to the share root, as pkg/watch reports
// them) read again: a path that vanished is removed with everything below it, a directory
// reported as a tree is walked whole, a file is hashed again unless only its attributes
// changed (then its tree is kept), and the parent directory of each path is stat'ed again
// for its modification time. Nothing else is looked at, so an update costs the changed
// paths, not the share. A file that changes while it is hashed is hashed again, and never
// enters the index with a tree that mixes two versions. A single-file share, or an empty
// change list, is refreshed as Refresh does.
func Update(ctx context.Context, old *Index, changes []watch.Change, opt Options) (UpdateResult, error) {
	if opt.BlockSize == 0 {
		opt.BlockSize = old.BlockSize
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Exclude == nil {
		opt.Exclude = old.exclude
	}
	abs, err := filepath.Abs(old.Source)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("index: %w", err)
	}
	rootInfo, err := os.Stat(abs)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("index: share root: %w", err)
	}
	if !rootInfo.IsDir() || len(changes) == 0 {
		ix, changed, err := Refresh(ctx, old, opt)
		return UpdateResult{Index: ix, Changed: changed}, err
	}
	u := updater{
		old: old, opt: opt, abs: abs,
		entries: make(map[string]wire.Entry, len(old.Entries)),
		files:   make(map[string]*File, len(old.Files)),
		pre:     map[string]stamp{},
	}
	for _, e := range old.Entries {
		u.entries[e.Name] = e
	}
	for _, f := range old.Files {
		u.files[f.Entry.Name] = f
	}
	u.ix = &Index{Share: old.Share, Source: old.Source, BlockSize: opt.BlockSize, exclude: opt.Exclude, Skipped: old.Skipped}
	for _, c := range plan(changes) {
		if err := u.apply(c); err != nil {
			return UpdateResult{}, err
		}
	}
	return u.finish(ctx)
}

// plan adds each change's parent directory (its mtime changed too, as a metadata change)
// and orders the paths top-down, each once.
func plan(changes []watch.Change) []watch.Change {
	byRel := map[string]watch.Change{}
	merge := func(c watch.Change) {
		if prev, ok := byRel[c.Rel]; ok {
			c.Meta = c.Meta && prev.Meta
			c.Tree = c.Tree || prev.Tree
		}
		byRel[c.Rel] = c
	}
	for _, c := range changes {
		merge(c)
	}
	for _, c := range changes {
		if c.Rel != "" {
			parent := path.Dir(c.Rel)
			if parent == "." {
				parent = ""
			}
			if _, ok := byRel[parent]; !ok {
				byRel[parent] = watch.Change{Rel: parent, Meta: true}
			}
		}
	}
	out := make([]watch.Change, 0, len(byRel))
	for _, c := range byRel {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out
}

// stamp is what a file looked like just before it was hashed.
type stamp struct {
	size, mtime, ctime int64
}

func stampOf(info fs.FileInfo) stamp {
	s := stamp{size: info.Size(), mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		s.ctime = st.Ctim.Nano()
	}
	return s
}

// updater applies changes to a copy of the old index's entries.
type updater struct {
	old     *Index
	opt     Options
	abs     string
	ix      *Index // receives the walker's entries and Skipped count
	entries map[string]wire.Entry
	files   map[string]*File
	pre     map[string]stamp // files to hash, with their stamp before hashing
}

func (u *updater) name(rel string) string {
	if rel == "" {
		return u.old.Share
	}
	return u.old.Share + "/" + rel
}

// remove drops name, and everything below it if it was a directory.
func (u *updater) remove(name string) {
	e, ok := u.entries[name]
	delete(u.entries, name)
	delete(u.files, name)
	delete(u.pre, name)
	if !ok || e.Type != wire.EntryDir {
		return
	}
	prefix := name + "/"
	for n := range u.entries {
		if strings.HasPrefix(n, prefix) {
			delete(u.entries, n)
			delete(u.files, n)
			delete(u.pre, n)
		}
	}
}

// apply re-reads one path.
func (u *updater) apply(c watch.Change) error {
	name := u.name(c.Rel)
	p := filepath.Join(u.abs, filepath.FromSlash(c.Rel))
	var info fs.FileInfo
	var err error
	if c.Rel == "" {
		info, err = os.Stat(p)
	} else {
		info, err = os.Lstat(p)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			u.remove(name)
			return nil
		}
		return fmt.Errorf("index: %w", err)
	}
	if c.Rel != "" && u.opt.Exclude.Excluded(c.Rel, info.IsDir()) {
		u.remove(name)
		return nil
	}
	if c.Rel != "" {
		if _, parentKnown := u.entries[path.Dir(name)]; !parentKnown {
			return nil // below a directory that is not indexed (excluded, vanished, bad name)
		}
	}
	prev, had := u.entries[name]
	if info.IsDir() {
		if c.Tree || !had || prev.Type != wire.EntryDir {
			u.remove(name)
			return u.walkTree(p, name, c.Rel, info)
		}
		return u.add(p, name, info)
	}
	if had && prev.Type == wire.EntryDir {
		u.remove(name)
	}
	if err := u.add(p, name, info); err != nil {
		return err
	}
	f := u.files[name]
	if f == nil {
		return nil
	}
	if oldF := u.oldFile(name); oldF != nil && c.Meta && oldF.Size == f.Size && oldF.Entry.BlockShift == f.Entry.BlockShift {
		// Attributes only: keep the tree, take the new mode and times.
		g := *oldF
		g.Entry.Mode, g.Entry.MTime, g.ModTime = f.Entry.Mode, f.Entry.MTime, f.ModTime
		g.Entry.Size = f.Size
		u.files[name] = &g
		delete(u.pre, name)
		return nil
	}
	u.pre[name] = stampOf(info)
	return nil
}

func (u *updater) oldFile(name string) *File {
	i := sort.Search(len(u.old.Files), func(i int) bool { return u.old.Files[i].Entry.Name >= name })
	if i < len(u.old.Files) && u.old.Files[i].Entry.Name == name {
		return u.old.Files[i]
	}
	return nil
}

// add records one entry through the walker (which applies the name and type rules); info is
// only a hint: the entry is looked at again with lstat, as the walk does.
func (u *updater) add(p, name string, _ fs.FileInfo) error {
	w := walker{ix: u.ix, opt: u.opt, root: u.abs}
	u.ix.Entries, u.ix.Files = u.ix.Entries[:0], u.ix.Files[:0]
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil // vanished meanwhile: its parent's next event says so
	}
	w.add(-1, p, u.rel(p), name, &st)
	u.take()
	return nil
}

// rel returns p relative to the share root, '/'-separated.
func (u *updater) rel(p string) string {
	r, err := filepath.Rel(u.abs, p)
	if err != nil || r == "." {
		return ""
	}
	return filepath.ToSlash(r)
}

// take moves what the walker collected into the maps; new files are to be hashed.
func (u *updater) take() {
	for _, e := range u.ix.Entries {
		u.entries[e.Name] = e
	}
	for _, f := range u.ix.Files {
		u.files[f.Entry.Name] = f
		if _, ok := u.pre[f.Entry.Name]; !ok {
			u.pre[f.Entry.Name] = stamp{size: f.Size, mtime: f.ModTime.UnixNano(), ctime: -1}
		}
	}
	u.ix.Entries, u.ix.Files = u.ix.Entries[:0], u.ix.Files[:0]
}

// walkTree indexes directory p (named name, at rel) and everything below it, as the walk
// does: opened without following a symlink and checked to be the directory it stat'ed.
func (u *updater) walkTree(p, name, rel string, _ fs.FileInfo) error {
	w := walker{ix: u.ix, opt: u.opt, root: u.abs}
	u.ix.Entries, u.ix.Files = u.ix.Entries[:0], u.ix.Files[:0]
	defer u.take()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil // vanished or replaced meanwhile: the next event says so
	}
	if !w.add(-1, p, rel, name, &st) {
		return nil
	}
	fd, err := unix.Open(p, openDir, 0)
	if err != nil {
		w.unreadable(p, name, "cannot open directory: "+err.Error())
		return nil
	}
	var cst unix.Stat_t
	if err := unix.Fstat(fd, &cst); err != nil || cst.Dev != st.Dev || cst.Ino != st.Ino {
		unix.Close(fd)
		return nil // replaced meanwhile: the next event says so
	}
	return w.dir(fd, p, rel, name, false)
}

// finish hashes the files that need it, checks none changed while being hashed, and
// assembles the new index.
func (u *updater) finish(ctx context.Context) (UpdateResult, error) {
	var res UpdateResult
	for attempt := 0; len(u.pre) > 0; attempt++ {
		batch := &Index{Share: u.old.Share, BlockSize: u.opt.BlockSize}
		for name := range u.pre {
			f := *u.files[name]
			f.Tree = nil
			batch.Files = append(batch.Files, &f)
		}
		sort.Slice(batch.Files, func(i, j int) bool { return batch.Files[i].Entry.Name < batch.Files[j].Entry.Name })
		if err := hashAll(ctx, batch, u.opt, nil); err != nil {
			return UpdateResult{}, err
		}
		res.Hashed += len(batch.Files)
		u.ix.Skipped += batch.Skipped
		hashed := map[string]bool{}
		for _, f := range batch.Files {
			hashed[f.Entry.Name] = true
		}
		torn := map[string]stamp{}
		for name := range u.pre {
			if !hashed[name] {
				u.remove(name) // unreadable: hashAll warned
			}
		}
		for _, f := range batch.Files {
			before := u.pre[f.Entry.Name]
			now, err := os.Lstat(f.Path)
			if err != nil {
				torn[f.Entry.Name] = stamp{ctime: -1} // vanished: its deletion event follows
				continue
			}
			after := stampOf(now)
			if after.size != f.Size || after.mtime != f.ModTime.UnixNano() || (before.ctime >= 0 && after.ctime != before.ctime) ||
				before.size != f.Size || before.mtime != f.ModTime.UnixNano() {
				torn[f.Entry.Name] = after
				continue
			}
			u.files[f.Entry.Name] = f
			u.entries[f.Entry.Name] = f.Entry
		}
		u.pre = torn
		if len(torn) > 0 && attempt+1 >= tornRetries {
			for name := range torn {
				rel := strings.TrimPrefix(strings.TrimPrefix(name, u.old.Share), "/")
				res.Unsettled = append(res.Unsettled, rel)
				u.remove(name)
				if f := u.oldFile(name); f != nil {
					u.files[name], u.entries[name] = f, f.Entry
				}
			}
			sort.Strings(res.Unsettled)
			break
		}
	}
	ix := u.ix
	ix.Entries = make([]wire.Entry, 0, len(u.entries))
	for _, e := range u.entries {
		ix.Entries = append(ix.Entries, e)
	}
	sort.Slice(ix.Entries, func(i, j int) bool { return ix.Entries[i].Name < ix.Entries[j].Name })
	ix.Files = make([]*File, 0, len(u.files))
	for _, f := range u.files {
		ix.Files = append(ix.Files, f)
		ix.Bytes += f.Size
	}
	sort.Slice(ix.Files, func(i, j int) bool { return ix.Files[i].Entry.Name < ix.Files[j].Entry.Name })
	ix.sync()
	res.Changed = !sameEntries(u.old.Entries, ix.Entries)
	res.Index = ix
	if !res.Changed {
		res.Index = u.old
	}
	return res, nil
}
