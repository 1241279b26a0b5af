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
}

// Update returns old with the given paths (relative to the share root, as pkg/watch reports
// them) read again: a path that vanished is removed with everything below it, a directory
// reported as a tree is walked whole, a file is hashed again unless only its attributes
// changed (then its tree is kept), and the parent directory of each path is stat'ed again
// for its modification time. Nothing else is looked at, so an update costs the changed
// paths, not the share. A file that changes while it is hashed is hashed again, and never
// enters the index with a tree that mixes two versions. A single-file share, an empty
// change list or a very long one (more than 4,096 changes and an eighth of the entries) is
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
	if !rootInfo.IsDir() || len(changes) == 0 || len(changes) > max(bulkChanges, len(old.Entries)/8) {
		// A single file, or so many changes that one walk of the share is cheaper.
		ix, changed, err := Refresh(ctx, old, opt)
		return UpdateResult{Index: ix, Changed: changed}, err
	}
	u := updater{
		old: old, opt: opt, abs: abs,
		ups: map[string]upsert{},
		pre: map[string]stamp{},
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
// of the old sorted entries, merged in one pass at the end, so that an update costs the
// changed paths and one linear merge, not a map and a sort of the whole share.
type updater struct {
	old  *Index
	opt  Options
	abs  string
	ix   *Index            // receives the walker's entries and Skipped count
	ups  map[string]upsert // names added, changed or removed
	gone []span            // ranges of old.Entries removed (whole subtrees)
	dirs []string          // directories removed (maybe walked again since): their objects start afresh
	pre  map[string]stamp  // files to hash, with their stamp before hashing
}

// upsert is a name's new state: an entry (and its file, for a regular file), or removed.
type upsert struct {
	e       wire.Entry
	f       *File
	removed bool
}

// span is a half-open range of indexes into old.Entries.
type span struct{ lo, hi int }

func (u *updater) name(rel string) string {
	if rel == "" {
		return u.old.Share
	}
	return u.old.Share + "/" + rel
}

// search returns the index of name in old.Entries, or -1.
func (u *updater) search(name string) int {
	es := u.old.Entries
	i := sort.Search(len(es), func(i int) bool { return es[i].Name >= name })
	if i < len(es) && es[i].Name == name {
		return i
	}
	return -1
}

// prefixSpan returns the range of old.Entries whose names start with prefix (contiguous,
// as they are sorted).
func (u *updater) prefixSpan(prefix string) span {
	es := u.old.Entries
	lo := sort.Search(len(es), func(i int) bool { return es[i].Name >= prefix })
	hi := lo + sort.Search(len(es)-lo, func(i int) bool { return !strings.HasPrefix(es[lo+i].Name, prefix) })
	return span{lo, hi}
}

func (u *updater) removedOld(i int) bool {
	for _, g := range u.gone {
		if i >= g.lo && i < g.hi {
			return true
		}
	}
	return false
}

// lookup returns name's current entry.
func (u *updater) lookup(name string) (wire.Entry, bool) {
	if up, ok := u.ups[name]; ok {
		return up.e, !up.removed
	}
	if i := u.search(name); i >= 0 && !u.removedOld(i) {
		return u.old.Entries[i], true
	}
	return wire.Entry{}, false
}

// remove drops name, and everything below it if it was a directory.
func (u *updater) remove(name string) {
	e, ok := u.lookup(name)
	u.ups[name] = upsert{removed: true}
	delete(u.pre, name)
	if !ok || e.Type != wire.EntryDir {
		return
	}
	u.dirs = append(u.dirs, name)
	prefix := name + "/"
	if sp := u.prefixSpan(prefix); sp.hi > sp.lo {
		u.gone = append(u.gone, sp)
	}
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
	if i := u.search(name); i >= 0 && !u.removedOld(i) {
		return u.oldFile(name)
	}
	return nil
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
	for _, e := range u.ix.Entries {
		u.set(e, nil)
	}
	for _, f := range u.ix.Files {
		u.set(f.Entry, f)
		if _, ok := u.pre[f.Entry.Name]; !ok {
			u.pre[f.Entry.Name] = stamp{size: f.Size(), mtime: f.id.mtime, ctime: -1, at: time.Now().UnixNano()}
		}
	}
	u.ix.Entries, u.ix.Files = u.ix.Entries[:0], u.ix.Files[:0]
}

// walkTree indexes directory p (named name) and everything below it, as the walk
// does: opened without following a symlink and checked to be the directory it stat'ed.
func (u *updater) walkTree(p, name string, _ fs.FileInfo) error {
	w := walker{ix: u.ix, opt: u.opt, root: u.abs}
	u.ix.Entries, u.ix.Files = u.ix.Entries[:0], u.ix.Files[:0]
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
				if i := u.search(name); i >= 0 && !u.removedOld(i) {
					if f := u.oldFile(name); f != nil {
						u.set(f.Entry, f)
					}
				}
			}
			sort.Strings(res.Unsettled)
			break
		}
	}
	ix, changed := u.merge()
	names := make([]string, 0, len(u.ups))
	for name := range u.ups {
		names = append(names, name)
	}
	var err error
	if ix.tree, err = updateTree(u.old.tree, u.old.Share, ix.Entries, names, u.dirs); err != nil {
		return UpdateResult{}, err
	}
	res.Changed = changed
	res.Index = ix // even unchanged: its files' identities (a chmod's ctime) may be newer
	return res, nil
}

// merge builds the new index: the old entries not removed nor overridden, and the upserts,
// in name order, in one pass over each.
func (u *updater) merge() (*Index, bool) {
	ix := u.ix
	ups := make([]upsert, 0, len(u.ups))
	changed := false
	for name, up := range u.ups {
		i := u.search(name)
		had := i >= 0 && !u.removedOld(i)
		switch {
		case up.removed:
			changed = changed || had
			continue
		case !had || u.old.Entries[i] != up.e:
			changed = true
		}
		ups = append(ups, up)
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].e.Name < ups[j].e.Name })
	sort.Slice(u.gone, func(i, j int) bool { return u.gone[i].lo < u.gone[j].lo })
	if len(u.gone) > 0 {
		changed = true
	}
	ix.Entries = make([]wire.Entry, 0, len(u.old.Entries)+len(ups))
	ix.Files = make([]*File, 0, len(u.old.Files)+len(ups))
	of := u.old.Files
	g, k := 0, 0
	for i, e := range u.old.Entries {
		for g < len(u.gone) && u.gone[g].hi <= i {
			g++
		}
		for k < len(ups) && ups[k].e.Name < e.Name {
			ix.appendEntry(ups[k])
			k++
		}
		if g < len(u.gone) && i >= u.gone[g].lo {
			continue // in a removed subtree
		}
		if _, overridden := u.ups[e.Name]; overridden {
			continue // its upsert is added in order, or it was removed
		}
		var f *File
		if e.Type == wire.EntryFile {
			for len(of) > 0 && of[0].Entry.Name < e.Name {
				of = of[1:]
			}
			if len(of) > 0 && of[0].Entry.Name == e.Name {
				f = of[0]
			}
		}
		ix.appendEntry(upsert{e: e, f: f})
	}
	for ; k < len(ups); k++ {
		ix.appendEntry(ups[k])
	}
	return ix, changed
}

// appendEntry appends an entry (and its file) to a merged index.
func (ix *Index) appendEntry(up upsert) {
	ix.Entries = append(ix.Entries, up.e)
	if up.f != nil {
		ix.Files = append(ix.Files, up.f)
		ix.Bytes += up.f.Size()
	}
}
