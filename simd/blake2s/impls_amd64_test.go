//go:build amd64 && !purego

package blake2s

import (
	"os"
	"testing"

	"golang.org/x/sys/cpu"
)

// impls lists every implementation this CPU can run.
func impls() []impl {
	var ims []impl
	for im := implGeneric; im <= cpuBest(); im++ {
		ims = append(ims, im)
	}
	return ims
}

// TestFastPathUsed fails when the CPU has AVX-512 or AVX2, nothing asked for
// a slower path, and yet SumMany does not use the kernel: the differential
// tests would otherwise pass while only exercising the fallback.
func TestFastPathUsed(t *testing.T) {
	env := os.Getenv("LCSYNC_SIMD")
	t.Logf("HasAVX2=%v HasAVX512F=%v LCSYNC_SIMD=%q Impl()=%q",
		cpu.X86.HasAVX2, cpu.X86.HasAVX512F, env, Impl())
	want := "generic"
	switch {
	case env == "generic":
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && env != "avx2":
		want = "avx512"
	case cpu.X86.HasAVX2:
		want = "avx2"
	}
	if Impl() != want {
		t.Fatalf("Impl() = %q, want %q on this CPU with LCSYNC_SIMD=%q", Impl(), want, env)
	}
	if env == "avx512" && want != "avx512" {
		t.Skipf("LCSYNC_SIMD=avx512 but the CPU has no AVX-512: tested %q instead", want)
	}
}
