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
	"time"

	"github.com/lcsync/lcsync/pkg/watch"
	"github.com/lcsync/lcsync/pkg/wire"
	"golang.org/x/sys/unix"
)

// bulkChanges is the number of changes from which (and from an eighth of the share) Update
// walks the whole share as Refresh does: the overlay's lookups grow with the changes.
const bulkChanges = 4096

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
	// Moved counts the files that kept the tree of the name they were renamed from, unhashed.
	Moved int
}

// Update returns old with the given paths (relative to the share root, as pkg/watch reports
// them) read again: a path that vanished is removed with everything below it, a directory
// reported as a tree is walked whole, a file is hashed again unless only its attributes
// changed (then its tree is kept), and the parent directory of each path is stat'ed again
// for its modification time. Nothing else is looked at, so an update costs the changed
// paths, not the share. A file that changes while it is hashed is hashed again, and never
// enters the index with a tree that mixes two versions. A single-file share, an empty
// change list or a very long one (more than 4,096 changes and an eighth of the files) is
// refreshed as Refresh does.
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
	opt.inherit(old)
	abs, err := filepath.Abs(old.Source)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("index: %w", err)
	}
	rootInfo, err := os.Stat(abs)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("index: share root: %w", err)
	}
	if !rootInfo.IsDir() || len(changes) == 0 || len(changes) > max(bulkChanges, len(old.Files)/8) {
		// A single file, or so many changes that one walk of the share is cheaper.
		ix, changed, err := Refresh(ctx, old, opt)
		return UpdateResult{Index: ix, Changed: changed}, err
	}
	u := updater{
		old: old, opt: opt, abs: abs,
		ups:     map[string]upsert{},
		removed: map[string]bool{},
		pre:     map[string]stamp{},
		cache:   objectCache{},
	}
	u.ix = &Index{Share: old.Share, Source: old.Source, BlockSize: opt.BlockSize, exclude: opt.Exclude, Skipped: old.Skipped,
		treeDir: opt.TreeDir, resident: opt.MaxResident}
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

// stamp is what a file looked like just before it was hashed, and when it was looked at.
type stamp struct {
	size, mtime, ctime int64
	at                 int64 // Unix ns
}

// racyWindow is how recent a file's mtime may be, when its stamp is taken, for the stamp to
// prove nothing: file systems keep times at the kernel's tick (1-10 ms), so a write in the
// same tick as the one before the stamp leaves mtime and ctime as they were. Such a file is
// hashed again instead of trusted (git's "racily clean" entries).
const racyWindow = int64(20 * time.Millisecond)

// racy reports whether the stamp cannot tell a later write from none.
func (s stamp) racy() bool {
	return s.at-s.mtime < racyWindow || s.at-s.ctime < racyWindow && s.ctime >= 0
}

// settleStamps waits until no stamp to be hashed is racy any more (at most racyWindow, and
// only when a file was written that recently), then takes the stamps again.
func (u *updater) settleStamps() {
	var wait int64
	for _, st := range u.pre {
		if st.racy() {
			wait = max(wait, racyWindow-(st.at-max(st.mtime, st.ctime)))
		}
	}
	if wait <= 0 {
		return
	}
	time.Sleep(time.Duration(min(wait, racyWindow)))
	for name, st := range u.pre {
		f := u.file(name)
		if f == nil {
			continue
		}
		if info, err := os.Lstat(f.Path()); err == nil {
			ns := stampOf(info)
			if st.ctime < 0 {
				ns.ctime = -1
			}
			u.pre[name] = ns
		}
	}
}

func stampOf(info fs.FileInfo) stamp {
	s := stamp{size: info.Size(), mtime: info.ModTime().UnixNano(), at: time.Now().UnixNano()}
	if ctime, ok := ctimeOf(info); ok {
		s.ctime = ctime
	}
	return s
}

// updater applies changes to an overlay on the old index: upserted and removed names on top
// of the old index, which is looked up (its tree objects, its sorted files) but never copied
// entry by entry: an update costs the changed paths, the pages of the directory objects
// they are in, and one copy of the file list.
type updater struct {
	old     *Index
	opt     Options
	abs     string
	ix      *Index            // receives the walker's entries and Skipped count
	ups     map[string]upsert // names added, changed or removed
	removed map[string]bool   // directories removed whole (maybe walked again since): nothing below them is old
	dirs    []string          // the same, in the order removed
	pre     map[string]stamp  // files to hash, with their stamp before hashing
	cache   objectCache       // old objects decoded for lookups
}

// upsert is a name's new state: an entry (and its file, for a regular file), or removed.
type upsert struct {
	e       wire.Entry
	f       *File
	removed bool
}

// span is a half-open range of indexes into old.Files.
type span struct{ lo, hi int }

func (u *updater) name(rel string) string {
	if rel == "" {
		return u.old.Share
	}
	return u.old.Share + "/" + rel
}

// underRemoved reports whether name is below a directory removed whole.
func (u *updater) underRemoved(name string) bool {
	if len(u.removed) == 0 {
		return false
	}
	for d := parentName(name); d != ""; d = parentName(d) {
		if u.removed[d] {
			return true
		}
	}
	return false
}

// oldEntry returns the old index's entry called name: the share's own, a file's from the
// sorted files, anything else from its directory's object (one page of a large one).
func (u *updater) oldEntry(name string) (wire.Entry, bool) {
	if name == u.old.Share {
		return u.old.root, u.old.root.Name != ""
	}
	if f := u.oldFile(name); f != nil {
		return f.Entry, true
	}
	n := u.old.tree
	rest := name[len(u.old.Share)+1:]
	for n != nil {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			oe, ok := n.lookup(rest, u.cache)
			if !ok {
				return wire.Entry{}, false
			}
			e := oe.Entry
			e.Name = name
			return e, true
		}
		n, rest = n.children[rest[:i]], rest[i+1:]
	}
	return wire.Entry{}, false
}

// lookup returns name's current entry.
func (u *updater) lookup(name string) (wire.Entry, bool) {
	if up, ok := u.ups[name]; ok {
		return up.e, !up.removed
	}
	if u.underRemoved(name) {
		return wire.Entry{}, false
	}
	return u.oldEntry(name)
}

// remove drops name, and everything below it if it was a directory.
func (u *updater) remove(name string) {
	e, ok := u.lookup(name)
	u.ups[name] = upsert{removed: true}
	delete(u.pre, name)
	if !ok || e.Type != wire.EntryDir {
		return
	}
	if !u.removed[name] {
		u.removed[name] = true
		u.dirs = append(u.dirs, name)
	}
	prefix := name + "/"
	for n := range u.ups {
		if strings.HasPrefix(n, prefix) {
			delete(u.ups, n)
			delete(u.pre, n)
		}
	}
}

// set records name's new entry (and file).
func (u *updater) set(e wire.Entry, f *File) { u.ups[e.Name] = upsert{e: e, f: f} }

// file returns name's current file, if it is a regular file.
func (u *updater) file(name string) *File {
	if up, ok := u.ups[name]; ok {
		return up.f
	}
	if u.underRemoved(name) {
		return nil
	}
	return u.oldFile(name)
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
		if _, parentKnown := u.lookup(path.Dir(name)); !parentKnown {
			return nil // below a directory that is not indexed (excluded, vanished, bad name)
		}
	}
	prev, had := u.lookup(name)
	if info.IsDir() {
		if c.Tree || !had || prev.Type != wire.EntryDir {
			u.remove(name)
			return u.walkTree(p, name, info)
		}
		return u.add(p, name, info)
	}
	if had && prev.Type == wire.EntryDir {
		u.remove(name)
	}
	if err := u.add(p, name, info); err != nil {
		return err
	}
	f := u.file(name)
	if f == nil {
		return nil
	}
	if oldF := u.oldFile(name); oldF != nil && c.Meta && oldF.Size() == f.Size() && oldF.Entry.BlockShift == f.Entry.BlockShift {
		// Attributes only: keep the tree, take the new mode and times.
		g := *oldF
		g.Entry.Mode, g.Entry.MTime = f.Entry.Mode, f.Entry.MTime
		g.Entry.Size = f.Size()
		g.id = f.id // a chmod changes the ctime: opens compare against the new identity
		u.set(g.Entry, &g)
		delete(u.pre, name)
		return nil
	}
	u.pre[name] = stampOf(info)
	return nil
}

// oldFile returns name's file in the old index, if it was a regular file.
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
	u.ix.entries, u.ix.Files = u.ix.entries[:0], u.ix.Files[:0]
	var st unix.Stat_t
	stat := unix.Lstat
	if p == u.abs {
		stat = unix.Stat // the share itself is followed, as the walk does
	}
	if err := stat(p, &st); err != nil {
		return nil // vanished meanwhile: its parent's next event says so
	}
	w.add(-1, p, name, &st)
	u.take()
	return nil
}

// take moves what the walker collected into the overlay; new files are to be hashed.
func (u *updater) take() {
	for _, e := range u.ix.entries {
		u.set(*e, nil)
	}
	for _, f := range u.ix.Files {
		u.set(f.Entry, f)
		if _, ok := u.pre[f.Entry.Name]; !ok {
			u.pre[f.Entry.Name] = stamp{size: f.Size(), mtime: f.id.mtime, ctime: -1, at: time.Now().UnixNano()}
		}
	}
	u.ix.entries, u.ix.Files = u.ix.entries[:0], u.ix.Files[:0]
}

// walkTree indexes directory p (named name) and everything below it, as the walk
// does: opened without following a symlink and checked to be the directory it stat'ed.
func (u *updater) walkTree(p, name string, _ fs.FileInfo) error {
	w := walker{ix: u.ix, opt: u.opt, root: u.abs}
	u.ix.entries, u.ix.Files = u.ix.entries[:0], u.ix.Files[:0]
	defer u.take()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil // vanished or replaced meanwhile: the next event says so
	}
	if !w.add(-1, p, name, &st) {
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
	return w.dir(fd, p, name, false)
}

// finish hashes the files that need it, checks none changed while being hashed, and
// assembles the new index.
func (u *updater) finish(ctx context.Context) (UpdateResult, error) {
	var res UpdateResult
	for attempt := 0; len(u.pre) > 0; attempt++ {
		u.settleStamps()
		if attempt == 0 {
			res.Moved = u.reuseMoved()
		}
		batch := &Index{Share: u.old.Share, BlockSize: u.opt.BlockSize}
		for name := range u.pre {
			f := *u.ups[name].f
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
			now, err := os.Lstat(f.Path())
			if err != nil {
				torn[f.Entry.Name] = stamp{ctime: -1} // vanished: its deletion event follows
				continue
			}
			after := stampOf(now)
			if after.size != f.Size() || after.mtime != f.id.mtime || (before.ctime >= 0 && after.ctime != before.ctime) ||
				before.size != f.Size() || before.mtime != f.id.mtime || before.racy() {
				torn[f.Entry.Name] = after
				continue
			}
			u.set(f.Entry, f)
		}
		u.pre = torn
		if len(torn) > 0 && attempt+1 >= tornRetries {
			for name := range torn {
				rel := strings.TrimPrefix(strings.TrimPrefix(name, u.old.Share), "/")
				res.Unsettled = append(res.Unsettled, rel)
				u.remove(name)
				if !u.underRemoved(name) {
					if f := u.oldFile(name); f != nil {
						u.set(f.Entry, f)
					}
				}
			}
			sort.Strings(res.Unsettled)
			break
		}
	}
	ix := u.ix
	ix.Files, ix.Bytes = u.files()
	names := make([]string, 0, len(u.ups))
	for name := range u.ups {
		names = append(names, name)
	}
	ix.root, _ = u.lookup(u.old.Share)
	var err error
	if ix.tree, err = updateTree(u.old.tree, u.old.Share, u.lookup, names, u.dirs); err != nil {
		return UpdateResult{}, err
	}
	res.Changed = !sameContent(u.old, ix)
	res.Index = ix // even unchanged: its files' identities (a chmod's ctime) may be newer
	return res, nil
}

// files returns the new index's files and their total size: the old files, less those
// removed or replaced, with the new ones in name order. Runs of old files are copied whole;
// only the changed names are looked at.
func (u *updater) files() ([]*File, int64) {
	old := u.old.Files
	var drops []span
	var adds []*File
	for name, up := range u.ups {
		if i := u.fileIndex(name); i >= 0 {
			drops = append(drops, span{i, i + 1})
		}
		if !up.removed && up.f != nil {
			adds = append(adds, up.f)
		}
	}
	for d := range u.removed {
		lo := sort.Search(len(old), func(i int) bool { return old[i].Entry.Name >= d+"/" })
		hi := lo + sort.Search(len(old)-lo, func(i int) bool { return !strings.HasPrefix(old[lo+i].Entry.Name, d+"/") })
		if hi > lo {
			drops = append(drops, span{lo, hi})
		}
	}
	sort.Slice(drops, func(i, j int) bool { return drops[i].lo < drops[j].lo })
	sort.Slice(adds, func(i, j int) bool { return adds[i].Entry.Name < adds[j].Entry.Name })
	pos := make([]int, len(adds)) // where each new file goes among the old ones
	for k, f := range adds {
		pos[k] = sort.Search(len(old), func(i int) bool { return old[i].Entry.Name >= f.Entry.Name })
	}
	bytes := u.old.Bytes
	out := make([]*File, 0, len(old)+len(adds))
	i, k, d := 0, 0, 0
	for {
		for k < len(adds) && pos[k] <= i {
			out = append(out, adds[k])
			bytes += adds[k].Size()
			k++
		}
		if d < len(drops) && drops[d].lo <= i {
			for j := max(i, drops[d].lo); j < drops[d].hi; j++ {
				bytes -= old[j].Size()
			}
			i = max(i, drops[d].hi)
			d++
			continue
		}
		if i >= len(old) {
			return out, bytes
		}
		stop := len(old)
		if k < len(adds) {
			stop = min(stop, pos[k])
		}
		if d < len(drops) {
			stop = min(stop, drops[d].lo)
		}
		out = append(out, old[i:stop]...)
		i = stop
	}
}

// fileIndex returns the index of the file called name in the old index, or -1.
func (u *updater) fileIndex(name string) int {
	fs := u.old.Files
	i := sort.Search(len(fs), func(i int) bool { return fs[i].Entry.Name >= name })
	if i < len(fs) && fs[i].Entry.Name == name {
		return i
	}
	return -1
}
