package simd

// kernels is one implementation of the bulk kernels, for differential tests
// and benchmarks.
type kernels struct {
	name         string
	sweep        func([]uint8, []uint32, uint32) int
	rebase       func([]uint32, uint32)
	countNonZero func([]uint8) int
}

// genericKernels is the pure-Go implementation, compiled in every build.
var genericKernels = kernels{"generic", sweepGeneric, rebaseGeneric, countNonZeroGeneric}

// refKernels is the reference implementation.
var refKernels = kernels{"ref", sweepRef, rebaseRef, countNonZeroRef}

// dispatchedKernels is what the exported API runs, named by Impl.
func dispatchedKernels() kernels {
	return kernels{Impl(), Sweep, Rebase, CountNonZero}
}

// candidates lists every implementation to check against the reference:
// the generic one, the assembly one when this build and CPU have it, and the
// exported (dispatched) entry points.
func candidates() []kernels {
	ks := append([]kernels{genericKernels}, asmKernels()...)
	d := dispatchedKernels()
	d.name = "dispatched-" + d.name
	return append(ks, d)
}
