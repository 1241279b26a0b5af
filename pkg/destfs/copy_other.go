//go:build !linux

package destfs

import (
	"errors"
	"os"
)

// errNoClone says that this OS has no copy_file_range for us.
var errNoClone = errors.New("no kernel copy on this OS")

// clone reports that the kernel copy is unsupported: Copier then copies through its buffer.
func clone(dst, src *os.File, off, n int64) (int64, error) { return 0, errNoClone }

func cloneUnsupported(err error) bool { return errors.Is(err, errNoClone) }
