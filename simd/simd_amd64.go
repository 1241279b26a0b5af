//go:build amd64 && !purego

package simd

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the AVX2 kernels. It is set once at package initialisation
// and never written again. The kernels also use POPCNT, which every AVX2 CPU
// has, but it is checked rather than assumed.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT

// Block sizes of the assembly loops, in elements per iteration. The Go
// wrappers pass whole blocks and finish the tail with the generic kernels.
const (
	sweepBlock  = 64  // 64 timers (256 B) and 64 counters per iteration
	rebaseBlock = 64  // 64 timers (256 B) per iteration
	countBlock  = 128 // 128 counters per iteration
)

// sweepAVX2 sweeps n slots, n a multiple of sweepBlock, and returns how many
// of them expired.
//
//go:noescape
func sweepAVX2(c *uint8, t *uint32, n int, now uint32) (expired int)

// rebaseAVX2 rebases n timers, n a multiple of rebaseBlock.
//
//go:noescape
func rebaseAVX2(t *uint32, n int, base uint32)

// countZeroAVX2 returns how many of n counters are zero, n a multiple of
// countBlock.
//
//go:noescape
func countZeroAVX2(c *uint8, n int) (zeros int)

func sweep(counters []uint8, timers []uint32, now uint32) int {
	n := len(timers) &^ (sweepBlock - 1)
	if !useAVX2 || n == 0 {
		return sweepGeneric(counters, timers, now)
	}
	raceWrite(unsafe.Pointer(&counters[0]), n)
	raceWrite(unsafe.Pointer(&timers[0]), 4*n)
	expired := sweepAVX2(&counters[0], &timers[0], n, now)
	return n - expired + sweepTail(counters[n:], timers[n:], now)
}

func rebase(timers []uint32, base uint32) {
	n := len(timers) &^ (rebaseBlock - 1)
	if !useAVX2 || n == 0 {
		rebaseGeneric(timers, base)
		return
	}
	raceWrite(unsafe.Pointer(&timers[0]), 4*n)
	rebaseAVX2(&timers[0], n, base)
	rebaseGeneric(timers[n:], base)
}

func countNonZero(counters []uint8) int {
	n := len(counters) &^ (countBlock - 1)
	if !useAVX2 || n == 0 {
		return countNonZeroGeneric(counters)
	}
	raceRead(unsafe.Pointer(&counters[0]), n)
	return n - countZeroAVX2(&counters[0], n) + countNonZeroGeneric(counters[n:])
}

func impl() string {
	if useAVX2 {
		return "avx2"
	}
	return "generic"
}
