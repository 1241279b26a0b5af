package bloom

import (
	"math"
	"testing"
)

func TestSweepSkipsWhenClean(t *testing.T) {
	f := mustNew(t, Config{Capacity: 1000})
	f.Insert(group(1), 100)
	f.Sweep(100)
	if !f.clean {
		t.Fatal("filter not marked clean after every slot expired")
	}
	// Plant state behind the filter's back: a clean filter must not look at
	// its arrays at all, so the planted slot survives the sweep.
	f.counters[3], f.timers[3] = 1, 1
	if live := f.Sweep(0); live != 0 || f.counters[3] != 1 {
		t.Errorf("Sweep on a clean filter scanned the arrays (live %d, counter %d)", live, f.counters[3])
	}
}

func TestSweepFastClear(t *testing.T) {
	f := mustNew(t, Config{Capacity: 1000})
	for i := range uint64(100) {
		f.Insert(group(i), uint32(10+i))
	}
	if f.maxExpiry != 109 {
		t.Fatalf("maxExpiry = %d, want 109", f.maxExpiry)
	}
	if live := f.Sweep(50); live == 0 || f.clean {
		t.Fatalf("Sweep(50) = %d live, clean %v; want live slots", live, f.clean)
	}
	if live := f.Sweep(109); live != 0 || !f.clean || f.Fill() != 0 {
		t.Errorf("Sweep(max expiry) = %d live, clean %v, fill %d; want an empty clean filter", live, f.clean, f.Fill())
	}
	if f.maxExpiry != 0 {
		t.Errorf("maxExpiry = %d after clearing, want 0", f.maxExpiry)
	}
}

func TestRebaseAdjustsMaxExpiry(t *testing.T) {
	f := mustNew(t, Config{Capacity: 1000})
	f.Insert(group(1), 500)
	f.Rebase(200)
	if f.maxExpiry != 300 {
		t.Errorf("maxExpiry = %d after Rebase(200), want 300", f.maxExpiry)
	}
	if live := f.Sweep(299); live == 0 {
		t.Error("group expired early after a rebase")
	}
	f.Rebase(1000)
	if f.maxExpiry != 0 {
		t.Errorf("maxExpiry = %d after rebasing past it, want 0", f.maxExpiry)
	}
}

func TestEstimatedCount(t *testing.T) {
	cases := []struct {
		name string
		n    uint64
	}{
		{"empty", 0},
		{"1k", 1000},
		{"10k", 10_000},
		{"at capacity", 100_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustNew(t, Config{})
			for i := range tc.n {
				f.Insert(group(i), 1)
			}
			got := f.EstimatedCount()
			if math.Abs(got-float64(tc.n)) > 0.03*float64(tc.n) {
				t.Errorf("EstimatedCount() = %.0f, want %d ± 3%%", got, tc.n)
			}
		})
	}
	t.Run("saturated", func(t *testing.T) {
		f := mustNew(t, Config{Capacity: 1})
		for i := range uint64(1000) {
			f.Insert(group(i), 1)
		}
		if got := f.EstimatedCount(); !math.IsInf(got, 1) {
			t.Errorf("EstimatedCount() of a full filter = %v, want +Inf", got)
		}
	})
}
