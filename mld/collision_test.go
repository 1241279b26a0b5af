package mld

import (
	"net/netip"
	"testing"
	"time"
)

// tinyConfig gives a filter of 128 slots with one slot per group, so that colliding groups
// are easy to find.
func tinyConfig() Config {
	cfg := testConfig()
	cfg.Capacity, cfg.FalsePositive = 64, 0.5
	return cfg
}

// collider returns a group, other than those held, that link 1's filter reports present
// without it ever having been reported: a false positive.
func collider(t *testing.T, h *harness) netip.Addr {
	t.Helper()
	if k := h.s.links[1].filter.Hashes(); k != 1 {
		t.Fatalf("tiny filter has k = %d", k)
	}
	for i := 1000; i < 200000; i++ {
		g := groupN(i)
		if h.contains(g.String()) {
			return g
		}
	}
	t.Fatal("no colliding group found")
	return netip.Addr{}
}

// TestCollisionNoFalseNegative is the counted-bloom-filter hazard: B joins while it is a
// false positive (so only its timer is refreshed, its counter not raised), then A, which
// shares B's slot, leaves. Removing A empties the slot and the filter loses B. Wanted must
// not answer false for B on the filter's word: it verifies B with a query.
func TestCollisionNoFalseNegative(t *testing.T) {
	cases := []struct {
		name       string
		bAnswers   bool
		wantFinalB bool
	}{
		{"B answers the verification", true, true},
		{"B has gone too", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tinyConfig())
			a := groupN(1)
			h.join(a.String())
			b := collider(t, h)
			h.join(b.String()) // a false positive: refreshed, not counted
			h.leave(a.String())
			h.advance(testLLQT)
			h.expectWanted(a.String(), false, "A left")
			if h.contains(b.String()) {
				t.Fatal("setup: the filter still holds B, so there is no false negative to test")
			}
			verificationsBefore := h.s.Stats().Verifications
			h.expectWanted(b.String(), true, "B lost by the filter")
			if n := len(h.masqs(b.String())); n != 1 {
				t.Fatalf("%d queries for B, want 1 (the verification)", n)
			}
			if tc.bAnswers {
				h.advance(testLLQI / 2)
				h.report(rec{typ: ModeIsExclude, group: b.String()})
			}
			h.advance(testLLQT)
			h.expectWanted(b.String(), tc.wantFinalB, "after the verification")
			h.expectWanted(b.String(), tc.wantFinalB, "asked again")
			if got := h.s.Stats().Verifications - verificationsBefore; got != 1 {
				t.Errorf("%d verifications, want 1: a failed one is remembered", got)
			}
			if tc.bAnswers && !h.contains(b.String()) {
				t.Error("B's answer did not put it back in the filter")
			}
		})
	}
}

// TestConfirmedGoneNeedsNoVerification checks that Wanted answers false for a just-dropped
// group without starting a verification, and verifies again once the memory expires.
func TestConfirmedGoneNeedsNoVerification(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1")
	h.leave("ff15::1")
	h.advance(testLLQT)
	for i := 0; i < 3; i++ {
		h.expectWanted("ff15::1", false, "confirmed gone")
	}
	if v := h.s.Stats().Verifications; v != 0 {
		t.Errorf("%d verifications of a confirmed leave", v)
	}
	h.advance(h.s.t.goneTTL)
	h.expectWanted("ff15::1", true, "memory expired: verify again")
	if v := h.s.Stats().Verifications; v != 1 {
		t.Errorf("%d verifications, want 1", v)
	}
}

// TestSaturatedCounterIsSticky fills A's slot past 255 reports. A counter that saturated
// cannot be decremented (its true count is unknown), so A's confirmed leave leaves the slot
// set: A and B, which shares the slot, stay held until their timers expire, and no counter
// wraps to make either look absent early or present forever.
func TestSaturatedCounterIsSticky(t *testing.T) {
	h := newHarness(t, tinyConfig())
	a := groupN(1)
	h.join(a.String())
	b := collider(t, h)
	f := h.s.links[1].filter
	exp := h.s.expiry(h.s.links[1], h.s.tick(h.clk.Now()))
	for i := 0; i < 300; i++ {
		f.Insert(a, exp) // as if 300 colliding groups had been counted on A's slot
	}
	h.join(b.String())
	h.advance(time.Second)
	h.leave(a.String())
	h.advance(testLLQT)
	if !h.contains(a.String()) || !h.contains(b.String()) {
		t.Fatal("a saturated slot was decremented")
	}
	h.expectWanted(b.String(), true, "B after A's leave")
	h.advance(testMALI)
	if h.contains(a.String()) || h.contains(b.String()) {
		t.Error("the saturated slot did not expire with its timer")
	}
	if f.Fill() != 0 {
		t.Errorf("%d slots still filled after expiry", f.Fill())
	}
}

// TestRebaseKeepsGroups runs the clock past the filter's rebase point (2^31 ms, 24.8 days)
// and checks that a group refreshed just before it is still held for its full interval, and
// expires after it.
func TestRebaseKeepsGroups(t *testing.T) {
	cfg := testConfig()
	cfg.Querier = false
	h := newHarness(t, cfg)
	h.clk.Set(h.start.Add(rebaseAt*time.Millisecond - 5*time.Second))
	h.s.Tick()
	h.join("ff15::1")
	epoch := h.s.epoch
	h.advance(10 * time.Second)
	if h.s.epoch.Equal(epoch) {
		t.Fatal("no rebase happened")
	}
	if !h.contains("ff15::1") {
		t.Fatal("group lost across the rebase")
	}
	h.advance(testMALI - 10*time.Second + 200*time.Millisecond)
	if h.contains("ff15::1") {
		t.Error("group did not expire after the rebase")
	}
}

// TestLargeClockJump jumps the clock by more than 2^32 ms at once.
func TestLargeClockJump(t *testing.T) {
	cfg := testConfig()
	cfg.Querier = false
	h := newHarness(t, cfg)
	h.join("ff15::1")
	h.clk.Set(h.start.Add(100 * 24 * time.Hour))
	h.s.Tick()
	if h.contains("ff15::1") {
		t.Error("group survived a 100-day jump")
	}
	h.join("ff15::2")
	h.advance(time.Second)
	if !h.contains("ff15::2") {
		t.Error("group joined after the jump not held")
	}
}
