package merkle

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bits-and-blooms/bitset"
)

// expectedNeed computes from the bytes alone which blocks of want differ
// from the block at the same index of have.
func expectedNeed(have, want []byte, bs int) *bitset.BitSet {
	n := (len(want) + bs - 1) / bs
	need := bitset.New(uint(n))
	for i := 0; i < n; i++ {
		lo := i * bs
		w := want[lo:min(lo+bs, len(want))]
		var h []byte
		if lo < len(have) {
			h = have[lo:min(lo+bs, len(have))]
		}
		if !bytes.Equal(h, w) {
			need.Set(uint(i))
		}
	}
	return need
}

func TestDiffAgainstNilCoversEveryByteOnce(t *testing.T) {
	for _, size := range []int{0, 1, 1023, 1024, 1025, 9*1024 - 5, 100 * 1024} {
		want := buildBytes(t, patternBytes(size), 1024)
		need := Diff(nil, want)
		s := want.Shape()
		if need.Len() != uint(s.Blocks()) || need.Count() != uint(s.Blocks()) {
			t.Fatalf("size %d: %d of %d bits set, want all %d", size, need.Count(), need.Len(), s.Blocks())
		}
		var next int64
		for i, ok := need.NextSet(0); ok; i, ok = need.NextSet(i + 1) {
			if s.BlockOffset(int(i)) != next {
				t.Fatalf("size %d: block %d starts at %d, want %d", size, i, s.BlockOffset(int(i)), next)
			}
			next += int64(s.BlockLen(int(i)))
		}
		if next != int64(size) {
			t.Fatalf("size %d: needed blocks cover %d bytes", size, next)
		}
	}
}

func TestDiffCases(t *testing.T) {
	const bs = 1024
	rng := rand.New(rand.NewPCG(7, 8))
	base := randomBytes(rng, 37*bs+300)
	modify := func(blocks ...int) []byte {
		b := append([]byte(nil), base...)
		for _, i := range blocks {
			b[i*bs+rng.IntN(min(bs, len(b)-i*bs))] ^= 1
		}
		return b
	}
	tests := []struct {
		name       string
		have, want []byte
		count      int // expected number of needed blocks, -1 to skip
	}{
		{"identical", base, base, 0},
		{"one block", base, modify(5), 1},
		{"first and last", base, modify(0, 37), 2},
		{"scattered", base, modify(1, 2, 17, 30, 31), 5},
		{"have empty", nil, base, 38},
		{"want empty", base, nil, 0},
		{"truncated to whole blocks", base, base[:20*bs], 0},
		{"truncated mid-block", base, base[:20*bs+5], 1},
		{"grown by one byte", base, append(append([]byte(nil), base...), 1), 1},
		{"grown by many blocks", base, append(append([]byte(nil), base...), randomBytes(rng, 70*bs)...), 71},
		{"have shorter by a block", base[:36*bs], base, 2},
		{"have one block", base[:bs], base, 37},
		{"have twice as long", append(append([]byte(nil), base...), base...), base, 1},
		{"shifted by one byte", base, append([]byte{0}, base...), 38},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			have, want := buildBytes(t, tc.have, bs), buildBytes(t, tc.want, bs)
			got := Diff(have, want)
			exp := expectedNeed(tc.have, tc.want, bs)
			if !got.Equal(exp) {
				t.Fatalf("Diff = %v, want %v", got, exp)
			}
			if tc.count >= 0 && got.Count() != uint(tc.count) {
				t.Fatalf("%d blocks needed, want %d", got.Count(), tc.count)
			}
		})
	}
}

// TestDiffRandom checks Diff against the byte comparison on random edits:
// block rewrites, truncations and growth, over many sizes.
func TestDiffRandom(t *testing.T) {
	const bs = 1024
	rng := rand.New(rand.NewPCG(9, 10))
	for iter := range 300 {
		have := randomBytes(rng, rng.IntN(80*bs))
		want := append([]byte(nil), have...)
		switch rng.IntN(3) {
		case 0:
			want = want[:rng.IntN(len(want)+1)]
		case 1:
			want = append(want, randomBytes(rng, rng.IntN(40*bs))...)
		}
		for range rng.IntN(6) {
			if len(want) > 0 {
				want[rng.IntN(len(want))]++
			}
		}
		got := Diff(buildBytes(t, have, bs), buildBytes(t, want, bs))
		if exp := expectedNeed(have, want, bs); !got.Equal(exp) {
			t.Fatalf("iteration %d (have %d, want %d bytes): Diff = %v, want %v", iter, len(have), len(want), got, exp)
		}
	}
}

func TestDiffOtherBlockSize(t *testing.T) {
	data := patternBytes(10 * 4096)
	for _, bs := range []int{1024, 16384} {
		t.Run(fmt.Sprint(bs), func(t *testing.T) {
			want := buildBytes(t, data, 4096)
			got := Diff(buildBytes(t, data, bs), want)
			if got.Count() != uint(want.Shape().Blocks()) {
				t.Fatalf("%d blocks needed, want all %d", got.Count(), want.Shape().Blocks())
			}
		})
	}
}
