package mld

import (
	"net/netip"
	"testing"
	"time"
)

// Shortened RFC timers for state tests: MALI = 2*10 s + 1 s = 21 s, LLQT = 2*100 ms,
// OQPI = 20.5 s, startup query interval 2.5 s.
func testConfig() Config {
	return Config{
		Robustness:                2,
		QueryInterval:             10 * time.Second,
		QueryResponseInterval:     time.Second,
		LastListenerQueryInterval: 100 * time.Millisecond,
		SweepInterval:             100 * time.Millisecond,
		Capacity:                  1000,
		Querier:                   true,
	}
}

const (
	testMALI = 21 * time.Second
	testLLQI = 100 * time.Millisecond
	testLLQT = 200 * time.Millisecond
	testOQPI = 20500 * time.Millisecond
	testQI   = 10 * time.Second
	testSQI  = 2500 * time.Millisecond
)

// ourAddr is the link-local address of test link 1; lower and higher bracket it.
var (
	ourAddr    = addr("fe80::50")
	lowerAddr  = addr("fe80::10")
	higherAddr = addr("fe80::90")
	host       = addr("fe80::1234")
)

type sentQuery struct {
	at      time.Duration // since the harness started
	ifindex int
	q       Query
}

// harness drives a State the way Listener does, on a fake clock.
type harness struct {
	t     *testing.T
	clk   *fakeClock
	start time.Time
	s     *State
	sent  []sentQuery
}

func newHarness(t *testing.T, cfg Config, links ...Link) *harness {
	t.Helper()
	if len(links) == 0 {
		links = []Link{{Index: 1, Name: "eth0", Addr: ourAddr}}
	}
	h := &harness{t: t, clk: newFakeClock()}
	h.start = h.clk.Now()
	cfg.Clock = h.clk
	s, err := NewState(cfg, links, func(ifindex int, q Query) error {
		h.sent = append(h.sent, sentQuery{h.clk.Now().Sub(h.start), ifindex, q})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	s.Tick()
	return h
}

// elapsed returns the fake time since the harness started.
func (h *harness) elapsed() time.Duration { return h.clk.Now().Sub(h.start) }

// advance moves the clock forward by d, running Tick at every deadline on the way.
func (h *harness) advance(d time.Duration) {
	target := h.clk.Now().Add(d)
	for {
		next := h.s.NextDeadline()
		if next.After(target) {
			break
		}
		h.clk.Set(next)
		h.s.Tick()
	}
	h.clk.Set(target)
	h.s.Tick()
}

// report delivers an MLDv2 report on link 1.
func (h *harness) report(recs ...rec) { h.reportOn(1, recs...) }

func (h *harness) reportOn(ifindex int, recs ...rec) {
	h.t.Helper()
	if err := handle(h.s, ifindex, host, buildReport(recs...)); err != nil {
		h.t.Fatal(err)
	}
}

// join and leave deliver single-record any-source join and leave reports.
func (h *harness) join(g string)  { h.report(rec{typ: ChangeToExclude, group: g}) }
func (h *harness) leave(g string) { h.report(rec{typ: ChangeToInclude, group: g}) }

// query delivers a query from src on link 1.
func (h *harness) query(src netip.Addr, q Query) {
	h.t.Helper()
	b, err := AppendQuery(nil, q)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := handle(h.s, 1, src, b); err != nil {
		h.t.Fatal(err)
	}
}

// wanted asks the state about g on link 1.
func (h *harness) wanted(g string) bool { return h.s.Wanted(1, addr(g)) }

// contains asks link 1's filter directly, bypassing verification.
func (h *harness) contains(g string) bool {
	return h.s.links[1].filter.Contains(addr(g), h.s.tick(h.clk.Now()))
}

// masqs returns the Multicast-Address-Specific Queries sent for g.
func (h *harness) masqs(g string) []sentQuery {
	var out []sentQuery
	for _, q := range h.sent {
		if q.q.Group == addr(g) {
			out = append(out, q)
		}
	}
	return out
}

// generals returns the times General Queries were sent on link ifindex.
func (h *harness) generals(ifindex int) []time.Duration {
	var out []time.Duration
	for _, q := range h.sent {
		if q.ifindex == ifindex && q.q.General() {
			out = append(out, q.at)
		}
	}
	return out
}

func (h *harness) expectWanted(g string, want bool, when string) {
	h.t.Helper()
	if got := h.wanted(g); got != want {
		h.t.Errorf("%s (at %v): Wanted(%s) = %v, want %v", when, h.elapsed(), g, got, want)
	}
}

// groupN returns a distinct site-scope group for each n.
func groupN(n int) netip.Addr {
	return netip.AddrFrom16([16]byte{0xff, 0x15, 14: byte(n >> 8), 15: byte(n)})
}
