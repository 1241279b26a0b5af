//go:build linux

package ifwatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestWatcherNetns adds a veth pair to a namespace while a Watcher runs there: the end with
// DAD off is reported at once, the end with DAD on only once its link-local address has left
// DAD; deleting the pair reports both as down, once each.
func TestWatcherNetns(t *testing.T) {
	netnstest.Require(t, "ip", "sysctl")
	ns := netnstest.New(t, "ifw")
	var w *Watcher
	if err := ns.Do(func() (err error) { w, err = New(Config{}); return err }); err != nil {
		t.Fatal(err)
	}
	w.list = func() (m map[int]linkState, err error) {
		err = ns.Do(func() error { m, err = listLinks(); return err })
		return m, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()
	next := func(within time.Duration) (Event, bool) {
		t.Helper()
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("Events closed early: %v", <-runErr)
			}
			return ev, true
		case <-time.After(within):
			return Event{}, false
		}
	}
	if ev, ok := next(300 * time.Millisecond); ok {
		t.Fatalf("event before any change: %+v", ev)
	}

	ns.MustRun("ip", "link", "add", "a0", "type", "veth", "peer", "name", "a1")
	ns.MustRun("sysctl", "-qw", "net.ipv6.conf.a0.accept_dad=1", "net.ipv6.conf.a0.dad_transmits=2")
	ns.MustRun("ip", "link", "set", "a1", "up")
	ns.MustRun("ip", "link", "set", "a0", "up")
	ev, ok := next(5 * time.Second)
	if !ok || !ev.Up || ev.Iface.Name != "a1" || !ev.LinkLocal.IsLinkLocalUnicast() {
		t.Fatalf("first event = %+v (%v), want a1 up with its link-local address", ev, ok)
	}
	sawTentative := strings.Contains(ns.MustRun("ip", "-6", "addr", "show", "dev", "a0"), "tentative")
	ev, ok = next(10 * time.Second)
	if !ok || !ev.Up || ev.Iface.Name != "a0" || !ev.LinkLocal.IsLinkLocalUnicast() {
		t.Fatalf("second event = %+v (%v), want a0 up", ev, ok)
	}
	if out := ns.MustRun("ip", "-6", "addr", "show", "dev", "a0"); strings.Contains(out, "tentative") {
		t.Errorf("a0 reported up while its address is still tentative:\n%s", out)
	}
	if !sawTentative {
		t.Log("a0's address had left DAD before a1 was reported; the wait for DAD went untested this time")
	}
	if got := len(w.InUse()); got != 2 {
		t.Errorf("InUse has %d interfaces, want 2", got)
	}

	ns.MustRun("ip", "link", "del", "a0")
	downs := map[string]int{}
	for {
		ev, ok := next(time.Second)
		if !ok {
			break
		}
		if ev.Up {
			t.Errorf("unexpected up event after deleting the pair: %+v", ev)
		}
		downs[ev.Iface.Name]++
	}
	if downs["a0"] != 1 || downs["a1"] != 1 || len(downs) != 2 {
		t.Errorf("down events after deleting the pair: %v, want a0 and a1 once each", downs)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, ok := <-w.Events(); ok {
		t.Error("Events not closed after Run returned")
	}
}

// TestReadEndsQuietlyOnClose: the reader returns nil, not an error, when Run closes the socket.
func TestReadEndsQuietlyOnClose(t *testing.T) {
	w, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.read(make(chan struct{}, 1)) }()
	time.Sleep(50 * time.Millisecond)
	w.closing.Store(true)
	w.sock.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("read after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read did not return after close")
	}
}
