package receiver

import (
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
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

// TestCoarseCover: scattered missing blocks beyond the budget are covered by the lowest level of
// nodes that fits it, with the right hashes; without verified leaves there is no cover.
func TestCoarseCover(t *testing.T) {
	sh, err := merkle.NewShape(64*1024, 1024) // 64 blocks, levels 0..6
	if err != nil {
		t.Fatal(err)
	}
	mk := func(missing ...int) *fileState {
		f := newFileState(wire.Entry{Size: sh.Size()}, sh, "f")
		for b := range 64 {
			f.leaves[b] = merkle.LeafHash([]byte{byte(b)})
			f.leafOK.Set(uint(b))
			f.need.Set(uint(b))
			f.done.Set(uint(b))
		}
		for _, b := range missing {
			f.done.Clear(uint(b))
		}
		return f
	}
	top := &target{k: 6, i: 0, blockFirst: 0, blockEnd: 64}
	for _, tc := range []struct {
		name    string
		missing []int
		budget  int
		want    []int // level, then node indices
	}{
		{"fits at level 1", []int{0, 1, 5, 40}, 3, []int{1, 0, 2, 20}},
		{"needs level 2", []int{0, 2, 5, 9, 13, 40}, 5, []int{2, 0, 1, 2, 3, 10}},
		{"needs level 3", []int{0, 4, 8, 12, 16, 20}, 3, []int{3, 0, 1, 2}},
		{"nothing fits below the top", []int{0, 9, 17, 25, 33, 41, 49, 57}, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mk(tc.missing...)
			nodes, ok := coarseCover(f, top, tc.budget)
			if tc.want == nil {
				if ok {
					t.Fatalf("coarseCover = %v, want none", nodes)
				}
				return
			}
			if !ok || len(nodes) != len(tc.want)-1 {
				t.Fatalf("coarseCover = %v, %v; want level %d nodes %v", nodes, ok, tc.want[0], tc.want[1:])
			}
			for j, n := range nodes {
				first, end := sh.Span(n.k, n.i)
				if n.k != tc.want[0] || n.i != tc.want[j+1] || n.hash != merkle.Fold(f.leaves[first:end]) {
					t.Fatalf("node %d = (%d, %d), want (%d, %d) with its folded hash", j, n.k, n.i, tc.want[0], tc.want[j+1])
				}
			}
		})
	}
	f := mk(3, 30)
	f.leafOK.Clear(2)
	if nodes, ok := coarseCover(f, top, 1); ok {
		t.Fatalf("coarseCover with an unverified leaf = %v, want none", nodes)
	}
}
