package mcasttest

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/mcast"
)

func TestNet(t *testing.T) {
	n := NewNet()
	g, other := netip.MustParseAddr("ff15::1"), netip.MustParseAddr("ff15::2")
	a, b := n.Conn(0), n.Conn(0)
	if err := a.Join(g); err != nil {
		t.Fatal(err)
	}
	if err := b.Join(other); err != nil {
		t.Fatal(err)
	}
	if !n.Wanted(1, g) || n.Wanted(1, netip.MustParseAddr("ff15::3")) {
		t.Error("Wanted disagrees with the memberships")
	}
	select {
	case <-n.Notify():
	default:
		t.Error("no notification of the joins")
	}
	ev := n.TakeEvents(nil)
	if len(ev) != 2 || ev[0] != (mld.Event{Ifindex: 1, Group: g, Source: a.src}) || ev[1].Group != other || ev[1].Leave {
		t.Errorf("events %+v", ev)
	}

	n.Inject = func(netip.Addr, []byte) [][]byte { return [][]byte{[]byte("extra")} }
	n.Drop = func(_ netip.Addr, d []byte) bool { return string(d) == "lost" }
	if _, err := n.Send(1, []mcast.Datagram{{Group: g, Payload: []byte("one")}, {Group: g, Payload: []byte("lost")}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := a.Receive(func(d []byte) { got = append(got, string(d)) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "one" || got[1] != "extra" || n.Sent() != 2 {
		t.Errorf("received %q after %d sent", got, n.Sent())
	}
	if len(b.q) != 0 {
		t.Error("a datagram reached a host that had not joined its group")
	}

	if err := a.Leave(g); err != nil {
		t.Fatal(err)
	}
	if ev := n.TakeEvents(nil); len(ev) != 1 || !ev[0].Leave || n.Wanted(1, g) {
		t.Errorf("after a leave: events %+v, wanted %v", ev, n.Wanted(1, g))
	}
	b.Close()
	if err := b.Receive(func([]byte) {}); !errors.Is(err, net.ErrClosed) || n.Wanted(1, other) {
		t.Errorf("after Close: %v, wanted %v", err, n.Wanted(1, other))
	}
}

func TestNetLossAndOverflow(t *testing.T) {
	n := NewNet()
	g := netip.MustParseAddr("ff15::1")
	lossy := n.Conn(0.5)
	if err := lossy.Join(g); err != nil {
		t.Fatal(err)
	}
	ds := make([]mcast.Datagram, queueLen+1000)
	for i := range ds {
		ds[i] = mcast.Datagram{Group: g, Payload: []byte{byte(i)}}
	}
	if _, err := n.Send(1, ds); err != nil {
		t.Fatal(err)
	}
	if got := len(lossy.q); got < len(ds)*4/10 || got > len(ds)*6/10 {
		t.Errorf("%d of %d datagrams arrived at 50%% loss", got, len(ds))
	}
	full := n.Conn(0)
	if err := full.Join(g); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(1, ds); err != nil {
		t.Fatal(err)
	}
	if full.Drops() != 1000 {
		t.Errorf("a full queue dropped %d, want 1000", full.Drops())
	}
}
