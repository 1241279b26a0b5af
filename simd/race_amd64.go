//go:build race && !purego

package simd

import (
	"runtime"
	"unsafe"
)

// raceRead tells the race detector that assembly reads n bytes at p.
func raceRead(p unsafe.Pointer, n int) { runtime.RaceReadRange(p, n) }

// raceWrite tells the race detector that assembly writes n bytes at p.
func raceWrite(p unsafe.Pointer, n int) { runtime.RaceWriteRange(p, n) }
