package main

import (
	"errors"
	"net"
	"slices"
	"sync"

	"github.com/lcsync/lcsync/pkg/ifwatch"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// socketTotals sums the statistics of a follower's sockets, the manifest watch's and every
// pass's, so that the counters --metrics exports never go back when a pass ends. It also
// keeps the sockets' interfaces in step with the system's (without --iface; see ifaceChange).
type socketTotals struct {
	mu     sync.Mutex
	done   mcast.RecvStats // the pass sockets closed
	watch  *mcast.RecvConn // the manifest watch's socket (the first opened)
	pass   *mcast.RecvConn // the current pass's socket
	ifaces []net.Interface // the interfaces a new socket joins groups on
}

// listen opens a socket on the current interfaces and records it (see opened).
func (t *socketTotals) listen(port int) (*mcast.RecvConn, error) {
	t.mu.Lock()
	rx, err := mcast.ListenRecv(mcast.RecvConfig{Port: port, Ifaces: t.ifaces})
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	t.opened(rx)
	return rx, nil
}

// ifaceChange applies an interface change to the open sockets and to those opened later.
// It returns the first error of the open sockets.
func (t *socketTotals) ifaceChange(ev ifwatch.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	idx := ev.Iface.Index
	t.ifaces = slices.DeleteFunc(t.ifaces, func(ifi net.Interface) bool { return ifi.Index == idx })
	if ev.Up {
		t.ifaces = append(t.ifaces, ev.Iface)
	}
	var first error
	for _, rx := range []*mcast.RecvConn{t.watch, t.pass} {
		switch {
		case rx == nil:
		case ev.Up:
			if err := rx.AddIface(ev.Iface); err != nil && first == nil && !errors.Is(err, net.ErrClosed) {
				first = err
			}
		default:
			rx.RemoveIface(idx)
		}
	}
	return first
}

// opened records a new socket: the first is the watch's, each later one a pass's, whose
// predecessor is closed by then.
func (t *socketTotals) opened(rx *mcast.RecvConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.watch == nil:
		t.watch = rx
	default:
		if t.pass != nil {
			t.done = addRecvStats(t.done, t.pass.Stats())
		}
		t.pass = rx
	}
}

// current returns the pass socket (nil before the first pass).
func (t *socketTotals) current() *mcast.RecvConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pass
}

// stats returns the sums, with the receive buffer of the newest socket.
func (t *socketTotals) stats() mcast.RecvStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.done
	for _, rx := range []*mcast.RecvConn{t.watch, t.pass} {
		if rx != nil {
			s = addRecvStats(s, rx.Stats())
		}
	}
	return s
}

// addRecvStats adds b's counters to a's and takes b's socket settings.
func addRecvStats(a, b mcast.RecvStats) mcast.RecvStats {
	a.Datagrams += b.Datagrams
	a.Bytes += b.Bytes
	a.Drops += b.Drops
	a.Messages += b.Messages
	a.Trains += b.Trains
	a.Truncated += b.Truncated
	a.Foreign += b.Foreign
	a.RcvBuf, a.RcvBufForced, a.GRO = b.RcvBuf, b.RcvBufForced, b.GRO
	return a
}
