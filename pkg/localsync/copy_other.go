//go:build !linux

package localsync

import "os"

// copyRange copies n bytes at offset off of src into dst at the same offset
// through the buffer; the kernel copy is Linux-only.
func (s *syncer) copyRange(dst, src *os.File, off, n int64, dstPath string) error {
	return s.copyThrough(dst, src, off, n, dstPath)
}
