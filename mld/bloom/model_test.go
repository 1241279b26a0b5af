package bloom

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// model is the exact set the filter approximates: per group, the number of
// inserts not yet removed and the latest expiry.
type model map[netip.Addr]*entry

type entry struct {
	count  int
	expiry uint32
}

// opRunner drives a filter and the model with the same operations and checks
// the one guarantee a counted bloom filter gives: no false negatives.
type opRunner struct {
	t      testing.TB
	f      *Filter
	m      model
	now    uint32
	groups []netip.Addr
	ops    []uint8 // the operations step chooses from
}

// allOps is every operation of step.
var allOps = []uint8{0, 1, 2, 3, 4, 5, 6, 7}

func newOpRunner(t testing.TB, cfg Config, groups int, ops []uint8) *opRunner {
	r := &opRunner{t: t, f: mustNew(t, cfg), m: model{}, ops: ops}
	for i := range groups {
		r.groups = append(r.groups, group(uint64(i)))
	}
	return r
}

// step performs one operation chosen by op on group g, with arg as a tick
// delta, then checks every group.
func (r *opRunner) step(op, g, arg uint8) {
	grp := r.groups[int(g)%len(r.groups)]
	e := r.m[grp]
	switch r.ops[int(op)%len(r.ops)] {
	case 0, 1: // insert, expiring arg ticks from now
		exp := r.now + uint32(arg)
		r.f.Insert(grp, exp)
		if e == nil {
			e = &entry{}
			r.m[grp] = e
		}
		e.count++
		e.expiry = max(e.expiry, exp)
	case 2: // insert the same group many times to saturate its counters
		for range 40 {
			r.f.Insert(grp, r.now+uint32(arg))
		}
		if e == nil {
			e = &entry{}
			r.m[grp] = e
		}
		e.count += 40
		e.expiry = max(e.expiry, r.now+uint32(arg))
	case 3: // refresh
		exp := r.now + uint32(arg)
		r.f.Refresh(grp, exp)
		if e != nil {
			e.expiry = max(e.expiry, exp)
		}
	case 4: // remove, only what was inserted
		if e != nil {
			r.f.Remove(grp)
			if e.count--; e.count == 0 {
				delete(r.m, grp)
			}
		}
	case 5: // advance the clock
		r.now += uint32(arg % 32)
	case 6: // sweep
		r.f.Sweep(r.now)
		for a, e := range r.m {
			if e.expiry <= r.now {
				delete(r.m, a)
			}
		}
	case 7: // rebase by up to now
		base := min(uint32(arg), r.now)
		r.f.Rebase(base)
		r.now -= base
		for _, e := range r.m {
			e.expiry -= min(e.expiry, base)
		}
	}
	r.check()
}

// check fails on any false negative.
func (r *opRunner) check() {
	for a, e := range r.m {
		if e.count > 0 && e.expiry > r.now && !r.f.Contains(a, r.now) {
			r.t.Fatalf("false negative: %v inserted %d times, expiry %d, now %d, absent", a, e.count, e.expiry, r.now)
		}
	}
}

// TestNoFalseNegatives runs random operations on small, heavily colliding
// filters (so counters share slots and saturate) against the exact model.
func TestNoFalseNegatives(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		groups int
		ops    []uint8
		seed   uint64
	}{
		{"tiny filter many groups", Config{Capacity: 4, FalsePositive: 0.1}, 64, allOps, 1},
		{"small filter", Config{Capacity: 32}, 64, allOps, 2},
		{"sized for the groups", Config{Capacity: 64}, 64, allOps, 3},
		{"few groups", Config{Capacity: 1000}, 8, allOps, 4},
		// No clock, no sweeps: counters climb past 255 and then removals
		// try to bring saturated shared slots down.
		{"saturation", Config{Capacity: 4, FalsePositive: 0.1}, 8, append([]uint8{2}, slices.Repeat([]uint8{4}, 45)...), 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newOpRunner(t, tc.cfg, tc.groups, tc.ops)
			rng := rand.New(rand.NewPCG(tc.seed, 99))
			for range 20_000 {
				r.step(uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()))
			}
		})
	}
}

// FuzzOps drives a tiny filter with fuzzer-chosen operations (three bytes
// each: op, group, tick delta) and fails on any false negative or panic.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 10, 4, 1, 0, 0, 1, 10})           // insert, remove, insert
	f.Add([]byte{2, 3, 200, 6, 0, 0, 4, 3, 0})           // saturate, sweep, remove
	f.Add([]byte{0, 1, 50, 5, 0, 31, 7, 0, 20, 6, 0, 0}) // insert, advance, rebase, sweep
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 3000 {
			ops = ops[:3000]
		}
		r := newOpRunner(t, Config{Capacity: 4, FalsePositive: 0.1}, 16, allOps)
		for i := 0; i+3 <= len(ops); i += 3 {
			r.step(ops[i], ops[i+1], ops[i+2])
		}
	})
}
