package follow

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/exclude"
	"github.com/lcsync/lcsync/pkg/wire"
)

// selection maps the entries of m below the followed directory prefix to their paths
// relative to DST (the directory itself is left out).
func selection(m *wire.Manifest, prefix string) map[string]wire.Entry {
	under := m.Under(prefix)
	sel := make(map[string]wire.Entry, len(under))
	for _, e := range under {
		if e.Name != prefix {
			sel[strings.TrimPrefix(e.Name, prefix+"/")] = e
		}
	}
	return sel
}

// selCache is the selection of one manifest.
type selCache struct {
	m   *wire.Manifest
	sel map[string]wire.Entry
}

// selected is selection less the entries the follower's rules exclude (Config.Fetch.Exclude).
// A pass asks for the selections of the generation it applies and of the one before, and the
// next pass for the first again: the last two are kept (read-only: no caller changes them),
// so that a generation's ten thousand entries are not mapped three times.
func (f *Follower) selected(m *wire.Manifest) map[string]wire.Entry {
	for _, c := range f.sels {
		if c.m == m && m != nil {
			return c.sel
		}
	}
	sel := selection(m, f.prefix)
	if excl := f.cfg.Fetch.Exclude; excl.Len() > 0 {
		for rel, e := range sel {
			if excl.Excluded(rel, e.Type == wire.EntryDir) {
				delete(sel, rel)
			}
		}
	}
	f.sels[1], f.sels[0] = f.sels[0], selCache{m: m, sel: sel}
	return sel
}

// content identifies a file's content: equal contents give equal keys (PROTOCOL.md §1.3).
type content struct {
	size  int64
	shift uint8
	top   [wire.HashLen]byte
}

func contentOf(e wire.Entry) content { return content{e.Size, e.BlockShift, e.Top} }

// move is a rename inside DST, from and to relative to it.
type move struct {
	from, to string
	size     int64
}

// planRenames finds the files of next whose content is that of a file of prev that
// disappears in next and is still in place in root (a regular file of the same size), and
// whose own name in root is free or holds a file prev had with other content. Each local
// file moves at most once. Empty files are left to the fetch (they cost no data).
func planRenames(root *os.Root, prev, next map[string]wire.Entry) []move {
	gone := map[content][]string{}
	for rel, e := range prev {
		if _, still := next[rel]; !still && e.Type == wire.EntryFile && e.Size > 0 {
			gone[contentOf(e)] = append(gone[contentOf(e)], rel)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	for _, rels := range gone {
		sort.Strings(rels)
	}
	var wanted []string
	for rel, e := range next {
		if e.Type == wire.EntryFile && len(gone[contentOf(e)]) > 0 {
			wanted = append(wanted, rel)
		}
	}
	sort.Strings(wanted)
	var moves []move
	for _, rel := range wanted {
		e := next[rel]
		if old, ok := prev[rel]; ok && old.Type == wire.EntryFile && contentOf(old) == contentOf(e) {
			continue // unchanged
		}
		if !freeFor(root, rel, prev) {
			continue
		}
		c := contentOf(e)
		for i, from := range gone[c] {
			if fi, err := root.Lstat(from); err == nil && fi.Mode().IsRegular() && fi.Size() == e.Size {
				moves = append(moves, move{from: from, to: rel, size: e.Size})
				gone[c] = append(gone[c][:i:i], gone[c][i+1:]...)
				break
			}
		}
	}
	return moves
}

// freeFor reports whether rel may be renamed onto: nothing is there, or a regular file that
// the last generation had (the fetch would replace it anyway).
func freeFor(root *os.Root, rel string, prev map[string]wire.Entry) bool {
	fi, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	old, had := prev[rel]
	return err == nil && fi.Mode().IsRegular() && had && old.Type == wire.EntryFile
}

// applyRenames carries out the directory moves, then moves, creating parent directories as
// needed (the fetch gives them their modes); a move that fails is skipped, and the fetch
// brings that file instead (a directory whose rename fails has its files moved one by one).
// It returns the file and link moves done, those of the directories included.
func applyRenames(root *os.Root, moves []move, dirs []dirMove) []move {
	var done []move
	rename := func(from, to string) bool {
		if dir := path.Dir(to); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return false
			}
		}
		return root.Rename(from, to) == nil
	}
	for _, d := range dirs {
		if rename(d.from, d.to) {
			done = append(done, d.files...)
			continue
		}
		moves = append(moves, d.files...)
	}
	for _, mv := range moves {
		if rename(mv.from, mv.to) {
			done = append(done, mv)
		}
	}
	return done
}

// deletions counts the files and symbolic links in root (lcsync's temporary names aside) and
// how many of them a fetch of next with --delete would remove: those absent from next, not
// below a directory the sender could not read completely, and not the source of a planned
// rename. What excl excludes is neither counted nor deleted.
func deletions(root *os.Root, next map[string]wire.Entry, moves []move, excl *exclude.Matcher) (total, deleted int, err error) {
	kept := keeps(next, moves)
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			if excl.Match(rel, true) {
				return fs.SkipDir
			}
			return nil
		}
		if destfs.IsTemp(d.Name()) || excl.Match(rel, false) {
			return nil
		}
		total++
		if !kept(rel) {
			deleted++
		}
		return nil
	})
	return total, deleted, err
}

// keeps returns whether a pass applying next keeps the file or link at rel: next has it (not
// as a directory), it is the source of one of moves, or it is below a directory the sender
// could not read completely.
func keeps(next map[string]wire.Entry, moves []move) func(rel string) bool {
	moved := map[string]bool{}
	for _, mv := range moves {
		moved[mv.from] = true
	}
	var incomplete []string
	for rel, e := range next {
		if e.Type == wire.EntryDir && e.Incomplete {
			incomplete = append(incomplete, rel+"/")
		}
	}
	return func(rel string) bool {
		if e, ok := next[rel]; ok && e.Type != wire.EntryDir || moved[rel] {
			return true
		}
		for _, dir := range incomplete {
			if strings.HasPrefix(rel, dir) {
				return true
			}
		}
		return false
	}
}
