package receiver

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/wire"
)

// finishReady finishes the files that became complete since the last call.
func (p *plan) finishReady(ctx context.Context, s *session) error {
	s.mu.Lock()
	ready := s.ready
	s.ready = nil
	s.mu.Unlock()
	for _, f := range ready {
		done, err := p.finishIfReady(ctx, s, f)
		if err != nil {
			return err
		}
		if done {
			p.state -= f.stateCost
			s.mu.Lock()
			f.leaves.release()
			s.mu.Unlock()
		}
		switch {
		case !done:
		case f.streamed:
			p.pending--
		default:
			p.inflight--
		}
	}
	return nil
}

// finishIfReady finishes f if it is complete and not finished yet.
func (p *plan) finishIfReady(ctx context.Context, s *session, f *fileState) (bool, error) {
	s.mu.Lock()
	ready := !f.finished && f.err == nil && f.complete()
	s.mu.Unlock()
	if !ready {
		return false, nil
	}
	if !s.cfg.DryRun {
		if err := s.ensureTemp(f); err != nil { // a file whose blocks were all reused, or empty
			return false, err
		}
	}
	if err := p.finishFile(ctx, s, f); err != nil {
		return false, err
	}
	s.mu.Lock()
	f.finished = true
	s.stats.Files++
	s.stats.Blocks += int64(f.shape.Blocks())
	s.stats.Reused += int64(f.reuse.Count())
	s.mu.Unlock()
	return true, nil
}

// finishFile copies the reused blocks, verifies them, syncs, applies metadata and renames the
// temporary file over the destination.
func (p *plan) finishFile(ctx context.Context, s *session, f *fileState) error {
	var cur fs.FileInfo // what the destination holds now
	if p.root != nil {
		cur, _ = p.dc.Lstat(f.rel)
	}
	action := "create"
	if f.local != nil || cur != nil {
		action = "update"
	}
	res := FileResult{Name: f.name, Path: filepath.Join(p.l.rootDir, f.rel), Rel: f.rel, Action: action,
		Blocks: f.shape.Blocks(), Fetch: int(f.need.Count()), Bytes: blockBytes(f, f.need)}
	if s.cfg.DryRun {
		p.report(s, res)
		return nil
	}
	if err := p.copyReused(ctx, s, f); err != nil {
		return err
	}
	keep := s.cfg.KeepLeaves != nil && s.cfg.KeepLeaves(f.entry)
	leaves, err := checkRoot(ctx, f, keep, s.cfg.Workers)
	if err != nil {
		return err
	}
	res.Leaves = leaves
	a := destfs.Attrs{Mode: p.mode(s, f, cur), SetMode: true, MTime: time.Unix(0, f.entry.MTime), SetMTime: s.cfg.Times}
	ready := func() error {
		if cur != nil && cur.IsDir() {
			return fmt.Errorf("cannot replace directory %s with a file", filepath.Join(p.l.rootDir, f.rel))
		}
		return nil
	}
	// The temporary file is beside the file: one rename in one open directory.
	tmp, tmpName := f.tmp, path.Base(f.tmpRel)
	f.tmp, f.tmpRel = nil, ""
	err = p.dc.Do(f.rel, func(d *destfs.Dir, name string) error { return d.Commit(tmp, tmpName, name, a, ready) })
	if err != nil {
		return fmt.Errorf("receiver: %s: %w", f.rel, err)
	}
	p.dc.Renamed(f.rel)
	p.report(s, res)
	return nil
}

// mode is the permission of a fetched file: the manifest's with Perms (less the set-id bits,
// since the manifest carries no owner: destfs.Attrs clears them); otherwise the existing
// regular file's (cur), or for a new file the manifest's permission bits masked by the umask
// (as rsync).
func (p *plan) mode(s *session, f *fileState, cur fs.FileInfo) fs.FileMode {
	if s.cfg.Perms {
		return destfs.ModeOf(f.entry.Mode)
	}
	if cur != nil && cur.Mode().IsRegular() {
		return cur.Mode().Perm()
	}
	return fs.FileMode(f.entry.Mode & 0o777 &^ p.umask)
}

// copyReused puts the blocks taken from the local copy into the temporary file, checked
// against the local tree: most were copied by the copier during the walk and the fetch (it is
// waited for), the rest (reused blocks found late) are copied now.
func (p *plan) copyReused(ctx context.Context, s *session, f *fileState) error {
	if f.teed {
		return nil // already in place, exactly as hashed
	}
	s.mu.Lock()
	wait := f.copying
	s.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	err, rest := f.copyErr, f.reuse
	if f.early != nil {
		rest = f.reuse.Difference(f.early)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return copyBlocks(ctx, p.root, f, f.tmp, rest, s.cfg.Workers)
}

// unchanged applies metadata to a file whose local copy already matches; cur is the copy's
// Lstat if the caller has it.
func (p *plan) unchanged(s *session, f *fileState, cur fs.FileInfo) error {
	s.mu.Lock()
	f.finished = true
	s.stats.Unchanged++
	s.stats.Blocks += int64(f.shape.Blocks())
	s.stats.Reused += int64(f.shape.Blocks())
	s.mu.Unlock()
	p.report(s, FileResult{Name: f.name, Path: filepath.Join(p.l.rootDir, f.rel), Rel: f.rel, Action: "unchanged", Blocks: f.shape.Blocks()})
	if s.cfg.DryRun {
		return nil
	}
	if cur == nil && p.root != nil {
		cur, _ = p.dc.Lstat(f.rel)
	}
	return p.meta(s, f.rel, f.entry, cur)
}

// meta applies Perms and Times to an existing entry, unless cur (its Lstat, if known) shows
// they are in place already: a pass over a mirror of 100,000 unchanged files then makes no
// chmod or utimensat.
func (p *plan) meta(s *session, rel string, e wire.Entry, cur fs.FileInfo) error {
	// The manifest carries no owner: set-id bits of files are cleared (destfs.SafeMode).
	a := destfs.Attrs{Mode: destfs.ModeOf(e.Mode), SetMode: s.cfg.Perms, Dir: e.Type == wire.EntryDir,
		MTime: time.Unix(0, e.MTime), SetMTime: s.cfg.Times}
	if !a.SetMode && !a.SetMTime || a.Holds(cur) {
		return nil
	}
	if err := p.dc.Do(rel, func(d *destfs.Dir, name string) error { return d.Apply(name, a) }); err != nil {
		return fmt.Errorf("receiver: %s: %w", filepath.Join(p.l.rootDir, rel), err)
	}
	return nil
}

// finishTree makes the symlinks, applies directory metadata (deepest first, after their
// contents) and deletes extraneous entries.
func (p *plan) finishTree(s *session) error {
	for _, it := range p.links {
		if err := p.symlink(s, it); err != nil {
			return err
		}
	}
	if s.cfg.Delete && p.l.isDir {
		if err := p.deleteExtraneous(s); err != nil {
			return err
		}
	}
	if s.cfg.DryRun {
		return nil
	}
	for i := len(p.dirs) - 1; i >= 0; i-- {
		if err := p.meta(s, p.dirs[i].rel, p.dirs[i].e, nil); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.stats.Other += len(p.dirs) + len(p.links)
	s.mu.Unlock()
	return nil
}

// symlink creates or replaces a symlink atomically (a new link renamed over the old one).
func (p *plan) symlink(s *session, it placed) error {
	if p.root != nil {
		if fi, err := p.root.Lstat(it.rel); err == nil {
			if fi.Mode()&fs.ModeSymlink != 0 {
				if t, err := p.root.Readlink(it.rel); err == nil && t == it.e.Target {
					return nil
				}
			} else if fi.IsDir() {
				return fmt.Errorf("receiver: cannot replace directory %s with a symlink", filepath.Join(p.l.rootDir, it.rel))
			}
		}
	}
	p.report(s, FileResult{Name: it.e.Name, Path: filepath.Join(p.l.rootDir, it.rel), Rel: it.rel, Action: "symlink"})
	if s.cfg.DryRun {
		return nil
	}
	return p.dc.Do(it.rel, func(d *destfs.Dir, name string) error {
		tmp, err := destfs.CreateTemp(name, func(tmp string) error { return d.Root().Symlink(it.e.Target, tmp) })
		if err != nil {
			return fmt.Errorf("receiver: %w", err)
		}
		if err := d.Root().Rename(tmp, name); err != nil {
			_ = d.Root().Remove(tmp)
			return fmt.Errorf("receiver: %w", err)
		}
		if s.cfg.Times {
			_ = d.SetMtime(name, time.Unix(0, it.e.MTime)) // best effort, as rsync
		}
		return nil
	})
}

// deleteExtraneous removes destination entries below the fetched directory that the
// manifest does not list, except those Config.Exclude excludes, and in and below a directory the server could not read in full
// (wire.Entry.Incomplete), as rsync deletes nothing after an I/O error.
func (p *plan) deleteExtraneous(s *session) error {
	if p.root == nil {
		return nil
	}
	keep := map[string]bool{}
	for _, rel := range p.l.inPlace {
		keep[rel] = true // in place already (Config.Changed)
	}
	var incomplete []string
	for _, it := range p.l.items {
		keep[it.rel] = true
		if it.e.Type == wire.EntryDir && it.e.Incomplete {
			incomplete = append(incomplete, it.rel)
		}
	}
	below := func(rel string) bool {
		for _, d := range incomplete {
			if rel == d || d == "." || strings.HasPrefix(rel, d+"/") {
				return true
			}
		}
		return false
	}
	// The fetched directories, parents first: an extraneous directory goes whole, so nothing
	// below it is listed.
	var gone []string
	for _, it := range p.dirs {
		if below(it.rel) {
			continue // the server could not list all of it
		}
		if fi, err := p.root.Lstat(it.rel); err != nil || !fi.IsDir() {
			continue // not made (a dry run)
		}
		names, err := p.extras(s, it.rel, keep)
		if err != nil {
			return fmt.Errorf("receiver: listing %s for --delete: %w", filepath.Join(p.l.rootDir, it.rel), err)
		}
		for _, n := range names {
			gone = append(gone, path.Join(it.rel, n))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(gone)))
	for _, rel := range gone {
		p.report(s, FileResult{Path: filepath.Join(p.l.rootDir, rel), Rel: rel, Action: "delete"})
		if s.cfg.DryRun {
			continue
		}
		if err := p.root.RemoveAll(rel); err != nil {
			return fmt.Errorf("receiver: --delete: %w", err)
		}
		s.mu.Lock()
		s.stats.Deleted++
		s.mu.Unlock()
	}
	return nil
}

// extras lists the entries of directory rel neither kept nor excluded (Config.Exclude: an
// excluded local entry is left alone, as rsync's receiver does without --delete-excluded).
func (p *plan) extras(s *session, rel string, keep map[string]bool) ([]string, error) {
	d, err := p.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	excl := s.cfg.Exclude
	return destfs.Extras(d, func(name string) bool {
		j := path.Join(rel, name)
		if keep[j] {
			return true
		}
		if excl.Len() == 0 {
			return false
		}
		fi, err := p.root.Lstat(j)
		return excl.Excluded(j, err == nil && fi.IsDir())
	})
}

// close removes the temporary files of every file not finished, whether fetched by itself or
// through a stream, started or not: a fetch that ends early, on an error, a timeout or a
// signal, leaves none behind (review M1). Then it syncs the directories renamed into and
// closes the root. It runs once the workers have stopped, and returns the first failure to
// sync a directory.
func (p *plan) close(s *session) error {
	for _, list := range [][]*fileState{p.files, p.streamed, s.files} {
		for _, f := range list {
			f.leaves.release()
			if f.tmp != nil {
				f.tmp.Close()
				f.tmp = nil
			}
			if f.tmpRel != "" && p.root != nil {
				_ = p.root.Remove(f.tmpRel)
				f.tmpRel = ""
			}
		}
	}
	if p.root == nil {
		return nil
	}
	err := p.dc.Flush()
	p.root.Close()
	if err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	return nil
}
