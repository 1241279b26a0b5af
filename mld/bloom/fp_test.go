package bloom

import (
	"fmt"
	"testing"
)

// fpQueries is the number of absent groups probed per measurement.
const fpQueries = 200_000

// falsePositiveRate inserts n groups into f and returns the fraction of
// fpQueries other groups that f reports present.
func falsePositiveRate(f *Filter, n int) float64 {
	for i := range uint64(n) {
		f.Insert(group(i), 1000)
	}
	fp := 0
	for i := range uint64(fpQueries) {
		if f.Contains(group(1<<40+i), 0) {
			fp++
		}
	}
	return float64(fp) / fpQueries
}

// TestFalsePositiveRate fills filters sized for 1k, 10k and 100k groups to
// capacity and checks the measured rate is within 1.5x of the configured one.
// It also reports the rate of the default filter at lower fill.
func TestFalsePositiveRate(t *testing.T) {
	const p = 0.01
	for _, n := range []int{1000, 10_000, 100_000} {
		t.Run(fmt.Sprintf("capacity %d full", n), func(t *testing.T) {
			got := falsePositiveRate(mustNew(t, Config{Capacity: n, FalsePositive: p}), n)
			t.Logf("capacity %d, %d groups: false-positive rate %.4f (configured %.2f)", n, n, got, p)
			if got > 1.5*p {
				t.Errorf("false-positive rate %.4f at capacity %d, want <= %.4f", got, n, 1.5*p)
			}
		})
		t.Run(fmt.Sprintf("default filter %d groups", n), func(t *testing.T) {
			got := falsePositiveRate(mustNew(t, Config{}), n)
			t.Logf("default filter, %d groups: false-positive rate %.5f", n, got)
			if got > 1.5*DefaultFalsePositive {
				t.Errorf("false-positive rate %.4f with %d groups, want <= %.4f", got, n, 1.5*DefaultFalsePositive)
			}
		})
	}
}
