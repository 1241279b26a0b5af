package bloom

import (
	"hash/maphash"
	"net/netip"

	"github.com/lcsync/lcsync/simd"
)

// Filter is a counted bloom filter with a bloom timer: one saturating 8-bit
// counter and one expiry tick per slot. A group is present while every one of
// its k slots has a non-zero counter and a timer later than now.
//
// Ticks are uint32 values of the owner's monotonic clock (for example
// milliseconds since start); Rebase keeps them far from wrap-around.
//
// A Filter is not safe for concurrent use: one owner serialises every call.
type Filter struct {
	counters []uint8
	timers   []uint32
	k        int
	seed     maphash.Seed
	idx      [MaxHashes]uint32 // scratch for the current group's indices

	// maxExpiry bounds every timer: no timer is above it.
	maxExpiry uint32
	// clean is true when every counter and every timer is zero.
	clean bool
}

// New returns an empty filter sized by cfg, or an error if cfg is invalid or
// would need more than MaxSlots slots.
func New(cfg Config) (*Filter, error) {
	m, k, err := cfg.size()
	if err != nil {
		return nil, err
	}
	return &Filter{
		counters: make([]uint8, m),
		timers:   make([]uint32, m),
		k:        k,
		seed:     maphash.MakeSeed(),
		clean:    true,
	}, nil
}

// Slots returns the number of slots m.
func (f *Filter) Slots() int { return len(f.counters) }

// Hashes returns the number of slots k each group maps to.
func (f *Filter) Hashes() int { return f.k }

// Bytes returns the memory held by the counters and timers.
func (f *Filter) Bytes() int { return len(f.counters) + 4*len(f.timers) }

// Insert counts one more listener report for g and raises g's timers to at
// least expiry. Counters saturate at 255.
func (f *Filter) Insert(g netip.Addr, expiry uint32) {
	idx := f.indices(g)
	simd.IncAt(f.counters, idx)
	f.raise(idx, expiry)
}

// Refresh raises g's timers to at least expiry without counting a new
// listener. Refreshing an absent group does not make it present.
func (f *Filter) Refresh(g netip.Addr, expiry uint32) {
	f.raise(f.indices(g), expiry)
}

// Remove undoes one Insert of g. Counters at 255 stay there (their true
// count is unknown; only expiry clears them). When any of g's counters is
// already zero, g is certainly absent and Remove does nothing, so removing an
// absent group cannot corrupt the counts of groups sharing its other slots.
// Removing a group that was never inserted but whose slots are all non-zero
// (a false positive) still decrements them: callers remove only what they
// inserted.
func (f *Filter) Remove(g netip.Addr) {
	idx := f.indices(g)
	if simd.MinAt(f.counters, idx) == 0 {
		return
	}
	simd.DecAt(f.counters, idx)
}

// Contains reports whether g is present at tick now: every one of its
// counters is non-zero and every one of its timers is later than now. It
// never reports false for a group inserted, not removed and not expired; it
// reports true for an absent group with the configured false-positive rate.
func (f *Filter) Contains(g netip.Addr, now uint32) bool {
	for _, i := range f.indices(g) {
		// Stop at the first empty or expired slot: an absent group
		// usually costs one or two reads instead of 2k.
		if f.counters[i] == 0 || f.timers[i] <= now {
			return false
		}
	}
	return true
}

// Reset empties the filter.
func (f *Filter) Reset() {
	clear(f.counters)
	clear(f.timers)
	f.maxExpiry = 0
	f.clean = true
}

// raise raises the timers at idx to expiry and records that the filter holds
// state.
func (f *Filter) raise(idx []uint32, expiry uint32) {
	simd.RaiseAt(f.timers, idx, expiry)
	f.maxExpiry = max(f.maxExpiry, expiry)
	f.clean = false
}
