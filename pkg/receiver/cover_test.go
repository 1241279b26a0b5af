package receiver

import (
	"math"
	"slices"
	"testing"

	"github.com/lcsync/lcsync/merkle"
)

func TestCover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks int
		need   []int // needed blocks
		whole  []nodeRef
		limit  int
		want   []nodeRef
		ok     bool
	}{
		{name: "nothing needed", blocks: 8, want: nil, ok: true},
		{name: "one block", blocks: 8, need: []int{5}, want: []nodeRef{{0, 5}}, ok: true},
		{name: "sparse blocks stay apart", blocks: 8, need: []int{0, 5}, want: []nodeRef{{0, 0}, {0, 5}}, ok: true},
		{name: "half, over both children: the node", blocks: 8, need: []int{0, 1, 4, 5}, want: []nodeRef{{3, 0}}, ok: true},
		{name: "half, in one child: that child", blocks: 8, need: []int{0, 1, 2, 3}, want: []nodeRef{{2, 0}}, ok: true},
		{name: "a pair", blocks: 8, need: []int{6, 7}, want: []nodeRef{{1, 3}}, ok: true},
		{name: "under half: descend", blocks: 8, need: []int{0, 2, 7}, want: []nodeRef{{2, 0}, {0, 7}}, ok: true},
		{name: "everything", blocks: 8, need: []int{0, 1, 2, 3, 4, 5, 6, 7}, want: []nodeRef{{3, 0}}, ok: true},
		{name: "promoted tail", blocks: 5, need: []int{4}, want: []nodeRef{{0, 4}}, ok: true},
		{name: "tail with the rest", blocks: 5, need: []int{0, 1, 4}, want: []nodeRef{{3, 0}}, ok: true},
		{name: "a whole node is taken as it is", blocks: 5, need: []int{4}, whole: []nodeRef{{2, 1}}, want: []nodeRef{{2, 1}}, ok: true},
		{name: "a node over whole ones is taken by the rule", blocks: 8, need: []int{4, 5, 6, 7}, whole: []nodeRef{{1, 2}, {1, 3}},
			want: []nodeRef{{2, 1}}, ok: true},
		{name: "within the limit", blocks: 16, need: []int{0, 5, 10}, limit: 3, want: []nodeRef{{0, 0}, {0, 5}, {0, 10}}, ok: true},
		{name: "over the limit", blocks: 16, need: []int{0, 5, 10}, limit: 2, ok: false},
		{name: "single block file", blocks: 1, need: []int{0}, want: []nodeRef{{0, 0}}, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shape, err := merkle.NewShape(int64(tc.blocks)*1024, 1024)
			if err != nil {
				t.Fatal(err)
			}
			needed := map[int]bool{}
			for _, b := range tc.need {
				needed[b] = true
			}
			need := func(first, end int) int {
				n := 0
				for b := first; b < end; b++ {
					if needed[b] {
						n++
					}
				}
				return n
			}
			var whole func(k, i int) bool
			if tc.whole != nil {
				whole = func(k, i int) bool { return slices.Contains(tc.whole, nodeRef{k, i}) }
			}
			limit := tc.limit
			if limit == 0 {
				limit = math.MaxInt
			}
			got, ok := cover(shape, shape.TopLevel(), 0, need, whole, nil, limit)
			if ok != tc.ok || ok && !slices.Equal(got, tc.want) {
				t.Errorf("cover = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
			if !ok {
				return
			}
			// Whatever the choice, the covered blocks are exactly a superset of the needed.
			for _, n := range got {
				a, b := shape.Span(n.k, n.i)
				for x := a; x < b; x++ {
					delete(needed, x)
				}
			}
			if len(needed) != 0 {
				t.Errorf("blocks left uncovered: %v", needed)
			}
		})
	}
}
