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

	if !c.signal(a, false, t0, nil) || !near(c.cur, 0.7*max) {
		t.Fatalf("first signal: rate %.0f, want %.0f", c.cur, 0.7*max)
	}
	if c.signal(a, false, t0.Add(150*time.Millisecond), nil) {
		t.Fatal("a repeated report of a host still joined cut the rate again")
	}
	if c.signal(b, false, t0.Add(50*time.Millisecond), nil) {
		t.Fatal("a second host within the feedback delay cut the rate again")
	}
	c.signal(a, true, t0.Add(160*time.Millisecond), nil)
	if !c.signal(a, false, t0.Add(170*time.Millisecond), nil) || !near(c.cur, 0.49*max) {
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
		c.signal(netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(i)}), false, now.Add(time.Duration(i)*aimdCutEvery), nil)
	}
	if !near(c.cur, max/aimdFloorDiv) {
		t.Fatalf("after 40 cuts the rate is %.0f, want the floor %.0f", c.cur, float64(max/aimdFloorDiv))
	}
}

func addrN(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

// abuse has host h join and leave the congestion channel every 100 ms from start for d,
// ticking the controller every 10 ms, and returns the lowest rate seen after skip.
func abuse(c *aimd, h netip.Addr, start time.Time, d, skip time.Duration) (lowest float64, end time.Time) {
	lowest = math.Inf(1)
	for at := time.Duration(0); at < d; at += 10 * time.Millisecond {
		now := start.Add(at)
		if at%(100*time.Millisecond) == 0 {
			c.signal(h, false, now, nil)
			c.signal(h, true, now.Add(time.Millisecond), nil)
		}
		c.tick(now)
		if at >= skip {
			lowest = min(lowest, c.cur)
		}
	}
	return lowest, start.Add(d)
}

// TestAIMDOneHostCannotHoldTheFloor: a host that signals congestion every 100 ms (a join
// and a leave) pushes the rate to the floor at first, as a congested receiver must be able
// to, but once its signals have held the rate down for aimdHostBudget it can no longer push
// it below max/aimdLateFloorDiv; after a quiet spell it has its whole budget again.
func TestAIMDOneHostCannotHoldTheFloor(t *testing.T) {
	const max = 1e9
	c := newAIMD(max)
	t0 := time.Unix(1000, 0)
	h := addrN(1)
	early, t1 := abuse(c, h, t0, 5*time.Second, 0)
	if early > max/aimdFloorDiv*1.01 {
		t.Fatalf("a host signalling for 5 s only brought the rate down to %.0f, want the floor %.0f", early, max/aimdFloorDiv)
	}
	late, t2 := abuse(c, h, t1, 55*time.Second, aimdHostBudget)
	if late < max/aimdLateFloorDiv*0.99 {
		t.Fatalf("after %v of one host's signals the rate still fell to %.0f, below %.0f", aimdHostBudget, late, max/aimdLateFloorDiv)
	}
	quiet := t2.Add(aimdRunGap + time.Second)
	for now := t2; now.Before(quiet); now = now.Add(10 * time.Millisecond) {
		c.tick(now)
	}
	again, _ := abuse(c, h, quiet, 5*time.Second, 0)
	if again > max/aimdFloorDiv*1.01 {
		t.Errorf("after a quiet spell the host's signals brought the rate only to %.0f", again)
	}
}

// TestAIMDHostsTableBounded: reports from many (spoofed) sources do not grow the table past
// its cap, and a host whose leave was lost may signal again once its join is old.
func TestAIMDHostsTableBounded(t *testing.T) {
	c := newAIMD(1e9)
	t0 := time.Unix(1000, 0)
	for i := range 100_000 {
		c.signal(addrN(i), false, t0.Add(time.Duration(i)*time.Microsecond), nil)
	}
	if len(c.hosts) > maxCongestionHosts {
		t.Fatalf("%d hosts remembered, cap %d", len(c.hosts), maxCongestionHosts)
	}
	c = newAIMD(1e9)
	h := addrN(7)
	if !c.signal(h, false, t0, nil) {
		t.Fatal("first signal did not cut")
	}
	// Its leave is lost; its next join, past aimdJoinedFor, is a new signal.
	if c.signal(h, false, t0.Add(aimdJoinedFor/2), nil) {
		t.Error("a repeat of a join still in force cut again")
	}
	if !c.signal(h, false, t0.Add(aimdJoinedFor+time.Millisecond), nil) {
		t.Error("a host whose leave was lost can never signal again")
	}
	old := t0.Add(aimdHostTTL + aimdJoinedFor + time.Second)
	c.signal(addrN(8), false, old, nil)
	c.expire(old)
	if _, ok := c.hosts[h]; ok {
		t.Error("a host not heard for longer than aimdHostTTL is still remembered")
	}
}

// TestAIMDOnlyMembersSignal: a signal from a host that is not a member of any active channel
// (member reports false) does not cut the rate.
func TestAIMDOnlyMembersSignal(t *testing.T) {
	c := newAIMD(1e9)
	t0 := time.Unix(1000, 0)
	if c.signal(addrN(1), false, t0, func(netip.Addr) bool { return false }) || c.cur != 1e9 {
		t.Fatalf("a stranger's signal cut the rate to %.0f", c.cur)
	}
	if !c.signal(addrN(2), false, t0.Add(time.Second), func(netip.Addr) bool { return true }) {
		t.Fatal("a member's signal did not cut the rate")
	}
}
