//go:build purego || !amd64

package simd

import "testing"

// asmKernels returns nothing: this build has no assembly.
func asmKernels() []kernels { return nil }

// TestAssemblyUsed checks that a purego or non-amd64 build reports the
// generic kernels.
func TestAssemblyUsed(t *testing.T) {
	if got := Impl(); got != "generic" {
		t.Fatalf("Impl() = %q in a build without assembly, want \"generic\"", got)
	}
}
