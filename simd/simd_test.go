package simd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// testLengths are the slice lengths of the differential tests: every length up
// to 300 (all tail sizes of every block size), then larger ones with odd tails.
func testLengths() []int {
	var ls []int
	for n := 0; n <= 300; n++ {
		ls = append(ls, n)
	}
	return append(ls, 511, 1024, 4096+17, 1<<16, 1<<16+127, 1<<18+65)
}

// guard fills the bytes outside the tested window so overruns are detected.
const guard = 0xa5

// interestingNow returns the clock values to sweep at, given the timers.
func interestingNow(r *rand.Rand, timers []uint32) []uint32 {
	nows := []uint32{0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, r.Uint32()}
	if len(timers) > 0 {
		t := timers[r.IntN(len(timers))]
		nows = append(nows, t, t-1, t+1)
	}
	return nows
}

// randomTimers fills t with values clustered around now (so that equality,
// off-by-one and both signs of t-now occur) and extremes.
func randomTimers(r *rand.Rand, t []uint32, now uint32) {
	for i := range t {
		switch r.IntN(6) {
		case 0:
			t[i] = 0
		case 1:
			t[i] = 0xffffffff
		case 2:
			t[i] = now
		case 3:
			t[i] = now + uint32(r.IntN(5)) - 2
		default:
			t[i] = r.Uint32()
		}
	}
}

// window returns a sub-slice of length n at offset off inside a guarded
// backing array, plus the whole backing array.
func window[T uint8 | uint32](n, off int, g T) (win, backing []T) {
	backing = make([]T, off+n+9)
	for i := range backing {
		backing[i] = g
	}
	return backing[off : off+n : off+n], backing
}

// checkGuard fails if any element outside [off, off+n) changed.
func checkGuard[T uint8 | uint32](t *testing.T, what string, backing []T, off, n int, g T) {
	t.Helper()
	for i, v := range backing {
		if (i < off || i >= off+n) && v != g {
			t.Fatalf("%s: wrote outside the slice at backing[%d] (off %d, len %d)", what, i, off, n)
		}
	}
}

func TestSweepDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range candidates() {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range testLengths() {
				off := r.IntN(4)
				seedNow := r.Uint32()
				wantT := make([]uint32, n)
				randomTimers(r, wantT, seedNow)
				wantC := make([]uint8, n)
				for i := range wantC {
					wantC[i] = uint8(r.Uint32())
				}
				for _, now := range interestingNow(r, wantT) {
					gotC, bc := window(n, off, uint8(guard))
					gotT, bt := window(n, off, uint32(guard))
					copy(gotC, wantC)
					copy(gotT, wantT)
					refC, refT := slices.Clone(wantC), slices.Clone(wantT)
					wantLive := sweepRef(refC, refT, now)
					gotLive := k.sweep(gotC, gotT, now)
					if gotLive != wantLive {
						t.Fatalf("n=%d off=%d now=%#x: live = %d, want %d", n, off, now, gotLive, wantLive)
					}
					if i := firstDiff(gotC, refC); i >= 0 {
						t.Fatalf("n=%d off=%d now=%#x: counters[%d] = %d, want %d (timer was %#x)", n, off, now, i, gotC[i], refC[i], wantT[i])
					}
					if i := firstDiff(gotT, refT); i >= 0 {
						t.Fatalf("n=%d off=%d now=%#x: timers[%d] = %#x, want %#x", n, off, now, i, gotT[i], refT[i])
					}
					checkGuard(t, "counters", bc, off, n, uint8(guard))
					checkGuard(t, "timers", bt, off, n, uint32(guard))
				}
			}
		})
	}
}

func TestRebaseDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range candidates() {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range testLengths() {
				off := r.IntN(4)
				orig := make([]uint32, n)
				randomTimers(r, orig, r.Uint32())
				for _, base := range interestingNow(r, orig) {
					got, bt := window(n, off, uint32(guard))
					copy(got, orig)
					want := slices.Clone(orig)
					rebaseRef(want, base)
					k.rebase(got, base)
					if i := firstDiff(got, want); i >= 0 {
						t.Fatalf("n=%d off=%d base=%#x: timers[%d] = %#x, want %#x (was %#x)", n, off, base, i, got[i], want[i], orig[i])
					}
					checkGuard(t, "timers", bt, off, n, uint32(guard))
				}
			}
		})
	}
}

func TestCountNonZeroDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range candidates() {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range testLengths() {
				// Densities from empty to full, so runs of zeros and
				// non-zeros both cross block boundaries.
				for _, density := range []float64{0, 0.01, 0.5, 0.99, 1} {
					c, _ := window(n, r.IntN(4), uint8(guard))
					for i := range c {
						c[i] = 0
						if r.Float64() < density {
							c[i] = uint8(1 + r.IntN(255))
						}
					}
					if got, want := k.countNonZero(c), countNonZeroRef(c); got != want {
						t.Fatalf("n=%d density=%v: CountNonZero = %d, want %d", n, density, got, want)
					}
				}
			}
		})
	}
}

// TestSweepLanes checks each slot position of a block on its own, so a wrong
// lane permutation in the packed counter mask cannot hide behind symmetric
// data.
func TestSweepLanes(t *testing.T) {
	const n = 256
	for _, k := range candidates() {
		t.Run(k.name, func(t *testing.T) {
			for live := range n {
				c := make([]uint8, n)
				tm := make([]uint32, n)
				for i := range c {
					c[i] = uint8(i) | 1
					tm[i] = 100
				}
				tm[live] = 101
				if got := k.sweep(c, tm, 100); got != 1 {
					t.Fatalf("slot %d live: Sweep = %d, want 1", live, got)
				}
				for i := range c {
					wantC, wantT := uint8(0), uint32(0)
					if i == live {
						wantC, wantT = uint8(i)|1, 101
					}
					if c[i] != wantC || tm[i] != wantT {
						t.Fatalf("slot %d live: slot %d = (%d, %d), want (%d, %d)", live, i, c[i], tm[i], wantC, wantT)
					}
				}
			}
		})
	}
}

func TestSweepPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Sweep with len(counters) != len(timers) did not panic")
		}
	}()
	Sweep(make([]uint8, 3), make([]uint32, 4), 0)
}

func TestSweepSemantics(t *testing.T) {
	cases := []struct {
		name     string
		timers   []uint32
		now      uint32
		wantLive int
		wantT    []uint32
	}{
		{"empty", nil, 5, 0, nil},
		{"equal is expired", []uint32{5}, 5, 0, []uint32{0}},
		{"one above is live", []uint32{6}, 5, 1, []uint32{6}},
		{"zero timer at now 0", []uint32{0}, 0, 0, []uint32{0}},
		{"max timer never expires", []uint32{0xffffffff}, 0xfffffffe, 1, []uint32{0xffffffff}},
		{"max now expires all", []uint32{0xffffffff, 1}, 0xffffffff, 0, []uint32{0, 0}},
		{"unsigned compare", []uint32{0x80000000, 0x7fffffff}, 0x7fffffff, 1, []uint32{0x80000000, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := make([]uint8, len(tc.timers))
			for i := range c {
				c[i] = 7
			}
			tm := slices.Clone(tc.timers)
			if got := Sweep(c, tm, tc.now); got != tc.wantLive {
				t.Errorf("live = %d, want %d", got, tc.wantLive)
			}
			if !slices.Equal(tm, tc.wantT) {
				t.Errorf("timers = %v, want %v", tm, tc.wantT)
			}
			for i := range c {
				if want := uint8(7 * min(tm[i], 1)); c[i] != want {
					t.Errorf("counters[%d] = %d, want %d", i, c[i], want)
				}
			}
		})
	}
}

func firstDiff[T comparable](a, b []T) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func ExampleSweep() {
	counters := []uint8{1, 2, 3}
	timers := []uint32{10, 20, 30}
	live := Sweep(counters, timers, 20)
	fmt.Println(live, counters, timers)
	// Output: 1 [0 0 3] [0 0 30]
}
