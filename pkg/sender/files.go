package sender

import (
	"fmt"
	"os"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
)

// fileCache keeps a few files open for ReadAt and remembers when each file was last checked
// for changes. A file is opened only if it is still the inode that was hashed
// (index.File.Open), and read through that descriptor from then on, so a name swapped for a
// symlink or a FIFO later is never followed. It is owned by the sender goroutine.
type fileCache struct {
	open    map[*index.File]*os.File
	order   []*index.File // least recently opened first
	limit   int
	checked map[*index.File]time.Time
	every   time.Duration
}

func newFileCache(limit int, every time.Duration) *fileCache {
	return &fileCache{open: map[*index.File]*os.File{}, limit: limit, checked: map[*index.File]time.Time{}, every: every}
}

// stale reports whether f changed on disk since it was indexed, checking at most once per
// interval.
func (c *fileCache) stale(f *index.File, now time.Time) bool {
	if last, ok := c.checked[f]; ok && now.Sub(last) < c.every {
		return false
	}
	c.checked[f] = now
	changed, err := f.Changed()
	return changed || err != nil
}

// read fills buf with block bytes at offset off of file f.
func (c *fileCache) read(f *index.File, buf []byte, off int64) error {
	fh, err := c.get(f)
	if err != nil {
		return err
	}
	if _, err := fh.ReadAt(buf, off); err != nil {
		c.forget(f)
		return fmt.Errorf("sender: reading %s: %w", f.Path(), err)
	}
	return nil
}

func (c *fileCache) get(f *index.File) (*os.File, error) {
	if fh, ok := c.open[f]; ok {
		return fh, nil
	}
	fh, err := f.Open() // below the share, no symlink, no FIFO, and only the file hashed
	if err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if len(c.order) >= c.limit {
		c.forget(c.order[0])
	}
	c.open[f] = fh
	c.order = append(c.order, f)
	return fh, nil
}

// forget closes f and clears its change-check time.
func (c *fileCache) forget(f *index.File) {
	delete(c.checked, f)
	fh, ok := c.open[f]
	if !ok {
		return
	}
	fh.Close()
	delete(c.open, f)
	for i, g := range c.order {
		if g == f {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

// reset forgets everything (after the index was replaced).
func (c *fileCache) reset() {
	c.close()
	c.checked = map[*index.File]time.Time{}
}

func (c *fileCache) close() {
	for f := range c.open {
		c.forget(f)
	}
}
