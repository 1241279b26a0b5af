package receiver

import (
	"testing"
	"time"
)

// TestSubEnded: an end marker ends a subscription's cycle only after data that came since the
// join; one that crosses the join (another host's cycle closing) does not.
func TestSubEnded(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var zero time.Time
	for _, tc := range []struct {
		name                    string
		joined, packet, endedAt time.Time
		want                    bool
	}{
		{"no end marker", at(0), at(5), zero, false},
		{"end after data since the join", at(0), at(5), at(6), true},
		{"end marker crossing the join, no data yet", at(0), zero, at(1), false},
		{"end marker crossing the join, data from before the join", at(10), at(5), at(11), false},
		{"data after the end marker: a new cycle runs", at(0), at(9), at(6), false},
		{"end at the same instant as the last datagram", at(0), at(7), at(7), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := &sub{joined: true, joinedAt: tc.joined, lastPacket: tc.packet, lastEnd: tc.endedAt}
			if got := sb.ended(); got != tc.want {
				t.Fatalf("ended() = %v, want %v", got, tc.want)
			}
		})
	}
}
