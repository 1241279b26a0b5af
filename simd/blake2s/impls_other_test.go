//go:build purego || !amd64

package blake2s

import "testing"

// impls lists the only implementation of this build.
func impls() []impl { return []impl{implGeneric} }

// TestFastPathUsed checks that a purego or non-amd64 build reports the
// generic path.
func TestFastPathUsed(t *testing.T) {
	if got := Impl(); got != "generic" {
		t.Fatalf("Impl() = %q in a build without assembly, want \"generic\"", got)
	}
}
