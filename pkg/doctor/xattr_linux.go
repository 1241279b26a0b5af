package doctor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// getxattr reads an extended attribute; a missing one is empty, not an error.
func getxattr(path, name string) ([]byte, error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, name, buf)
	switch {
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("doctor: reading %s of %s: %w", name, path, err)
	}
	return buf[:n], nil
}
