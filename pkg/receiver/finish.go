package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
		cur, _ = p.dc.lstat(f.rel)
	}
	action := "create"
	if f.local != nil || cur != nil {
		action = "update"
	}
	res := FileResult{Name: f.name, Path: filepath.Join(p.l.rootDir, f.rel), Action: action,
		Blocks: f.shape.Blocks(), Fetch: int(f.need.Count()), Bytes: blockBytes(f, f.need)}
	if s.cfg.DryRun {
		s.report(res)
		return nil
	}
	if err := p.copyReused(ctx, s, f); err != nil {
		return err
	}
	mode := p.mode(s, f, cur)
	if err := f.tmp.Chmod(mode); err != nil {
		return fmt.Errorf("receiver: %s: %w", f.rel, err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fmt.Errorf("receiver: syncing %s: %w", f.rel, err)
	}
	if err := f.tmp.Close(); err != nil {
		return fmt.Errorf("receiver: closing %s: %w", f.rel, err)
	}
	f.tmp = nil
	if s.cfg.Times {
		mt := time.Unix(0, f.entry.MTime)
		err := p.dc.do(f.tmpRel, func(d *os.Root, name string) error { return d.Chtimes(name, mt, mt) })
		if err != nil {
			return fmt.Errorf("receiver: %s: %w", f.rel, err)
		}
	}
	if cur != nil && cur.IsDir() {
		return fmt.Errorf("receiver: cannot replace directory %s with a file", filepath.Join(p.l.rootDir, f.rel))
	}
	// The temporary file is beside the file: one rename in one open directory.
	newName := path.Base(f.rel)
	if err := p.dc.do(f.tmpRel, func(d *os.Root, name string) error { return d.Rename(name, newName) }); err != nil {
		return fmt.Errorf("receiver: renaming %s: %w", f.rel, err)
	}
	f.tmpRel = ""
	p.dc.renamed(f.rel)
	s.report(res)
	return nil
}

// mode is the permission of a fetched file: the manifest's with Perms; otherwise the existing
// regular file's (cur), or for a new file the manifest's permission bits masked by the umask
// (as rsync).
func (p *plan) mode(s *session, f *fileState, cur fs.FileInfo) fs.FileMode {
	if s.cfg.Perms {
		return fileMode(f.entry.Mode)
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

// unchanged applies metadata to a file whose local copy already matches.
func (p *plan) unchanged(s *session, f *fileState) error {
	s.mu.Lock()
	f.finished = true
	s.stats.Unchanged++
	s.stats.Blocks += int64(f.shape.Blocks())
	s.stats.Reused += int64(f.shape.Blocks())
	s.mu.Unlock()
	s.report(FileResult{Name: f.name, Path: filepath.Join(p.l.rootDir, f.rel), Action: "unchanged", Blocks: f.shape.Blocks()})
	if s.cfg.DryRun {
		return nil
	}
	return p.meta(s, f.rel, f.entry)
}

// meta applies Perms and Times to an existing entry.
func (p *plan) meta(s *session, rel string, e wire.Entry) error {
	if s.cfg.Perms {
		if err := p.root.Chmod(rel, fileMode(e.Mode)); err != nil {
			return fmt.Errorf("receiver: %w", err)
		}
	}
	if s.cfg.Times {
		mt := time.Unix(0, e.MTime)
		if err := p.root.Chtimes(rel, mt, mt); err != nil {
			return fmt.Errorf("receiver: %w", err)
		}
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
		if err := p.meta(s, p.dirs[i].rel, p.dirs[i].e); err != nil {
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
	s.report(FileResult{Name: it.e.Name, Path: filepath.Join(p.l.rootDir, it.rel), Action: "symlink"})
	if s.cfg.DryRun {
		return nil
	}
	tmp := tempName(it.rel)
	if err := p.root.Symlink(it.e.Target, tmp); err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	if err := p.root.Rename(tmp, it.rel); err != nil {
		_ = p.root.Remove(tmp)
		return fmt.Errorf("receiver: %w", err)
	}
	if s.cfg.Times {
		mt := time.Unix(0, it.e.MTime)
		_ = lchtimes(filepath.Join(p.l.rootDir, it.rel), mt) // best effort, as rsync
	}
	return nil
}

// deleteExtraneous removes destination entries below the fetched directory that the
// manifest does not list, except below a directory the server could not read in full
// (wire.Entry.Incomplete), as rsync deletes nothing after an I/O error.
func (p *plan) deleteExtraneous(s *session) error {
	if p.root == nil {
		return nil
	}
	keep, incomplete := map[string]bool{}, map[string]bool{}
	base := "."
	for _, it := range p.l.items {
		keep[it.rel] = true
		incomplete[it.rel] = it.e.Incomplete
	}
	if len(p.l.items) > 0 {
		base = p.l.items[0].rel
	}
	var gone []string
	err := fs.WalkDir(p.root.FS(), base, func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if incomplete[rel] && d.IsDir() {
			return fs.SkipDir
		}
		if rel == base || keep[rel] {
			return nil
		}
		if strings.Contains(filepath.Base(rel), ".lcsync-") && strings.HasPrefix(filepath.Base(rel), ".") {
			return nil // somebody's temporary file; not ours to judge
		}
		gone = append(gone, rel)
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("receiver: listing %s for --delete: %w", p.l.rootDir, err)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(gone)))
	for _, rel := range gone {
		s.report(FileResult{Path: filepath.Join(p.l.rootDir, rel), Action: "delete"})
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

// close removes leftover temporary files and closes the root.
func (p *plan) close() {
	for _, f := range p.files {
		if f.tmp != nil {
			f.tmp.Close()
			f.tmp = nil
		}
		if f.tmpRel != "" && p.root != nil {
			_ = p.root.Remove(f.tmpRel)
		}
	}
	if p.root != nil {
		p.dc.flush()
		p.root.Close()
	}
}

// fileMode converts 07777 permission bits to an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	fm := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		fm |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= fs.ModeSticky
	}
	return fm
}

// copyRangeFallback copies n bytes at off from src to dst with ReadAt/WriteAt.
func copyRangeFallback(dst, src *os.File, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := src.ReadAt(buf[:k], off); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if _, err := dst.WriteAt(buf[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}
