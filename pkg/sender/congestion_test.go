package sender

import (
	"math"
	"net/netip"
	"testing"
	"time"
)

// TestAIMDCutAndRecover: a signal cuts the rate to 70%; repeated reports of a host still
// joined, and signals within the feedback delay, do not cut again; a host that left and joins
// again does. The rate stays put for the hold time, then climbs back to the configured rate
// in about a second, and never falls below max/50.
func TestAIMDCutAndRecover(t *testing.T) {
	const max = 1e9
	a, b := netip.MustParseAddr("fe80::a"), netip.MustParseAddr("fe80::b")
	c := newAIMD(max)
	t0 := time.Unix(1000, 0)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1 }

	if !c.signal(a, false, t0) || !near(c.cur, 0.7*max) {
		t.Fatalf("first signal: rate %.0f, want %.0f", c.cur, 0.7*max)
	}
	if c.signal(a, false, t0.Add(150*time.Millisecond)) {
		t.Fatal("a repeated report of a host still joined cut the rate again")
	}
	if c.signal(b, false, t0.Add(50*time.Millisecond)) {
		t.Fatal("a second host within the feedback delay cut the rate again")
	}
	c.signal(a, true, t0.Add(160*time.Millisecond))
	if !c.signal(a, false, t0.Add(170*time.Millisecond)) || !near(c.cur, 0.49*max) {
		t.Fatalf("a host joining again after leaving: rate %.0f, want %.0f", c.cur, 0.49*max)
	}
	cut := t0.Add(170 * time.Millisecond)
	if c.tick(cut.Add(aimdHold - time.Millisecond)) {
		t.Fatal("the rate rose within the hold time after a cut")
	}
	now := cut.Add(aimdHold)
	steps := 0
	for ; c.cur < max && steps < 1000; steps++ {
		if c.tick(now) {
			now = now.Add(aimdUpEvery)
		} else {
			now = now.Add(time.Millisecond)
		}
	}
	if c.cur != max {
		t.Fatalf("rate %.0f after %d steps, want back at %.0f", c.cur, steps, float64(max))
	}
	if took := now.Sub(cut); took > 2*time.Second {
		t.Fatalf("took %v to recover from two cuts", took)
	}
	if c.tick(now.Add(time.Second)) {
		t.Fatal("the rate rose past the configured rate")
	}

	for i := range 40 {
		c.signal(netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(i)}), false, now.Add(time.Duration(i)*aimdCutEvery))
	}
	if !near(c.cur, max/aimdFloorDiv) {
		t.Fatalf("after 40 cuts the rate is %.0f, want the floor %.0f", c.cur, float64(max/aimdFloorDiv))
	}
}
