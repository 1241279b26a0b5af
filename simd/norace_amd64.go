//go:build !race && !purego

package simd

import "unsafe"

// raceRead is a no-op outside race builds.
func raceRead(unsafe.Pointer, int) {}

// raceWrite is a no-op outside race builds.
func raceWrite(unsafe.Pointer, int) {}
