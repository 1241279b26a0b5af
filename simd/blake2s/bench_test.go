package blake2s

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// loop runs f b.N times on one locked OS thread and reports, besides the
// wall-clock figures, "cpuMB/s": throughput over the thread's CPU time, which
// waiting for a core on a loaded machine does not inflate.
func loop(b *testing.B, bytes int, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(bytes))
	c0 := threadCPU()
	for b.Loop() {
		f()
	}
	if cpu := threadCPU() - c0; c0 > 0 && cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/(float64(cpu)/1e9)/1e6, "cpuMB/s")
	}
}

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
					loop(b, lanes*n, func() { sumMany(im, out, []byte{0}, msgs) })
				})
			}
		}
	}
}
