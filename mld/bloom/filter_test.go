package bloom

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
)

// group returns the i-th test group, ff15::i (site-scoped, transient).
func group(i uint64) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xff, 0x15
	binary.BigEndian.PutUint64(a[8:], i)
	return netip.AddrFrom16(a)
}

func mustNew(t testing.TB, cfg Config) *Filter {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// slotsOf returns a copy of g's slot indices in f.
func slotsOf(f *Filter, g netip.Addr) []uint32 {
	return slices.Clone(f.indices(g))
}

func TestLifecycle(t *testing.T) {
	g := group(1)
	cases := []struct {
		name string
		run  func(t *testing.T, f *Filter)
	}{
		{"empty filter contains nothing", func(t *testing.T, f *Filter) {
			if f.Contains(g, 0) {
				t.Error("empty filter contains g")
			}
		}},
		{"insert then contains until expiry", func(t *testing.T, f *Filter) {
			f.Insert(g, 100)
			for _, now := range []uint32{0, 50, 99} {
				if !f.Contains(g, now) {
					t.Errorf("Contains(g, %d) = false before expiry 100", now)
				}
			}
			if f.Contains(g, 100) || f.Contains(g, 101) {
				t.Error("Contains true at or after expiry 100")
			}
		}},
		{"refresh keeps it alive past the original expiry", func(t *testing.T, f *Filter) {
			f.Insert(g, 100)
			f.Refresh(g, 200)
			if got := f.Sweep(150); got == 0 {
				t.Error("Sweep(150) reports nothing live after refresh to 200")
			}
			if !f.Contains(g, 150) || !f.Contains(g, 199) {
				t.Error("refreshed group absent before its new expiry 200")
			}
			if f.Contains(g, 200) {
				t.Error("refreshed group present at its new expiry 200")
			}
		}},
		{"refresh never lowers a timer", func(t *testing.T, f *Filter) {
			f.Insert(g, 200)
			f.Refresh(g, 100)
			if !f.Contains(g, 150) {
				t.Error("Refresh to an earlier tick shortened the group's life")
			}
		}},
		{"refresh of an absent group does not insert it", func(t *testing.T, f *Filter) {
			f.Refresh(g, 100)
			if f.Contains(g, 0) {
				t.Error("Refresh made an absent group present")
			}
		}},
		{"sweep at expiry clears it", func(t *testing.T, f *Filter) {
			f.Insert(g, 100)
			if live := f.Sweep(99); live != f.Hashes() {
				t.Errorf("Sweep(99) = %d live, want %d (one group's slots)", live, f.Hashes())
			}
			if live := f.Sweep(100); live != 0 {
				t.Errorf("Sweep(100) = %d live, want 0", live)
			}
			if f.Fill() != 0 {
				t.Errorf("Fill() = %d after the sweep, want 0", f.Fill())
			}
			f.Refresh(g, 300)
			if f.Contains(g, 200) {
				t.Error("a swept group came back with a refresh alone")
			}
		}},
		{"remove after insert clears it", func(t *testing.T, f *Filter) {
			f.Insert(g, 100)
			f.Remove(g)
			if f.Contains(g, 0) {
				t.Error("group present after Insert+Remove")
			}
			if f.Fill() != 0 {
				t.Errorf("Fill() = %d, want 0", f.Fill())
			}
		}},
		{"two inserts need two removes", func(t *testing.T, f *Filter) {
			f.Insert(g, 100)
			f.Insert(g, 100)
			f.Remove(g)
			if !f.Contains(g, 0) {
				t.Error("group absent after 2 inserts and 1 remove")
			}
			f.Remove(g)
			if f.Contains(g, 0) {
				t.Error("group present after 2 inserts and 2 removes")
			}
		}},
		{"remove of an absent group is a no-op", func(t *testing.T, f *Filter) {
			f.Remove(g)
			if f.Fill() != 0 {
				t.Errorf("Fill() = %d after removing from an empty filter", f.Fill())
			}
		}},
		{"reset empties", func(t *testing.T, f *Filter) {
			f.Insert(g, 100)
			f.Reset()
			if f.Contains(g, 0) || f.Fill() != 0 {
				t.Error("Reset left the group behind")
			}
		}},
		{"rebase shifts expiry", func(t *testing.T, f *Filter) {
			f.Insert(g, 1_000_100)
			f.Rebase(1_000_000)
			if !f.Contains(g, 99) || f.Contains(g, 100) {
				t.Error("after Rebase(1e6), expiry is not at tick 100")
			}
			f.Rebase(200) // more than the remaining life: saturates at 0
			if f.Contains(g, 0) {
				t.Error("group present after rebasing past its expiry")
			}
		}},
		{"ipv4 and ipv4-mapped are the same group", func(t *testing.T, f *Filter) {
			f.Insert(netip.MustParseAddr("239.1.2.3"), 100)
			if !f.Contains(netip.MustParseAddr("::ffff:239.1.2.3"), 0) {
				t.Error("IPv4-mapped form of an inserted IPv4 group is absent")
			}
		}},
		{"zones are ignored", func(t *testing.T, f *Filter) {
			f.Insert(netip.MustParseAddr("ff02::1:3%eth0"), 100)
			if !f.Contains(netip.MustParseAddr("ff02::1:3"), 0) {
				t.Error("zoned and unzoned forms of a group differ")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, mustNew(t, Config{Capacity: 1000}))
		})
	}
}

// collidingPair finds two groups in f that share at least one slot while each
// also has a slot of its own.
func collidingPair(t *testing.T, f *Filter) (a, b netip.Addr, shared uint32) {
	t.Helper()
	for i := uint64(0); i < 1000; i++ {
		for j := i + 1; j < 1000; j++ {
			sa, sb := slotsOf(f, group(i)), slotsOf(f, group(j))
			common := -1
			for _, s := range sa {
				if slices.Contains(sb, s) {
					common = int(s)
				}
			}
			if common >= 0 && hasOwn(sa, sb) && hasOwn(sb, sa) {
				return group(i), group(j), uint32(common)
			}
		}
	}
	t.Fatal("no colliding pair among 1000 groups")
	return
}

// hasOwn reports whether x has a slot that y does not.
func hasOwn(x, y []uint32) bool {
	for _, s := range x {
		if !slices.Contains(y, s) {
			return true
		}
	}
	return false
}

func TestSharedSlots(t *testing.T) {
	// A 64-slot filter with 4 hashes: collisions are easy to find.
	cfg := Config{Capacity: 10, FalsePositive: 0.1}
	cases := []struct {
		name string
		run  func(t *testing.T, f *Filter, a, b netip.Addr, shared uint32)
	}{
		{"removing one leaves the other", func(t *testing.T, f *Filter, a, b netip.Addr, _ uint32) {
			f.Insert(a, 100)
			f.Insert(b, 100)
			f.Remove(a)
			if !f.Contains(b, 0) {
				t.Error("removing a made b absent")
			}
			if f.Contains(a, 0) {
				t.Error("a present after its removal (it has a slot of its own)")
			}
		}},
		{"duplicate remove does not hurt the other", func(t *testing.T, f *Filter, a, b netip.Addr, _ uint32) {
			f.Insert(a, 100)
			f.Insert(b, 100)
			f.Remove(a)
			f.Remove(a) // a duplicated leave: a's own slot is 0, so no-op
			f.Remove(a)
			if !f.Contains(b, 0) {
				t.Error("repeated removal of a made b absent")
			}
		}},
		{"saturated shared slot is sticky", func(t *testing.T, f *Filter, a, b netip.Addr, shared uint32) {
			for range 300 {
				f.Insert(a, 100)
			}
			f.Insert(b, 100)
			if f.counters[shared] != 255 {
				t.Fatalf("shared counter = %d after 301 inserts, want 255", f.counters[shared])
			}
			for range 300 {
				f.Remove(a)
			}
			if f.counters[shared] != 255 {
				t.Errorf("shared counter = %d after removals, want a sticky 255", f.counters[shared])
			}
			if !f.Contains(b, 0) {
				t.Error("b absent while its counters are non-zero")
			}
			f.Remove(b) // b's own counters hit zero: now, and only now, b is absent
			if f.Contains(b, 0) {
				t.Error("b present after its own counters reached zero")
			}
			if f.Sweep(100) != 0 || f.counters[shared] != 0 {
				t.Error("expiry did not clear the saturated slot")
			}
		}},
		{"expiry of one leaves the other", func(t *testing.T, f *Filter, a, b netip.Addr, _ uint32) {
			f.Insert(a, 100)
			f.Insert(b, 200)
			f.Sweep(150)
			if f.Contains(a, 150) {
				t.Error("a present after its expiry and a sweep")
			}
			if !f.Contains(b, 150) {
				t.Error("sweeping a's expiry made b absent")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustNew(t, cfg)
			a, b, shared := collidingPair(t, f)
			tc.run(t, f, a, b, shared)
		})
	}
}

func TestIndicesInRange(t *testing.T) {
	for _, cfg := range []Config{{Capacity: 1}, {Capacity: 1000}, {}} {
		f := mustNew(t, cfg)
		distinct := 0
		for i := range uint64(2000) {
			idx := f.indices(group(i))
			if len(idx) != f.Hashes() {
				t.Fatalf("%d indices, want %d", len(idx), f.Hashes())
			}
			seen := map[uint32]bool{}
			for _, x := range idx {
				if int(x) >= f.Slots() {
					t.Fatalf("index %d out of range [0, %d)", x, f.Slots())
				}
				seen[x] = true
			}
			if len(seen) == len(idx) {
				distinct++
			}
		}
		// Indices are distinct unless the step shares a factor with m.
		if f.Slots() > 1000 && distinct < 1900 {
			t.Errorf("m=%d: only %d of 2000 groups have k distinct indices", f.Slots(), distinct)
		}
	}
}

func TestSeedPerFilter(t *testing.T) {
	f1, f2 := mustNew(t, Config{}), mustNew(t, Config{})
	same := 0
	for i := range uint64(100) {
		if slices.Equal(slotsOf(f1, group(i)), slotsOf(f2, group(i))) {
			same++
		}
		if !slices.Equal(slotsOf(f1, group(i)), slotsOf(f1, group(i))) {
			t.Fatal("one filter maps the same group to different slots")
		}
	}
	if same > 1 {
		t.Errorf("%d of 100 groups have the same slots in two filters: the hash seed is not per filter", same)
	}
}
