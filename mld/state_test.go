package mld

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func TestStateJoinQueuesOneEvent(t *testing.T) {
	h := newHarness(t, testConfig())
	h.expectWanted("ff15::1", true, "never reported: verification answers true") // starts a verification
	h.advance(testLLQT)
	h.expectWanted("ff15::1", false, "verification unanswered")

	h.join("ff15::1")
	h.join("ff15::1") // the kernel's robustness retransmission
	h.report(rec{typ: ModeIsExclude, group: "ff15::1"}, rec{typ: ChangeToExclude, group: "ff15::2"})
	h.expectWanted("ff15::1", true, "after join")
	got := h.s.TakeEvents(nil)
	want := []Event{{Ifindex: 1, Group: addr("ff15::1"), Source: host}, {Ifindex: 1, Group: addr("ff15::1"), Source: host, Refresh: true}, {Ifindex: 1, Group: addr("ff15::2"), Source: host}}
	if !slices.Equal(got, want) {
		t.Errorf("TakeEvents = %v, want %v", got, want)
	}
	if got := h.s.TakeEvents(nil); len(got) != 0 {
		t.Errorf("second TakeEvents = %v, want none", got)
	}
	h.join("ff15::1")
	if got := h.s.TakeEvents(nil); !slices.Equal(got, want[:1]) { // a state change again
		t.Errorf("a refresh after draining queues a Join again: got %v", got)
	}
	if st := h.s.Stats(); st.Joins != 5 || st.Reports != 4 || st.Records != 5 {
		t.Errorf("stats joins %d reports %d records %d, want 5 4 5", st.Joins, st.Reports, st.Records)
	}
}

func TestStateRecordSemantics(t *testing.T) {
	src := []string{"fd00::a"}
	cases := []struct {
		name       string
		rec        rec
		querier    bool
		wantJoin   bool
		wantLeave  bool // a last-listener query goes out
		wantIgnore bool
	}{
		{"MODE_IS_EXCLUDE joins", rec{typ: ModeIsExclude, group: "ff15::7"}, true, true, false, false},
		{"CHANGE_TO_EXCLUDE joins", rec{typ: ChangeToExclude, group: "ff15::7"}, true, true, false, false},
		{"CHANGE_TO_EXCLUDE with sources joins", rec{typ: ChangeToExclude, group: "ff15::7", sources: src}, true, true, false, false},
		{"MODE_IS_INCLUDE with sources joins", rec{typ: ModeIsInclude, group: "ff35::7", sources: src}, true, true, false, false},
		{"ALLOW with sources joins", rec{typ: AllowNewSources, group: "ff35::7", sources: src}, true, true, false, false},
		{"CHANGE_TO_INCLUDE with sources joins", rec{typ: ChangeToInclude, group: "ff35::7", sources: src}, true, true, false, false},
		{"CHANGE_TO_INCLUDE without sources leaves", rec{typ: ChangeToInclude, group: "ff15::7"}, true, false, true, false},
		{"BLOCK checks for listeners", rec{typ: BlockOldSources, group: "ff15::7", sources: src}, true, false, true, false},
		{"BLOCK with querying off is ignored", rec{typ: BlockOldSources, group: "ff15::7", sources: src}, false, false, false, true},
		{"MODE_IS_INCLUDE without sources is ignored", rec{typ: ModeIsInclude, group: "ff15::7"}, true, false, false, true},
		{"ALLOW without sources is ignored", rec{typ: AllowNewSources, group: "ff15::7"}, true, false, false, true},
		{"unknown type is ignored", rec{typ: 42, group: "ff15::7"}, true, false, false, true},
		{"solicited-node group is ignored", rec{typ: ChangeToExclude, group: "ff02::1:ff00:101"}, true, false, false, true},
		{"interface-local group is ignored", rec{typ: ChangeToExclude, group: "ff01::7"}, true, false, false, true},
		{"unicast group is ignored", rec{typ: ChangeToExclude, group: "fd00::7"}, true, false, false, true},
		{"permanent link-local group is ignored", rec{typ: ChangeToExclude, group: "ff02::16"}, true, false, false, true},
		{"transient link-local group is tracked", rec{typ: ChangeToExclude, group: "ff12::7"}, true, true, false, false},
		{"permanent site-local group is tracked", rec{typ: ChangeToExclude, group: "ff05::7"}, true, true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Querier = tc.querier
			h := newHarness(t, cfg)
			// A group already held, so that leaves have something to check.
			h.join("ff15::7")
			h.join("ff35::7")
			h.s.TakeEvents(nil)
			before := h.s.Stats()
			h.report(tc.rec)
			st := h.s.Stats()
			evs := h.s.TakeEvents(nil)
			if joined := len(evs) == 1 && !evs[0].Leave; joined != tc.wantJoin {
				t.Errorf("join event queued = %v, want %v (%v)", joined, tc.wantJoin, evs)
			}
			if leaveEv := len(evs) == 1 && evs[0].Leave; leaveEv != tc.wantLeave {
				t.Errorf("leave event queued = %v, want %v (%v)", leaveEv, tc.wantLeave, evs)
			}
			if left := len(h.masqs(tc.rec.group)) > 0; left != tc.wantLeave {
				t.Errorf("last-listener query sent = %v, want %v", left, tc.wantLeave)
			}
			if ignored := st.IgnoredRecords > before.IgnoredRecords; ignored != tc.wantIgnore {
				t.Errorf("ignored = %v, want %v", ignored, tc.wantIgnore)
			}
		})
	}
}

func TestStateRefreshOutlivesFirstInterval(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1")
	h.advance(15 * time.Second)
	h.report(rec{typ: ModeIsExclude, group: "ff15::1"}) // answer to a general query
	h.advance(testMALI - 15*time.Second + time.Second)  // past the first report's expiry
	if !h.contains("ff15::1") {
		t.Fatalf("refreshed group expired %v after its first report", h.elapsed())
	}
	h.advance(15*time.Second + testMALI - h.elapsed() + 150*time.Millisecond) // past the refresh's expiry and a sweep
	if h.contains("ff15::1") {
		t.Fatalf("group still held %v after its last report", h.elapsed()-15*time.Second)
	}
}

func TestStateLeaveQueriesThenDrops(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1")
	h.advance(time.Second)
	h.leave("ff15::1")
	h.leave("ff15::1") // retransmission: must not restart the check
	h.expectWanted("ff15::1", true, "right after the leave")
	if q := h.masqs("ff15::1"); len(q) != 1 || q[0].at != time.Second || q[0].q.MaxResponseDelay != testLLQI {
		t.Fatalf("queries after leave: %+v, want one immediately with max response %v", q, testLLQI)
	}
	h.advance(testLLQI)
	h.expectWanted("ff15::1", true, "between the two queries")
	h.advance(testLLQT - testLLQI - time.Millisecond)
	h.expectWanted("ff15::1", true, "just before LLQT")
	h.advance(time.Millisecond)
	h.expectWanted("ff15::1", false, "at LLQT")
	if h.contains("ff15::1") {
		t.Error("filter still holds the group after a confirmed leave")
	}
	q := h.masqs("ff15::1")
	if len(q) != 2 || q[1].at != time.Second+testLLQI {
		t.Errorf("queries: %+v, want 2, the second %v after the first", q, testLLQI)
	}
	if st := h.s.Stats(); st.Leaves != 2 || st.LeavesConfirmed != 1 || st.Verifications != 0 {
		t.Errorf("stats leaves %d confirmed %d verifications %d, want 2 1 0", st.Leaves, st.LeavesConfirmed, st.Verifications)
	}
	h.advance(time.Second)
	if q := h.masqs("ff15::1"); len(q) != 2 {
		t.Errorf("%d queries after the check ended, want 2", len(q))
	}
}

func TestStateLeaveAnsweredKeepsGroup(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1")
	h.leave("ff15::1")
	h.advance(50 * time.Millisecond)
	h.report(rec{typ: ModeIsExclude, group: "ff15::1"}) // another listener answers the query
	h.advance(time.Second)
	h.expectWanted("ff15::1", true, "after an answered leave")
	if q := h.masqs("ff15::1"); len(q) != 1 {
		t.Errorf("%d queries, want 1: the answer cancels the retransmission", len(q))
	}
}

func TestStateTwoListenersOneLeaves(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1") // listener A
	h.join("ff15::1") // listener B: same group, same link
	h.advance(time.Second)
	h.leave("ff15::1") // A leaves; B answers the query
	h.advance(testLLQI / 2)
	h.report(rec{typ: ModeIsExclude, group: "ff15::1"})
	h.advance(testMALI - 2*time.Second)
	h.expectWanted("ff15::1", true, "B still listens")
	if !h.contains("ff15::1") {
		t.Error("filter lost the group B still listens to")
	}
}

func TestStateExpiresAfterListeningInterval(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1")
	h.advance(testMALI - 100*time.Millisecond)
	if !h.contains("ff15::1") {
		t.Fatal("expired before MALI")
	}
	h.advance(200 * time.Millisecond) // MALI and a sweep
	if h.contains("ff15::1") {
		t.Fatal("still held after MALI")
	}
	h.expectWanted("ff15::1", true, "expired: verification starts")
	if q := h.masqs("ff15::1"); len(q) != 1 {
		t.Errorf("verification sent %d queries, want 1 so far", len(q))
	}
	h.advance(testLLQT)
	h.expectWanted("ff15::1", false, "verification unanswered")
	if st := h.s.Stats(); st.Verifications != 1 || st.VerificationsFailed != 1 {
		t.Errorf("verifications %d failed %d, want 1 1", st.Verifications, st.VerificationsFailed)
	}
}

func TestStateMLDv1(t *testing.T) {
	h := newHarness(t, testConfig())
	if err := handle(h.s, 1, host, buildV1(TypeV1Report, "ff15::9")); err != nil {
		t.Fatal(err)
	}
	h.expectWanted("ff15::9", true, "after v1 report")
	if j := h.s.TakeEvents(nil); len(j) != 1 || j[0].Group != addr("ff15::9") {
		t.Errorf("joins %v", j)
	}
	if err := handle(h.s, 1, host, buildV1(TypeV1Done, "ff15::9")); err != nil {
		t.Fatal(err)
	}
	if len(h.masqs("ff15::9")) != 1 {
		t.Error("no query after v1 done")
	}
	h.advance(testLLQT)
	h.expectWanted("ff15::9", false, "after unanswered v1 done")
	if st := h.s.Stats(); st.V1Reports != 2 {
		t.Errorf("V1Reports = %d", st.V1Reports)
	}
}

// TestStateIgnoresBadMessages checks every rule of RFC 3810 §5.2.13 and §7.4 (and RFC 2710
// §3): a message that breaks one is counted and changes nothing.
func TestStateIgnoresBadMessages(t *testing.T) {
	v2 := buildReport(rec{typ: ChangeToExclude, group: "ff15::1"})
	v1 := buildV1(TypeV1Report, "ff15::1")
	done := buildV1(TypeV1Done, "ff15::1")
	masq, err := AppendQuery(nil, Query{Version: 2, Group: addr("ff15::1"), MaxResponseDelay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	with := func(msg []byte, change func(*Header)) Header {
		h := arrival(1, host, msg)
		change(&h)
		return h
	}
	cases := []struct {
		name    string
		h       Header
		msg     []byte
		wantErr bool
		counter func(Stats) uint64
	}{
		{"hop limit 2", with(v2, func(h *Header) { h.HopLimit = 2 }), v2, false, func(s Stats) uint64 { return s.BadHopLimit }},
		{"hop limit 255", with(v1, func(h *Header) { h.HopLimit = 255 }), v1, false, func(s Stats) uint64 { return s.BadHopLimit }},
		{"unknown link", with(v2, func(h *Header) { h.Ifindex = 9 }), v2, false, func(s Stats) uint64 { return s.ForeignLink }},
		{"no router alert v2", with(v2, func(h *Header) { h.RouterAlert = false }), v2, false, func(s Stats) uint64 { return s.NoRouterAlert }},
		{"no router alert v1", with(v1, func(h *Header) { h.RouterAlert = false }), v1, false, func(s Stats) uint64 { return s.NoRouterAlert }},
		{"global source", with(v2, func(h *Header) { h.Src = addr("2001:db8::1") }), v2, false, func(s Stats) uint64 { return s.BadSource }},
		{"unique local source", with(v1, func(h *Header) { h.Src = addr("fd00:6c63::101") }), v1, false, func(s Stats) uint64 { return s.BadSource }},
		{"unspecified source", with(v2, func(h *Header) { h.Src = addr("::") }), v2, false, func(s Stats) uint64 { return s.BadSource }},
		{"multicast source", with(v2, func(h *Header) { h.Src = addr("ff02::1") }), v2, false, func(s Stats) uint64 { return s.BadSource }},
		{"v2 report unicast", with(v2, func(h *Header) { h.Dst = addr("fe80::50") }), v2, false, func(s Stats) uint64 { return s.BadDestination }},
		{"v2 report to the group", with(v2, func(h *Header) { h.Dst = addr("ff15::1") }), v2, false, func(s Stats) uint64 { return s.BadDestination }},
		{"v1 report to another group", with(v1, func(h *Header) { h.Dst = addr("ff15::2") }), v1, false, func(s Stats) uint64 { return s.BadDestination }},
		{"v1 report unicast", with(v1, func(h *Header) { h.Dst = addr("fd00:6c63::1") }), v1, false, func(s Stats) uint64 { return s.BadDestination }},
		{"v1 done to the group", with(done, func(h *Header) { h.Dst = addr("ff15::1") }), done, false, func(s Stats) uint64 { return s.BadDestination }},
		{"specific query unicast", with(masq, func(h *Header) { h.Src, h.Dst = lowerAddr, ourAddr }), masq, false, func(s Stats) uint64 { return s.BadDestination }},
		{"truncated report", arrival(1, host, v2), v2[:20], true, func(s Stats) uint64 { return s.ParseErrors }},
		{"empty", arrival(1, host, nil), nil, true, func(s Stats) uint64 { return s.ParseErrors }},
		{"echo request", arrival(1, host, nil), []byte{128, 0, 0, 0}, false, func(s Stats) uint64 { return s.OtherTypes }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			if len(tc.msg) > 0 && (tc.msg[0] == TypeV1Done || tc.msg[0] == TypeQuery) {
				h.join("ff15::1") // something for the done or query to act on
				h.s.TakeEvents(nil)
			}
			before := h.s.Stats()
			err := h.s.HandleMessage(tc.h, tc.msg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got := tc.counter(h.s.Stats()) - tc.counter(before); got != 1 {
				t.Errorf("counter = %d, want 1", got)
			}
			if st := h.s.Stats(); st.Joins != before.Joins || st.Leaves != before.Leaves || st.QueriesHeard != before.QueriesHeard ||
				h.s.PendingEvents() != 0 || len(h.s.links[1].pending) != 0 {
				t.Errorf("state changed: %+v", st)
			}
		})
	}
}

// TestStateHandlePacket takes valid and invalid IPv6 packets apart: the Router Alert and the
// checksum are found, and a corrupted packet is counted, never applied.
func TestStateHandlePacket(t *testing.T) {
	v2 := buildReport(rec{typ: ChangeToExclude, group: "ff15::1"})
	good := buildPacket(arrival(1, host, v2), v2)
	h := newHarness(t, testConfig())
	if err := h.s.HandlePacket(1, good); err != nil {
		t.Fatal(err)
	}
	if !h.contains("ff15::1") {
		t.Fatal("valid packet not applied")
	}
	noRA := arrival(1, host, v2)
	noRA.RouterAlert = false
	corrupt := func(i int, v byte) []byte { p := bytes.Clone(good); p[i] = v; return p }
	cases := []struct {
		name    string
		p       []byte
		counter func(Stats) uint64
	}{
		{"bad checksum", corrupt(len(good)-1, good[len(good)-1]^1), func(s Stats) uint64 { return s.BadChecksum }},
		{"no hop-by-hop header", buildPacket(noRA, v2), func(s Stats) uint64 { return s.NoRouterAlert }},
		{"short", good[:30], func(s Stats) uint64 { return s.ParseErrors }},
		{"ipv4", corrupt(0, 0x45), func(s Stats) uint64 { return s.ParseErrors }},
		{"payload length past the end", corrupt(4, 0xff), func(s Stats) uint64 { return s.ParseErrors }},
		{"hop-by-hop length past the end", corrupt(41, 200), func(s Stats) uint64 { return s.ParseErrors }},
		{"udp behind hop-by-hop", corrupt(40, 17), func(s Stats) uint64 { return s.ParseErrors }},
		{"foreign link", good, func(s Stats) uint64 { return s.ForeignLink }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			ifindex := 1
			if tc.name == "foreign link" {
				ifindex = 7
			}
			_ = h.s.HandlePacket(ifindex, tc.p)
			if got := tc.counter(h.s.Stats()); got != 1 {
				t.Errorf("counter = %d, want 1; stats %+v", got, h.s.Stats())
			}
			if h.contains("ff15::1") {
				t.Error("applied")
			}
		})
	}
	// Link-layer padding after the payload is ignored.
	h = newHarness(t, testConfig())
	if err := h.s.HandlePacket(1, append(bytes.Clone(good), 0, 0, 0, 0)); err != nil || !h.contains("ff15::1") {
		t.Errorf("padded packet: err %v, applied %v", err, h.contains("ff15::1"))
	}
}

func TestStateJoinQueueBounded(t *testing.T) {
	h := newHarness(t, testConfig()) // capacity 1000, so the queue holds minJoins = 1024
	for i := 0; i < minJoins+10; i++ {
		h.report(rec{typ: ChangeToExclude, group: groupN(i).String()})
	}
	if n := h.s.PendingEvents(); n != minJoins {
		t.Errorf("queue holds %d, want %d", n, minJoins)
	}
	if st := h.s.Stats(); st.DroppedJoins != 10 {
		t.Errorf("DroppedJoins = %d, want 10", st.DroppedJoins)
	}
}

func TestStateStats(t *testing.T) {
	h := newHarness(t, testConfig(), Link{Index: 1, Name: "eth0", Addr: ourAddr}, Link{Index: 2, Name: "lo"})
	for i := 0; i < 50; i++ {
		h.report(rec{typ: ChangeToExclude, group: groupN(i).String()})
	}
	h.leave(groupN(0).String())
	st := h.s.Stats()
	if len(st.Ifaces) != 2 {
		t.Fatalf("%d ifaces", len(st.Ifaces))
	}
	eth, lo := st.Ifaces[0], st.Ifaces[1]
	if eth.Name != "eth0" || !eth.Querier || eth.Pending != 1 || eth.FilterBytes == 0 {
		t.Errorf("eth0 stats %+v", eth)
	}
	if eth.EstimatedGroups < 40 || eth.EstimatedGroups > 60 {
		t.Errorf("estimated %v groups, want about 50", eth.EstimatedGroups)
	}
	if lo.Querier || lo.EstimatedGroups != 0 {
		t.Errorf("lo (no link-local address) stats %+v", lo)
	}
	if g := h.generals(2); len(g) != 0 {
		t.Errorf("queries sent on a link without an address: %v", g)
	}
}

func TestStateWantedUntracked(t *testing.T) {
	cases := []struct {
		name    string
		ifindex int
		group   string
	}{
		{"unknown link", 7, "ff15::1"},
		{"unicast address", 1, "fd00::1"},
		{"all MLDv2 routers", 1, "ff02::16"},
		{"interface-local", 1, "ff11::1"},
		{"ipv4", 1, "239.1.1.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			sent := len(h.sent)
			if h.s.Wanted(tc.ifindex, addr(tc.group)) {
				t.Error("wanted")
			}
			if st := h.s.Stats(); st.Verifications != 0 || len(h.sent) != sent {
				t.Errorf("verifications %d, queries %d", st.Verifications, len(h.sent)-sent)
			}
		})
	}
}

// TestStateEventsCarrySourceAndLeaves: every event names the reporting host, and a leave is
// queued as an event (the group itself stays wanted until the last-listener check fails).
func TestStateEventsCarrySourceAndLeaves(t *testing.T) {
	h := newHarness(t, testConfig())
	other := addr("fe80::99")
	g := addr("ff15::7")
	h.join("ff15::7")
	if err := handle(h.s, 1, other, buildReport(rec{typ: ChangeToExclude, group: "ff15::7"})); err != nil {
		t.Fatal(err)
	}
	h.leave("ff15::7")
	got := h.s.TakeEvents(nil)
	want := []Event{
		{Ifindex: 1, Group: g, Source: host},
		{Ifindex: 1, Group: g, Source: other},
		{Ifindex: 1, Group: g, Source: host, Leave: true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	h.expectWanted("ff15::7", true, "a leave alone does not drop the group")
}
