package merkle

import (
	"math/rand/v2"
	"testing"
)

// TestHashLeaves compares the batched leaf hash with LeafHash over batches
// mixing runs of equal and unequal lengths, a short last block among them.
func TestHashLeaves(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	lengths := [][]int{
		{},
		{1024},
		{0},
		{1024, 1024, 1024, 17},
		{16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384, 5000},
		{64, 64, 65, 65, 65, 63, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64},
	}
	for range 20 {
		ls := make([]int, 1+rng.IntN(40))
		n := 1 + rng.IntN(3000)
		for i := range ls {
			ls[i] = n
			if rng.IntN(8) == 0 {
				ls[i] = rng.IntN(3000)
			}
		}
		lengths = append(lengths, ls)
	}
	for _, ls := range lengths {
		blocks := make([][]byte, len(ls))
		for i, n := range ls {
			blocks[i] = randomBytes(rng, n)
		}
		out := make([]Hash, len(blocks))
		HashLeaves(blocks, out)
		for i, b := range blocks {
			if out[i] != LeafHash(b) {
				t.Fatalf("lengths %v: leaf %d differs from LeafHash", ls, i)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("HashLeaves with len(out) != len(blocks) did not panic")
		}
	}()
	HashLeaves(make([][]byte, 2), make([]Hash, 1))
}

// TestPairUp compares the batched inner-node hash with NodeHash one pair at a
// time, into a separate level and in place (dst aliasing src, as Fold does).
func TestPairUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 3*pairBatch+3; n++ {
		src := make([]Hash, n)
		for i := range src {
			src[i] = LeafHash(randomBytes(rng, 8))
		}
		want := make([]Hash, (n+1)/2)
		for j := range want {
			if 2*j+1 < n {
				want[j] = NodeHash(src[2*j], src[2*j+1])
			} else {
				want[j] = src[2*j]
			}
		}
		dst := make([]Hash, len(want))
		pairUp(dst, src)
		inPlace := append([]Hash(nil), src...)
		pairUp(inPlace[:len(want)], inPlace)
		for j := range want {
			if dst[j] != want[j] || inPlace[j] != want[j] {
				t.Fatalf("n=%d: parent %d differs (separate %v, in place %v)", n, j, dst[j] == want[j], inPlace[j] == want[j])
			}
		}
	}
}
