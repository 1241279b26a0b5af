package simd

// The reference kernels are the plain loops that define each operation. They
// are always compiled so tests can compare every other implementation against
// them, and benchmarks report them as the "ref" baseline.

// sweepRef is the reference Sweep.
func sweepRef(counters []uint8, timers []uint32, now uint32) int {
	live := 0
	for i := range timers {
		if timers[i] > now {
			live++
			continue
		}
		counters[i] = 0
		timers[i] = 0
	}
	return live
}

// rebaseRef is the reference Rebase.
func rebaseRef(timers []uint32, base uint32) {
	for i, t := range timers {
		if t > base {
			timers[i] = t - base
		} else {
			timers[i] = 0
		}
	}
}

// countNonZeroRef is the reference CountNonZero.
func countNonZeroRef(counters []uint8) int {
	n := 0
	for _, c := range counters {
		if c != 0 {
			n++
		}
	}
	return n
}
