package test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
)

// injector sends arbitrary datagrams to lcsync groups from inside a namespace, with its own
// socket: the hostile host of the hostile tests, or a fake server.
type injector struct {
	tx      *mcast.SendConn
	ifindex int
}

// newInjector opens a multicast sending socket on the rig interface of ns; it is closed when
// the test ends.
func newInjector(t testing.TB, ns *netnstest.NS) *injector {
	t.Helper()
	var in injector
	err := ns.Do(func() error {
		ifs, err := mcast.Interfaces([]string{netnstest.Iface})
		if err != nil {
			return err
		}
		in.tx, err = mcast.NewSendConn(mcast.SendConfig{Ifaces: ifs, Port: mcast.DefaultPort})
		if err != nil {
			return err
		}
		in.ifindex = ifs[0].Index
		return nil
	})
	if err != nil {
		t.Fatalf("injector in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { in.tx.Close() })
	return &in
}

// send sends one datagram to group g.
func (in *injector) send(g netip.Addr, payload []byte) error {
	_, err := in.tx.Send(in.ifindex, []mcast.Datagram{{Group: g, Payload: payload}})
	return err
}

// repeat calls next and sends what it returns every interval until ctx ends or limit sends
// were made, in a goroutine; the returned channel delivers the number of datagrams sent and
// the first send error once it has stopped.
func (in *injector) repeat(ctx context.Context, interval time.Duration, limit int,
	next func(i int) (netip.Addr, []byte)) <-chan injectResult {
	done := make(chan injectResult, 1)
	go func() {
		var r injectResult
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for r.sent < limit {
			g, p := next(r.sent)
			if err := in.send(g, p); err != nil && r.err == nil {
				r.err = fmt.Errorf("sending to %s: %w", g, err)
			}
			r.sent++
			select {
			case <-ctx.Done():
				done <- r
				return
			case <-tick.C:
			}
		}
		done <- r
	}()
	return done
}

// injectResult is what one repeat loop did.
type injectResult struct {
	sent int
	err  error
}

// burst is repeat with per datagrams (one sendmmsg) every interval, for floods that a ticker
// alone cannot make fast enough; it sends until ctx ends.
func (in *injector) burst(ctx context.Context, interval time.Duration, per int,
	next func(i int) (netip.Addr, []byte)) <-chan injectResult {
	done := make(chan injectResult, 1)
	go func() {
		var r injectResult
		tick := time.NewTicker(interval)
		defer tick.Stop()
		batch := make([]mcast.Datagram, per)
		for {
			for j := range batch {
				g, p := next(r.sent + j)
				batch[j] = mcast.Datagram{Group: g, Payload: p}
			}
			n, err := in.tx.Send(in.ifindex, batch)
			if err != nil && r.err == nil {
				r.err = err
			}
			r.sent += n
			select {
			case <-ctx.Done():
				done <- r
				return
			case <-tick.C:
			}
		}
	}()
	return done
}
