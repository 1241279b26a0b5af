package bloom

import (
	"fmt"
	"testing"
)

// BenchmarkContains queries a default-sized filter holding 10^2 .. 10^6
// groups (10^6 is ten times its capacity). The cost should be flat: k random
// reads, whatever the fill. Half the queries are for present groups.
func BenchmarkContains(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			f := mustNew(b, Config{})
			for i := range uint64(n) {
				f.Insert(group(i), 1000)
			}
			hits := 0
			i := uint64(0)
			for b.Loop() {
				if f.Contains(group(i%uint64(2*n)), 0) {
					hits++
				}
				i++
			}
			b.ReportMetric(float64(hits)/float64(b.N), "hit-rate")
		})
	}
}

// BenchmarkInsert inserts groups into a default-sized filter.
func BenchmarkInsert(b *testing.B) {
	f := mustNew(b, Config{})
	i := uint64(0)
	for b.Loop() {
		f.Insert(group(i%100_000), uint32(i))
		i++
	}
}

// BenchmarkInsertRemove inserts and removes a group in a default-sized filter
// holding 50k groups.
func BenchmarkInsertRemove(b *testing.B) {
	f := mustNew(b, Config{})
	for i := range uint64(50_000) {
		f.Insert(group(i), 1000)
	}
	i := uint64(0)
	for b.Loop() {
		g := group(1<<40 + i%1000)
		f.Insert(g, 1000)
		f.Remove(g)
		i++
	}
}

// BenchmarkSweep sweeps a default-sized filter: idle (nothing ever inserted
// since the last clear), full (100k groups, all live: a full scan that clears
// nothing) and expired (everything expired: the fast clear).
func BenchmarkSweep(b *testing.B) {
	b.Run("idle", func(b *testing.B) {
		f := mustNew(b, Config{})
		for b.Loop() {
			f.Sweep(1)
		}
		b.ReportMetric(float64(f.Bytes()), "filter-bytes")
	})
	b.Run("full", func(b *testing.B) {
		f := mustNew(b, Config{})
		for i := range uint64(DefaultCapacity) {
			f.Insert(group(i), 1000)
		}
		for b.Loop() {
			f.Sweep(1)
		}
		b.SetBytes(int64(f.Bytes()))
	})
	b.Run("expired", func(b *testing.B) {
		f := mustNew(b, Config{})
		for b.Loop() {
			f.Insert(group(1), 10)
			f.Sweep(10)
		}
		b.SetBytes(int64(f.Bytes()))
	})
}

// BenchmarkFalsePositiveRate reports the measured false-positive rate of
// filters sized for 1k, 10k and 100k groups at 1 %, each holding its capacity.
func BenchmarkFalsePositiveRate(b *testing.B) {
	for _, n := range []int{1000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("capacity=%d", n), func(b *testing.B) {
			var rate float64
			for b.Loop() {
				rate = falsePositiveRate(mustNew(b, Config{Capacity: n}), n)
			}
			b.ReportMetric(rate, "fp-rate")
		})
	}
}
