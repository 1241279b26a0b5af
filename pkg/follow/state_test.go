package follow

import (
	"testing"

	"github.com/lcsync/lcsync/pkg/destfs"
)

// TestStateNamesAreKept: the state file and its temporary are names no sweep of stale
// temporary files removes (a fetch into the mirror while no follower runs).
func TestStateNamesAreKept(t *testing.T) {
	if StateName != destfs.KeptName("lcsync-follow", 0) || stateTemp != destfs.KeptName("lcsync-follow", 1) {
		t.Errorf("StateName %q and stateTemp %q are not destfs.KeptName(\"lcsync-follow\", 0 and 1)", StateName, stateTemp)
	}
}
