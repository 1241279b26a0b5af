package receiver

import (
	"io/fs"
	"os"
	"path"
	"sync"
)

// maxOpenDirs bounds the directories a dirCache keeps open.
const maxOpenDirs = 128

// dirCache keeps directories of the destination open, so that creating, checking and renaming
// a file name one component under an open directory: os.Root opens every directory on a path
// for each call, which for a tree of small files cost a third of the receiver's CPU. It also
// defers the fsync of the directories files were renamed into until they are closed (at the
// latest when the fetch ends): a crash before then may undo a rename, which leaves that file
// as it was before the fetch, never torn. Its methods are safe for concurrent use (workers
// create temporary files as data arrives).
type dirCache struct {
	root  *os.Root
	mu    sync.Mutex
	open  map[string]*os.Root // by directory relative to root; "." is root itself
	dirty map[string]bool     // directories renamed into and not synced yet
}

func newDirCache(root *os.Root) *dirCache {
	return &dirCache{root: root, open: map[string]*os.Root{".": root}, dirty: map[string]bool{}}
}

// do runs fn on the directory holding rel and rel's last component, under the cache's lock.
func (c *dirCache) do(rel string, fn func(d *os.Root, name string) error) error {
	dir, name := path.Split(rel)
	dir = path.Clean(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.open[dir]
	if !ok {
		if len(c.open) > maxOpenDirs {
			c.flushLocked()
		}
		var err error
		if d, err = c.root.OpenRoot(dir); err != nil {
			return err
		}
		c.open[dir] = d
	}
	return fn(d, name)
}

// lstat is os.Root.Lstat through the cache.
func (c *dirCache) lstat(rel string) (fi fs.FileInfo, err error) {
	err = c.do(rel, func(d *os.Root, name string) error {
		fi, err = d.Lstat(name)
		return err
	})
	return fi, err
}

// renamed marks the directory of rel as holding a rename to sync.
func (c *dirCache) renamed(rel string) {
	c.mu.Lock()
	c.dirty[path.Dir(rel)] = true
	c.mu.Unlock()
}

// flush syncs the directories renamed into and closes every directory but the root.
func (c *dirCache) flush() {
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
}

func (c *dirCache) flushLocked() {
	for dir := range c.dirty {
		if d, err := c.root.Open(dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	clear(c.dirty)
	for dir, d := range c.open {
		if d != c.root {
			d.Close()
			delete(c.open, dir)
		}
	}
}
