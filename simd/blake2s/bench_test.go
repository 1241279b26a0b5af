package blake2s

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSizes are message lengths (after a 1-byte prefix): an inner node's
// two hashes, and leaves of 1, 4 and 16 KiB.
var benchSizes = []int{64, 1 << 10, 4 << 10, 16 << 10}

// BenchmarkSumMany hashes batches of equal messages of each size with each
// implementation this CPU has, 1 to 16 at a time (a batch of 1 on a kernel is
// its worst case: one busy lane). Throughput counts message bytes.
func BenchmarkSumMany(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, im := range impls() {
		for _, n := range benchSizes {
			for _, lanes := range []int{1, 2, 4, 8, 9, 16} {
				msgs := randMsgs(r, lanes, n)
				out := make([]digest, lanes)
				b.Run(fmt.Sprintf("%s/%dB/lanes=%d", im, n, lanes), func(b *testing.B) {
					b.SetBytes(int64(lanes * n))
					for b.Loop() {
						sumMany(im, out, []byte{0}, msgs)
					}
				})
			}
		}
	}
}
