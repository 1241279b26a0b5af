package simd

// Sweep clears every slot whose timer has expired (timers[i] <= now) by
// setting counters[i] = 0 and timers[i] = 0, and returns the number of slots
// still live (timers[i] > now). It panics if len(counters) != len(timers),
// which is a programming error in the caller, never a property of input data.
func Sweep(counters []uint8, timers []uint32, now uint32) int {
	if len(counters) != len(timers) {
		panic("simd: Sweep: len(counters) != len(timers)")
	}
	return sweep(counters, timers, now)
}

// Rebase subtracts base from every timer, saturating at 0. It keeps tick
// values far from uint32 wrap-around: the owner of the timers subtracts the
// same base from its clock.
func Rebase(timers []uint32, base uint32) {
	rebase(timers, base)
}

// CountNonZero returns how many counters are non-zero.
func CountNonZero(counters []uint8) int {
	return countNonZero(counters)
}

// Impl names the implementation of the bulk kernels in use: "avx2" or
// "generic".
func Impl() string {
	return impl()
}
