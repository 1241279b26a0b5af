//go:build amd64 && !purego

package blake2s

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkKernel runs each kernel the CPU has directly on 1 to 16 busy
// lanes, to place the thresholds below which SumMany hashes one at a time.
func BenchmarkKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	ks := []struct {
		name  string
		k     kernel
		lanes int
		ok    bool
	}{
		{"avx2", kernelAVX2, 8, cpuBest() >= implAVX2},
		{"avx512", kernelAVX512, 16, cpuBest() >= implAVX512},
	}
	for _, k := range ks {
		if !k.ok {
			continue
		}
		for _, n := range benchSizes {
			for _, lanes := range []int{1, 2, 3, 4, 8, 16} {
				if lanes > k.lanes {
					continue
				}
				msgs := randMsgs(r, lanes, n)
				out := make([]digest, lanes)
				b.Run(fmt.Sprintf("%s/%dB/lanes=%d", k.name, n, lanes), func(b *testing.B) {
					loop(b, lanes*n, func() { sumLanes(k.k, out, []byte{0}, msgs) })
				})
			}
		}
	}
}
