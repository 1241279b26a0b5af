package receiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/wire"
)

// placed is a selected manifest entry and where it goes, relative to the destination root.
type placed struct {
	e   wire.Entry
	rel string // "." for the root itself
}

// layout maps the requested name onto the destination, with rsync's trailing-slash rule:
// "dir/" puts the directory's contents into DST, "dir" puts the directory itself into DST
// when DST is an existing directory (else DST becomes it); a file goes into DST when DST is a
// directory or ends in "/", else it becomes DST.
type layout struct {
	rootDir string   // local directory all writes are confined to
	items   []placed // in manifest order (parents before children)
	isDir   bool     // the requested name is a directory
	hidden  []string // the names of the entries Config.Exclude or Config.Changed leave out, in manifest order
	inPlace []string // where the entries Config.Changed leaves out are, relative to rootDir
}

func newLayout(cfg Config, m *wire.Manifest) (*layout, error) {
	name := strings.TrimSuffix(cfg.Name, "/")
	contents := strings.HasSuffix(cfg.Name, "/")
	sel := m.Under(name)
	if len(sel) == 0 {
		return nil, fmt.Errorf("%w: %s is not in share %s (%d entries)", ErrNotFound, name, m.Share, len(m.Entries))
	}
	top, ok := m.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no entry of its own in share %s", ErrNotFound, name, m.Share)
	}
	dest := cfg.Dest
	st, err := os.Stat(dest)
	destDir := err == nil && st.IsDir()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	l := &layout{isDir: top.Type == wire.EntryDir}
	var base string // what `name` itself becomes, relative to rootDir
	switch {
	case top.Type == wire.EntryDir && (contents || !destDir):
		l.rootDir, base = dest, "."
	case top.Type == wire.EntryDir:
		l.rootDir, base = dest, path.Base(name)
	case contents:
		return nil, fmt.Errorf("receiver: %s/ names a directory, but %s is a %s", name, name, top.Type)
	case destDir || strings.HasSuffix(dest, "/"):
		l.rootDir, base = dest, path.Base(name)
	default:
		l.rootDir, base = filepath.Dir(dest), filepath.Base(dest)
	}
	for _, e := range sel {
		rel := base
		if e.Name != name {
			rel = path.Join(base, strings.TrimPrefix(e.Name, name+"/"))
			if cfg.Exclude.Excluded(rel, e.Type == wire.EntryDir) {
				l.hidden = append(l.hidden, e.Name)
				continue
			}
			if cfg.Changed != nil && !cfg.Changed(e.Name) {
				l.hidden = append(l.hidden, e.Name) // no directory stream would carry only what changed
				l.inPlace = append(l.inPlace, rel)
				continue
			}
		}
		l.items = append(l.items, placed{e: e, rel: rel})
	}
	return l, nil
}

// ObjectPrune returns which directories below the name cfg asks for the walk of a version 2
// manifest's objects may leave unwalked (wire.TreeManifest.FlattenPruned): those cfg.Exclude
// excludes, by the path newLayout gives them in the destination. An excluded directory
// excludes everything below it whatever later rules say (pkg/exclude), so newLayout would
// leave out all that the walk skips: pruning changes which objects are fetched, not what is.
// Nil without rules.
func ObjectPrune(cfg Config) func(name string) bool {
	if cfg.Exclude.Len() == 0 {
		return nil
	}
	name := strings.TrimSuffix(cfg.Name, "/")
	base := "." // what name becomes: a directory, since something is below it (see newLayout)
	if !strings.HasSuffix(cfg.Name, "/") {
		if st, err := os.Stat(cfg.Dest); err == nil && st.IsDir() {
			base = path.Base(name)
		}
	}
	excl := cfg.Exclude
	return func(dir string) bool {
		return excl.Excluded(path.Join(base, strings.TrimPrefix(dir, name+"/")), true)
	}
}

// hides reports whether an entry below directory dir is excluded from the fetch.
func (l *layout) hides(dir string) bool {
	i := sort.SearchStrings(l.hidden, dir+"/")
	return i < len(l.hidden) && strings.HasPrefix(l.hidden[i], dir+"/")
}

// localTree hashes the existing local file at rel (through root) if it is a regular file with
// data, for comparison, with tb. Any problem just means "no usable local copy".
func localTree(ctx context.Context, root *os.Root, rel string, bs int, tb treeBuilder) (*merkle.Tree, error) {
	if root == nil {
		return nil, nil
	}
	fi, err := root.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil, nil
	}
	fh, err := root.Open(rel)
	if err != nil {
		return nil, nil
	}
	defer fh.Close()
	t, err := tb.build(ctx, fh, fi.Size(), bs)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil
	}
	return t, nil
}

// plan is the destination side of a fetch: the root all writes go through, the files in
// manifest order, and the directories and symlinks to make.
type plan struct {
	l        *layout
	root     *os.Root     // nil in a dry run whose destination does not exist
	dc       *destfs.Dirs // root's directories, kept open; nil with root
	files    []*fileState
	next     int // next file to start
	inflight int // started, not finished
	dirs     []placed
	links    []placed
	umask    uint32
	streamed []*fileState // files fetched through a directory stream, started together
	pending  int          // streamed files not finished
	state    int64        // per-block state of the files started and not finished (stateBytes)
	// youngTemps lists the directories where sweep left temporary files too recent to take,
	// resweepAt when a second sweep can tell whether they are stale (see resweep).
	youngTemps []string
	resweepAt  time.Time
}

// maxInflight bounds the files being fetched at once (open temporary files, queued channels).
const maxInflight = 64

// newPlan opens (creating, unless dry) the destination root, makes the directories and lists
// the files, directories and symlinks.
func newPlan(s *session, l *layout) (*plan, error) {
	p := &plan{l: l, umask: destfs.Umask()}
	if !s.cfg.DryRun {
		if err := os.MkdirAll(l.rootDir, 0o755); err != nil {
			return nil, fmt.Errorf("receiver: creating %s: %w", l.rootDir, err)
		}
	}
	root, err := os.OpenRoot(l.rootDir)
	switch {
	case err == nil:
		p.root, p.dc = root, destfs.NewDirs(root)
		s.root, s.dc = root, p.dc
	case s.cfg.DryRun && errors.Is(err, fs.ErrNotExist):
	default:
		return nil, fmt.Errorf("receiver: %w", err)
	}
	for _, it := range l.items {
		switch it.e.Type {
		case wire.EntryDir:
			p.dirs = append(p.dirs, it)
			if err := p.mkdir(s, it); err != nil {
				return nil, err
			}
		case wire.EntrySymlink:
			p.links = append(p.links, it)
		case wire.EntryFile:
			shape, err := shapeOf(it.e)
			if err != nil {
				return nil, fmt.Errorf("receiver: %s: %w", it.e.Name, err)
			}
			if need := stateBytes(shape, s.cfg.StoredLeaves); need > s.cfg.stateBudget() {
				// A forged entry (2^32 blocks, say) or a file too large for this receiver's
				// memory bound: refused before anything is allocated (review H5). With its
				// leaf hashes in a temporary file, a block costs a byte of bits.
				return nil, fmt.Errorf("%w: %s has %d blocks, whose hashes and bookkeeping need %s, more than half the --max-memory of %s",
					ErrVerify, it.e.Name, shape.Blocks(), sizeString(need), sizeString(s.cfg.MaxMemory))
			}
			f := describeFile(it.e, shape, it.rel)
			f.dry = s.cfg.DryRun
			p.files = append(p.files, f)
		}
	}
	if !s.cfg.DryRun {
		p.sweep()
	}
	if !s.manifest.Carousel {
		p.chooseStreams(s)
	}
	return p, nil
}

// chooseStreams picks directories to fetch through their stream channel: those where at
// least half of the bytes, in at least two files, have no local copy at all, and nothing is
// excluded (a stream would bring the excluded files' data too). One join then brings every
// file below, instead of one join per file. Files with a local copy below a streamed
// directory still go through the tree walk (caller does not hold mu).
func (p *plan) chooseStreams(s *session) {
	fresh := make([]bool, len(p.files))
	for i, f := range p.files {
		fresh[i] = f.shape.Blocks() > 0 && !p.exists(f.rel)
	}
	taken := ""
	var keep []*fileState
	chosen := map[*fileState]string{}
	for _, d := range p.dirs {
		name := d.e.Name
		if taken != "" && strings.HasPrefix(name, taken+"/") || p.l.hides(name) {
			continue
		}
		lo := sort.Search(len(p.files), func(i int) bool { return p.files[i].name > name+"/" })
		hi := sort.Search(len(p.files), func(i int) bool { return p.files[i].name >= name+"0" }) // '0' follows '/'
		var total, freshBytes int64
		n := 0
		for i := lo; i < hi; i++ {
			total += p.files[i].entry.Size
			if fresh[i] {
				freshBytes += p.files[i].entry.Size
				n++
			}
		}
		var state int64
		for i := lo; i < hi; i++ {
			if fresh[i] {
				state += stateBytes(p.files[i].shape, s.cfg.StoredLeaves)
			}
		}
		// A stream starts all its files at once: only if their state fits half the budget
		// (the files are fetched one by one otherwise).
		if n < 2 || 2*freshBytes < total || 2*state > s.cfg.stateBudget() {
			continue
		}
		taken = name
		for i := lo; i < hi; i++ {
			if fresh[i] {
				chosen[p.files[i]] = name
			}
		}
	}
	if len(chosen) == 0 {
		return
	}
	for _, f := range p.files {
		if _, ok := chosen[f]; !ok {
			keep = append(keep, f)
		}
	}
	p.files = keep
	s.mu.Lock()
	defer s.mu.Unlock()
	for f, dir := range chosen {
		err := f.alloc(s.cfg.StoredLeaves, s.cfg.LeafDir, s.cfg.stateBudget()-p.state)
		p.state += f.stateCost
		p.streamed = append(p.streamed, f)
		s.files = append(s.files, f)
		f.streamed = true
		if err != nil {
			s.fail(f, err) // the fetch ends with it
			continue
		}
		f.needAll()
		f.planned = true
		if s.cfg.DryRun {
			s.maybeReady(f)
			continue
		}
		s.enqueue(s.streamGroup(dir), subStream, f.dataTarget(f.shape.TopLevel(), 0, merkle.Hash(f.entry.Top)))
	}
	p.pending = len(p.streamed)
}

// exists reports whether something is at rel in the destination.
func (p *plan) exists(rel string) bool {
	if p.root == nil {
		return false
	}
	_, err := p.dc.Lstat(rel)
	return err == nil
}

// mkdir creates a directory of the fetch (not in a dry run).
func (p *plan) mkdir(s *session, it placed) error {
	if p.root != nil {
		if fi, err := p.root.Lstat(it.rel); err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("receiver: %s exists and is not a directory", filepath.Join(p.l.rootDir, it.rel))
			}
			return nil
		}
	}
	p.report(s, FileResult{Name: it.e.Name, Path: filepath.Join(p.l.rootDir, it.rel), Rel: it.rel, Action: "mkdir"})
	if s.cfg.DryRun {
		return nil
	}
	if err := p.root.MkdirAll(it.rel, 0o755); err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	return nil
}

// activate starts files until maxInflight are in flight: it hashes the local copy, skips
// unchanged files, creates the temporary file, and starts the walk or plans the data.
func (p *plan) activate(ctx context.Context, s *session) error {
	for p.inflight < maxInflight && p.next < len(p.files) {
		f := p.files[p.next]
		need := stateBytes(f.shape, s.cfg.StoredLeaves)
		if p.inflight+p.pending > 0 && p.state+need > s.cfg.stateBudget() {
			break // started when files in flight have finished and made room
		}
		p.next++
		if fi, ok := p.known(s, f); ok { // vouched for by the caller (Config.Known, follow.go)
			if err := p.unchanged(s, f, fi); err != nil {
				return err
			}
			continue
		}
		if err := f.alloc(s.cfg.StoredLeaves, s.cfg.LeafDir, s.cfg.stateBudget()-p.state); err != nil {
			return err
		}
		p.state += f.stateCost
		local, sameSize, err := p.local(ctx, s, f)
		if err != nil {
			p.dropTemp(f)
			return err
		}
		if local != nil && sameSize && local.Shape() == f.shape && local.Top() == merkle.Hash(f.entry.Top) || f.shape.Blocks() == 0 && p.emptyFile(f.rel) {
			p.dropTemp(f)
			p.state -= f.stateCost
			f.leaves.release()
			if err := p.unchanged(s, f, nil); err != nil {
				return err
			}
			continue
		}
		f.local = local
		if err := p.createTemp(s, f); err != nil {
			return err
		}
		p.inflight++
		s.mu.Lock()
		s.files = append(s.files, f)
		switch {
		case f.shape.Blocks() == 0:
			f.planned = true
			s.maybeReady(f)
		case local != nil && !s.manifest.Carousel:
			s.startWalk(f)
		default:
			f.needAll()
			s.planData(f)
		}
		s.mu.Unlock()
	}
	return nil
}

// local hashes f's local copy, if it has a usable one: written into the temporary file in the
// same pass when it looks changed (then f.teed is set), else only read. sameSize reports
// whether the local copy has f's size.
func (p *plan) local(ctx context.Context, s *session, f *fileState) (t *merkle.Tree, sameSize bool, err error) {
	if p.root == nil {
		return nil, false, nil
	}
	fi, err := p.dc.Lstat(f.rel)
	if err != nil {
		return nil, false, nil
	}
	sameSize = fi.Size() == f.shape.Size()
	if !s.cfg.DryRun && s.cfg.LocalTree != nil && fi.Mode().IsRegular() {
		if t, err = p.cloneLocal(ctx, s, f); t != nil || err != nil {
			return t, sameSize, err
		}
	}
	if !s.cfg.DryRun && looksChanged(fi, f.entry) {
		if err := p.createTemp(s, f); err != nil {
			return nil, false, err
		}
		t, err = teeLocal(ctx, p.root, f.rel, f.shape.BlockSize(), f.shape.Size(), f.tmp, s.cfg.builder())
		f.teed = t != nil
		return t, sameSize, err
	}
	t, err = localTree(ctx, p.root, f.rel, f.shape.BlockSize(), s.cfg.builder())
	return t, sameSize, err
}

// createTemp creates f's temporary file beside it, unless it exists or this is a dry run.
func (p *plan) createTemp(s *session, f *fileState) error {
	if s.cfg.DryRun || f.tmp != nil {
		return nil
	}
	tmp, rel, err := openTemp(p.dc, f.rel)
	if err != nil {
		return err
	}
	f.tmp, f.tmpRel = tmp, rel
	return nil
}

// openTemp creates a temporary file beside rel (its name fits in NAME_MAX whatever rel's),
// returning it and its path relative to the root.
func openTemp(dc *destfs.Dirs, rel string) (*os.File, string, error) {
	var tmp *os.File
	var tmpRel string
	err := dc.Do(rel, func(d *destfs.Dir, name string) (err error) {
		tmp, tmpRel, err = destfs.OpenTemp(d.Root(), name, 0o600)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("receiver: creating a temporary file for %s: %w", rel, err)
	}
	return tmp, path.Join(path.Dir(rel), tmpRel), nil
}

// dropTemp removes f's temporary file, not needed after all.
func (p *plan) dropTemp(f *fileState) {
	if f.tmp == nil {
		return
	}
	_ = f.tmp.Close()
	_ = p.root.Remove(f.tmpRel)
	f.tmp, f.tmpRel, f.teed = nil, "", false
}

// emptyFile reports whether rel is an existing empty regular file.
func (p *plan) emptyFile(rel string) bool {
	if p.root == nil {
		return false
	}
	fi, err := p.dc.Lstat(rel)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == 0
}

// report tells Config.OnFile about an entry.
func (p *plan) report(s *session, r FileResult) {
	if s.cfg.OnFile != nil {
		s.cfg.OnFile(r)
	}
}

// sweep removes, from the directories the fetch's files go into, the stale temporary files a
// killed fetch or sync left there (destfs.SweepTemps; review M1). A directory that cannot be
// listed keeps what it has. Directories with temporary files too recent to tell (a run killed
// a moment before this one started) are noted for resweep.
func (p *plan) sweep() {
	seen := map[string]bool{}
	for _, f := range p.files {
		dir := path.Dir(f.rel)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		_ = p.dc.Do(path.Join(dir, "-"), func(d *destfs.Dir, _ string) error {
			_, again, err := destfs.SweepTemps(d.Root(), destfs.StaleAge)
			if again > 0 {
				p.youngTemps = append(p.youngTemps, dir)
				p.resweepAt = later(p.resweepAt, time.Now().Add(again))
			}
			return err
		})
	}
}

// resweep sweeps again, once the fetch is done, the directories where sweep found temporary
// files too recent to take: waiting (at most destfs.StaleAge, and only after a run was killed
// a moment before this one) until a second look can tell whether their maker is gone, so that
// a fetch or follower restarted at once after a kill -9 leaves no stale file behind.
func (p *plan) resweep(ctx context.Context) {
	if len(p.youngTemps) == 0 {
		return
	}
	t := time.NewTimer(time.Until(p.resweepAt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	for _, dir := range p.youngTemps {
		_ = p.dc.Do(path.Join(dir, "-"), func(d *destfs.Dir, _ string) error {
			_, _, err := destfs.SweepTemps(d.Root(), destfs.StaleAge)
			return err
		})
	}
	p.youngTemps = nil
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
