//go:build !linux

package receiver

import "os"

// writeBlocks writes bufs one after the other into f from offset off.
func writeBlocks(f *os.File, off int64, bufs [][]byte) error {
	for _, b := range bufs {
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}
