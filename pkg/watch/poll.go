package watch

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stamp is what polling compares: a change of any field is a change of the path.
type stamp struct {
	size  int64
	mtime int64
	ctime int64
	ino   uint64
	mode  fs.FileMode
	dir   bool
}

// snapshot walks the share (its root was resolved by New, so a symlinked root is walked too) (not below excluded directories) and stamps every entry.
func (w *Watcher) snapshot() (map[string]stamp, error) {
	snap := map[string]stamp{}
	root := w.abs
	if w.file != "" {
		root = filepath.Join(w.abs, w.file)
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable or vanished: the indexer says so
		}
		rel, _ := w.rel(p)
		if p != root && w.cfg.Exclude.Match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var info fs.FileInfo
		if p == root {
			info, err = os.Stat(p) // the root is followed
		} else {
			info, err = d.Info()
		}
		if err != nil {
			return nil
		}
		s := stamp{size: info.Size(), mtime: info.ModTime().UnixNano(), mode: info.Mode(), dir: info.IsDir()}
		if ino, ctime, ok := inodeAndCtime(info); ok {
			s.ino, s.ctime = ino, ctime
		}
		snap[rel] = s
		return nil
	})
	return snap, err
}

// poll compares snapshots every Config.Poll and sends what differs.
func (w *Watcher) poll(ctx context.Context) error {
	prev := w.prev
	w.prev = nil
	if prev == nil {
		var err error
		if prev, err = w.snapshot(); err != nil {
			prev = nil
		}
	}
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cur, err := w.snapshot()
		if err != nil {
			// The root is gone: a rescan lets the indexer (and its guard) decide.
			if prev != nil {
				prev = nil
				if !w.send(ctx, Batch{Rescan: true}) {
					return nil
				}
			}
			continue
		}
		if prev == nil {
			prev = cur
			if !w.send(ctx, Batch{Rescan: true}) {
				return nil
			}
			continue
		}
		b := diff(prev, cur)
		prev = cur
		if len(b.Changes) > 0 && !w.send(ctx, b) {
			return nil
		}
	}
}

// diff lists the paths that differ between two snapshots.
func diff(prev, cur map[string]stamp) Batch {
	var b Batch
	for rel, s := range cur {
		old, ok := prev[rel]
		switch {
		case !ok:
			b.Changes = append(b.Changes, Change{Rel: rel, Tree: s.dir})
		case old.dir != s.dir:
			b.Changes = append(b.Changes, Change{Rel: rel, Tree: s.dir})
		case s.dir && (old.mode != s.mode || old.mtime != s.mtime):
			b.Changes = append(b.Changes, Change{Rel: rel, Meta: true})
		case !s.dir && old != s:
			// Content and metadata cannot be told apart by polling: hash it again.
			b.Changes = append(b.Changes, Change{Rel: rel})
		}
	}
	for rel := range prev {
		if _, ok := cur[rel]; !ok {
			b.Changes = append(b.Changes, Change{Rel: rel})
		}
	}
	sortChanges(b.Changes)
	return b
}
