package destfs

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sync"
)

// maxOpenDirs bounds the directories a Dirs keeps open.
const maxOpenDirs = 128

// Dirs keeps directories of a destination open, so that creating, checking and renaming a
// file names one component under an open directory: os.Root opens every directory on a path
// for each call, which for a tree of small files costs a third of a fetch's CPU. It also
// defers the fsync of the directories files were renamed into until they are closed (at the
// latest at Flush): a crash before then may undo a rename, which leaves that file as it was
// before, never torn. Its methods are safe for concurrent use.
type Dirs struct {
	root *os.Root

	mu    sync.Mutex
	open  map[string]*Dir // by directory relative to root; "." is root itself
	dirty map[string]bool // directories renamed into and not synced yet
	err   error           // the first failure to sync a directory
}

// NewDirs returns a cache of the directories under root. root stays its caller's to close.
func NewDirs(root *os.Root) *Dirs {
	return &Dirs{root: root, open: map[string]*Dir{".": NewDir(root, nil)}, dirty: map[string]bool{}}
}

// Do runs fn on the directory holding rel and rel's last component, under the cache's lock.
func (c *Dirs) Do(rel string, fn func(d *Dir, name string) error) error {
	dir, name := path.Split(rel)
	dir = path.Clean(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.open[dir]
	if !ok {
		if len(c.open) > maxOpenDirs {
			c.flushLocked()
		}
		r, err := c.root.OpenRoot(dir)
		if err != nil {
			return err
		}
		d = NewDir(r, nil)
		c.open[dir] = d
	}
	return fn(d, name)
}

// Lstat is os.Root.Lstat through the cache.
func (c *Dirs) Lstat(rel string) (fi fs.FileInfo, err error) {
	err = c.Do(rel, func(d *Dir, name string) error {
		fi, err = d.Root().Lstat(name)
		return err
	})
	return fi, err
}

// Renamed marks the directory of rel as holding a rename to sync.
func (c *Dirs) Renamed(rel string) {
	c.mu.Lock()
	c.dirty[path.Dir(rel)] = true
	c.mu.Unlock()
}

// Flush syncs the directories renamed into and closes every directory but the root. It
// returns the first failure to sync a directory since the cache was made.
func (c *Dirs) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	return c.err
}

func (c *Dirs) flushLocked() {
	for dir := range c.dirty {
		var err error
		if d, ok := c.open[dir]; ok {
			err = d.Sync()
		} else if f, oerr := c.root.Open(dir); oerr != nil {
			err = oerr
		} else {
			err = f.Sync()
			f.Close()
		}
		if err != nil && c.err == nil {
			c.err = fmt.Errorf("syncing directory %s: %w", dir, unwrapPath(err))
		}
	}
	clear(c.dirty)
	for dir, d := range c.open {
		d.Close()
		if dir != "." {
			d.root.Close()
			delete(c.open, dir)
		}
	}
}
