//go:build amd64 && !purego

package simd

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// asmKernels returns the AVX2 kernels when the CPU has them.
func asmKernels() []kernels {
	if !useAVX2 {
		return nil
	}
	return []kernels{{"avx2", sweep, rebase, countNonZero}}
}

// TestAssemblyUsed fails when the CPU has AVX2, the build is not purego, and
// yet the assembly path is not selected: differential tests would otherwise
// pass while only exercising the fallback.
func TestAssemblyUsed(t *testing.T) {
	t.Logf("cpu.X86.HasAVX2=%v HasPOPCNT=%v Impl()=%q", cpu.X86.HasAVX2, cpu.X86.HasPOPCNT, Impl())
	if cpu.X86.HasAVX2 && Impl() != "avx2" {
		t.Fatalf("CPU has AVX2 and build is not purego, but Impl() = %q; the assembly kernels are not running", Impl())
	}
	if !cpu.X86.HasAVX2 {
		t.Skip("CPU has no AVX2: only the generic kernels can be tested here")
	}
}
