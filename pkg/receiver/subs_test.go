package receiver

import (
	"testing"
	"time"
)

// TestSubEnded: an end marker ends a subscription's cycle only after data that came since the
// join; one that crosses the join (another host's cycle closing) does not, except on a tree
// page, where it means the page was lost.
func TestSubEnded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var zero time.Time
	for _, tc := range []struct {
		name                    string
		kind                    subKind
		joined, packet, endedAt time.Time
		want, lost              bool
	}{
		{"no end marker", subData, at(0), at(5), zero, false, false},
		{"end after data since the join", subData, at(0), at(5), at(6), true, false},
		{"end marker crossing the join, no data yet", subData, at(0), zero, at(1), false, false},
		{"end marker crossing the join, data from before the join", subData, at(10), at(5), at(11), false, false},
		{"data after the end marker: a new cycle runs", subData, at(0), at(9), at(6), false, false},
		{"end at the same instant as the last datagram", subData, at(0), at(7), at(7), true, false},
		// A tree page goes out once, right before its end marker.
		{"tree page: end marker without the page", subTree, at(0), zero, at(1), true, true},
		{"tree page: end marker, page from before the join", subTree, at(10), at(5), at(11), true, true},
		{"tree page: end marker after the page", subTree, at(0), at(5), at(6), true, false},
		{"tree page: end marker from before the join", subTree, at(10), zero, at(9), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := &sub{kind: tc.kind, joined: true, joinedAt: tc.joined, lastPacket: tc.packet, lastEnd: tc.endedAt}
			if got := sb.ended(); got != tc.want {
				t.Fatalf("ended() = %v, want %v", got, tc.want)
			}
			if got := sb.pageLost(); got != tc.lost {
				t.Fatalf("pageLost() = %v, want %v", got, tc.lost)
			}
		})
	}
}
