package mld

import (
	"slices"
	"testing"
	"time"
)

func TestQuerierStartupAndInterval(t *testing.T) {
	h := newHarness(t, testConfig())
	h.advance(25 * time.Second)
	want := []time.Duration{0, testSQI, testSQI + testQI, testSQI + 2*testQI}
	if got := h.generals(1); !slices.Equal(got, want) {
		t.Errorf("general queries at %v, want %v", got, want)
	}
	q := h.sent[0].q
	if q.MaxResponseDelay != time.Second || q.Robustness != 2 || q.QueryInterval != testQI {
		t.Errorf("general query %+v", q)
	}
}

func TestQuerierElection(t *testing.T) {
	cases := []struct {
		name       string
		from       string
		wantSilent bool
	}{
		{"lower address wins", lowerAddr.String(), true},
		{"higher address loses", higherAddr.String(), false},
		{"our own address is ignored", ourAddr.String(), false},
		{"unspecified source is ignored", "::", false},
		{"global source is ignored", "fd00::1", false},
		{"zoned lower address wins", "fe80::10%eth0", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.advance(testSQI + time.Second) // startup queries done
			h.query(addr(tc.from), Query{Group: addr("::"), MaxResponseDelay: time.Second, Robustness: 2, QueryInterval: testQI})
			before := len(h.generals(1))
			h.advance(testOQPI - time.Second)
			sentWhileOther := len(h.generals(1)) - before
			if silent := sentWhileOther == 0; silent != tc.wantSilent {
				t.Fatalf("sent %d general queries during the other querier's interval, want silent=%v", sentWhileOther, tc.wantSilent)
			}
			st := h.s.Stats().Ifaces[0]
			if st.Querier == tc.wantSilent {
				t.Errorf("Querier = %v", st.Querier)
			}
			if !tc.wantSilent {
				return
			}
			if st.OtherQuerier != lowerAddr {
				t.Errorf("OtherQuerier = %v", st.OtherQuerier)
			}
			// The other querier goes quiet: we resume one OQPI after its last query.
			h.advance(time.Second + time.Millisecond)
			got := h.generals(1)
			if len(got) != before+1 {
				t.Fatalf("%d general queries after OQPI, want %d", len(got), before+1)
			}
			if at := got[len(got)-1]; at != testSQI+time.Second+testOQPI {
				t.Errorf("resumed at %v, want %v", at, testSQI+time.Second+testOQPI)
			}
			if !h.s.Stats().Ifaces[0].Querier {
				t.Error("not querier after OQPI")
			}
		})
	}
}

func TestNonQuerierStillChecksLeaves(t *testing.T) {
	h := newHarness(t, testConfig())
	h.advance(testSQI + time.Second)
	h.query(lowerAddr, Query{Group: addr("::"), MaxResponseDelay: time.Second, Robustness: 2})
	generals := len(h.generals(1))
	h.join("ff15::1")
	h.join("ff15::2")
	h.leave("ff15::1")
	h.leave("ff15::2")
	if q := h.masqs("ff15::1"); len(q) != 1 {
		t.Fatalf("non-querier sent %d last-listener queries, want 1 so far", len(q))
	}
	// The querier's own check of ff15::2 takes longer than ours: 500 ms x 2.
	h.query(lowerAddr, Query{Group: addr("ff15::2"), MaxResponseDelay: 500 * time.Millisecond, Robustness: 2})
	h.advance(testLLQT)
	h.expectWanted("ff15::1", false, "unanswered leave, LLQT passed")
	h.expectWanted("ff15::2", true, "the querier's check still runs")
	h.advance(time.Second - testLLQT)
	h.expectWanted("ff15::2", false, "the querier's check ended unanswered")
	if got := len(h.generals(1)); got != generals {
		t.Errorf("non-querier sent %d general queries", got-generals)
	}
}

func TestOtherQuerierAddressSpecificQueryStartsCheck(t *testing.T) {
	cases := []struct {
		name      string
		q         Query
		wantCheck bool
	}{
		{"address specific", Query{Group: addr("ff15::1"), MaxResponseDelay: 100 * time.Millisecond}, true},
		{"S flag set", Query{Group: addr("ff15::1"), MaxResponseDelay: 100 * time.Millisecond, SuppressRouterSide: true}, false},
		{"general", Query{Group: addr("::"), MaxResponseDelay: 100 * time.Millisecond}, false},
		{"group not held", Query{Group: addr("ff15::2"), MaxResponseDelay: 100 * time.Millisecond}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.join("ff15::1")
			h.query(lowerAddr, tc.q) // we missed the leave; the querier checks the group
			h.advance(testLLQT)
			if dropped := !h.contains("ff15::1"); dropped != tc.wantCheck {
				t.Errorf("dropped = %v, want %v", dropped, tc.wantCheck)
			}
		})
	}
}

func TestV1QuerierNoted(t *testing.T) {
	h := newHarness(t, testConfig())
	handle(h.s, 1, lowerAddr, captured(t)["v1-general-query"])
	st := h.s.Stats()
	if st.V1QueriesHeard != 1 || st.QueriesHeard != 1 || !st.Ifaces[0].V1QuerierPresent || st.Ifaces[0].Querier {
		t.Errorf("stats after v1 query: %+v", st)
	}
	h.advance(testOQPI + time.Millisecond)
	if st := h.s.Stats(); st.Ifaces[0].V1QuerierPresent {
		t.Error("v1 querier still noted after OQPI")
	}
}

func TestQuerierDisabledSendsNothing(t *testing.T) {
	cfg := testConfig()
	cfg.Querier = false
	h := newHarness(t, cfg)
	h.join("ff15::1")
	h.leave("ff15::1")
	h.expectWanted("ff15::3", true, "verification")
	h.advance(testLLQT)
	h.expectWanted("ff15::1", false, "leave confirmed by deadline")
	h.expectWanted("ff15::3", false, "verification failed")
	h.advance(time.Minute)
	if len(h.sent) != 0 {
		t.Errorf("sent %d queries with Querier off", len(h.sent))
	}
}

func TestNonQuerierAdoptsLongerQuerierTimers(t *testing.T) {
	cases := []struct {
		name     string
		qqi      time.Duration
		wantLive time.Duration // how long a report keeps the group
	}{
		{"longer query interval adopted", 30 * time.Second, 2*30*time.Second + 2*time.Second},
		{"shorter query interval ignored", 5 * time.Second, testMALI},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.query(lowerAddr, Query{Group: addr("::"), MaxResponseDelay: 2 * time.Second, Robustness: 2, QueryInterval: tc.qqi})
			h.join("ff15::1")
			h.advance(tc.wantLive - 200*time.Millisecond)
			if !h.contains("ff15::1") {
				t.Fatalf("group expired before %v", tc.wantLive)
			}
			h.advance(400 * time.Millisecond)
			if h.contains("ff15::1") {
				t.Fatalf("group outlived %v", tc.wantLive)
			}
		})
	}
}
