package simd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSizes are the slot counts of the bulk benchmarks: 2^16 .. 2^22.
var benchSizes = []uint{16, 18, 20, 22}

// benchKernels lists the implementations to benchmark: the assembly one when
// present, the generic one and the reference loop.
func benchKernels() []kernels {
	return append(asmKernels(), genericKernels, refKernels)
}

// reportGBs reports throughput over the bytes each call touches.
func reportGBs(b *testing.B, bytesPerOp int) {
	b.ReportMetric(float64(bytesPerOp)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkSweep sweeps a filter where half the slots (at random) are live.
// Expired slots stay expired and live ones stay live, so every iteration sees
// the same unpredictable pattern.
func BenchmarkSweep(b *testing.B) {
	for _, k := range benchKernels() {
		for _, lg := range benchSizes {
			n := 1 << lg
			b.Run(fmt.Sprintf("%s/2^%d", k.name, lg), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, uint64(lg)))
				c := make([]uint8, n)
				tm := make([]uint32, n)
				const now = 1 << 30
				for i := range tm {
					tm[i] = r.Uint32N(2 * now)
					c[i] = 1
				}
				for b.Loop() {
					k.sweep(c, tm, now)
				}
				reportGBs(b, 5*n)
			})
		}
	}
}

// BenchmarkRebase rebases by 1 tick a swept filter: half the timers (at
// random) are 0 and stay 0, the others are large and stay above the base.
func BenchmarkRebase(b *testing.B) {
	for _, k := range benchKernels() {
		for _, lg := range benchSizes {
			n := 1 << lg
			b.Run(fmt.Sprintf("%s/2^%d", k.name, lg), func(b *testing.B) {
				r := rand.New(rand.NewPCG(2, uint64(lg)))
				tm := make([]uint32, n)
				for i := range tm {
					tm[i] = uint32(r.IntN(2)) * (1<<31 + r.Uint32N(1<<30))
				}
				for b.Loop() {
					k.rebase(tm, 1)
				}
				reportGBs(b, 4*n)
			})
		}
	}
}

// BenchmarkCountNonZero counts a filter where half the counters (at random)
// are non-zero.
func BenchmarkCountNonZero(b *testing.B) {
	for _, k := range benchKernels() {
		for _, lg := range benchSizes {
			n := 1 << lg
			b.Run(fmt.Sprintf("%s/2^%d", k.name, lg), func(b *testing.B) {
				r := rand.New(rand.NewPCG(3, uint64(lg)))
				c := make([]uint8, n)
				for i := range c {
					c[i] = uint8(r.IntN(2))
				}
				for b.Loop() {
					k.countNonZero(c)
				}
				reportGBs(b, n)
			})
		}
	}
}

// kBench holds a default-sized filter (about a million slots) and many sets
// of k = 7 random indices, cycled so that each operation meets cold-ish cache
// lines as a real per-report update does.
type kBench struct {
	c   []uint8
	t   []uint32
	idx [][]uint32
}

func newKBench() *kBench {
	const slots, sets, k = 958528, 4096, 7
	r := rand.New(rand.NewPCG(4, 5))
	kb := &kBench{c: make([]uint8, slots), t: make([]uint32, slots), idx: make([][]uint32, sets)}
	for i := range kb.idx {
		kb.idx[i] = make([]uint32, k)
		for j := range kb.idx[i] {
			kb.idx[i][j] = r.Uint32N(slots)
		}
	}
	for i := range kb.c {
		kb.c[i] = uint8(r.IntN(4))
		kb.t[i] = r.Uint32()
	}
	return kb
}

// BenchmarkKIndex measures the per-report operations on k = 7 positions.
func BenchmarkKIndex(b *testing.B) {
	kb := newKBench()
	var sink uint32
	ops := []struct {
		name string
		fn   func(idx []uint32)
	}{
		{"IncAt", func(idx []uint32) { IncAt(kb.c, idx) }},
		{"DecAt", func(idx []uint32) { DecAt(kb.c, idx) }},
		{"MinAt", func(idx []uint32) { sink += uint32(MinAt(kb.c, idx)) }},
		{"RaiseAt", func(idx []uint32) { RaiseAt(kb.t, idx, 1<<31) }},
		{"MinAt32", func(idx []uint32) { sink += MinAt32(kb.t, idx) }},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				op.fn(kb.idx[i&(len(kb.idx)-1)])
				i++
			}
		})
	}
	_ = sink
}
