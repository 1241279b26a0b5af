package receiver

import (
	"math/rand/v2"
	"testing"
)

func TestCoverageAgainstBitmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(200)
		var c coverage
		model := make([]bool, n)
		for step := 0; step < 30; step++ {
			lo := rng.IntN(n)
			hi := lo + 1 + rng.IntN(n-lo)
			var want []span
			for x := lo; x < hi; x++ {
				if !model[x] && (len(want) == 0 || want[len(want)-1].hi != x) {
					want = append(want, span{x, x + 1})
				} else if !model[x] {
					want[len(want)-1].hi++
				}
			}
			got := c.gaps(nil, lo, hi)
			if len(got) != len(want) {
				t.Fatalf("gaps(%d,%d) = %v, want %v (spans %v)", lo, hi, got, want, c.spans)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("gaps(%d,%d) = %v, want %v", lo, hi, got, want)
				}
			}
			c.add(lo, hi)
			all := true
			for x := lo; x < hi; x++ {
				model[x] = true
			}
			for _, m := range model {
				all = all && m
			}
			if c.full(n) != all {
				t.Fatalf("full = %v, model %v, spans %v", c.full(n), all, c.spans)
			}
			for i := 1; i < len(c.spans); i++ {
				if c.spans[i-1].hi >= c.spans[i].lo {
					t.Fatalf("spans not disjoint and separated: %v", c.spans)
				}
			}
		}
	}
}
