//go:build !linux

package mld

import (
	"fmt"
	"runtime"
)

// openConn fails: raw MLD listening is implemented for Linux only.
func openConn([]Link, bool) (packetConn, error) {
	return nil, fmt.Errorf("%w (%s)", ErrNotSupported, runtime.GOOS)
}
