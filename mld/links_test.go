package mld

import (
	"net"
	"testing"
	"time"
)

// TestStateAddRemoveLink adds a link to a running State: it becomes the querier there with
// its Startup Queries due at once and tracks joins; removing it forgets its groups and the
// events it queued, and the other link is untouched.
func TestStateAddRemoveLink(t *testing.T) {
	h := newHarness(t, testConfig())
	h.join("ff15::1")
	h.advance(time.Second)
	if err := h.s.AddLink(Link{Index: 2, Name: "eth1", Addr: lowerAddr}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.AddLink(Link{Index: 2, Name: "eth1"}); err == nil {
		t.Error("adding link 2 twice: no error")
	}
	h.advance(time.Millisecond)
	if g := h.generals(2); len(g) != 1 || g[0] != time.Second {
		t.Errorf("General Queries on the new link at %v, want one at once (1s)", g)
	}
	h.reportOn(2, rec{typ: ChangeToExclude, group: "ff15::2"})
	if !h.s.Wanted(2, addr("ff15::2")) {
		t.Error("group joined on the new link not wanted")
	}
	h.reportOn(2, rec{typ: ChangeToExclude, group: "ff15::3"})
	if !h.s.RemoveLink(2) || h.s.RemoveLink(2) {
		t.Error("RemoveLink(2) should report true once, then false")
	}
	if h.s.Wanted(2, addr("ff15::2")) {
		t.Error("group of a removed link still wanted")
	}
	for _, ev := range h.s.TakeEvents(nil) {
		if ev.Ifindex == 2 {
			t.Errorf("event of the removed link still queued: %+v", ev)
		}
	}
	before := len(h.generals(2))
	h.advance(2 * testQI)
	if got := len(h.generals(2)); got != before {
		t.Errorf("%d queries sent on the removed link", got-before)
	}
	if !h.wanted("ff15::1") || len(h.s.Stats().Ifaces) != 1 {
		t.Errorf("link 1 disturbed: wanted %v, %d links in stats", h.wanted("ff15::1"), len(h.s.Stats().Ifaces))
	}
	// Re-adding starts afresh.
	if err := h.s.AddLink(Link{Index: 2, Name: "eth1", Addr: lowerAddr}); err != nil {
		t.Fatal(err)
	}
	if h.s.links[2].filter.Contains(addr("ff15::2"), h.s.tick(h.clk.Now())) {
		t.Error("re-added link remembers a group of its previous life")
	}
}

// TestListenerRemoveLink removes a link from a running Listener: the connection is told and
// Links no longer lists it.
func TestListenerRemoveLink(t *testing.T) {
	l, conn, _, stop := runListener(t, testConfig())
	defer stop()
	if l.RemoveLink(9) {
		t.Error("RemoveLink of an unknown link reported true")
	}
	if !l.RemoveLink(1) || len(l.Links()) != 0 {
		t.Errorf("RemoveLink(1): links left %v", l.Links())
	}
	conn.mu.Lock()
	ops := conn.linkOps
	conn.mu.Unlock()
	if len(ops) != 1 || ops[0] != "-1" {
		t.Errorf("link operations on the connection: %v, want [-1]", ops)
	}
	// AddLink reads the interface's addresses: loopback has ::1 and no link-local address.
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no loopback interface:", err)
	}
	if err := l.AddLink(*lo); err != nil {
		t.Fatal(err)
	}
	if links := l.Links(); len(links) != 1 || links[0].Index != lo.Index || links[0].Addr.IsValid() {
		t.Errorf("links after AddLink(lo): %+v", links)
	}
}
