package bloom

import (
	"math"

	"github.com/lcsync/lcsync/simd"
)

// Sweep expires every slot whose timer is not later than now, clearing its
// counter and timer, and returns the number of slots still live. It costs
// nothing when the filter is already clear, and when now has passed every
// expiry ever set it clears both arrays without comparing them.
func (f *Filter) Sweep(now uint32) (live int) {
	if f.clean {
		return 0
	}
	if now >= f.maxExpiry {
		f.Reset()
		return 0
	}
	live = simd.Sweep(f.counters, f.timers, now)
	if live == 0 { // every slot was expired, so every slot is now zero
		f.maxExpiry = 0
		f.clean = true
	}
	return live
}

// Rebase subtracts base from every timer, saturating at 0. The owner
// subtracts the same base from its clock, so a filter can outlive the 2^32
// tick range; Contains answers the same for a rebased now as long as
// base <= now.
func (f *Filter) Rebase(base uint32) {
	if f.clean {
		return
	}
	simd.Rebase(f.timers, base)
	f.maxExpiry -= min(f.maxExpiry, base)
}

// Fill returns the number of slots with a non-zero counter. Slots whose timer
// expired count until the next Sweep.
func (f *Filter) Fill() int {
	if f.clean {
		return 0
	}
	return simd.CountNonZero(f.counters)
}

// EstimatedCount estimates the number of distinct groups in the filter from
// its fill X: -m/k ln(1 - X/m). It returns +Inf when every slot is filled.
func (f *Filter) EstimatedCount() float64 {
	m := float64(len(f.counters))
	x := float64(f.Fill())
	if x >= m {
		return math.Inf(1)
	}
	return -m / float64(f.k) * math.Log1p(-x/m)
}
