package receiver_test

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// fakeNet is an in-memory multicast link: it implements the sender's Transport and Trigger
// and hands out receiver Transports. Membership is exact (a perfect MLD), delivery copies each
// datagram into every member's queue, a full queue drops (like a full socket buffer), and
// loss drops at random per receiver.
type fakeNet struct {
	mu      sync.Mutex
	members map[netip.Addr]map[*fakeRecv]bool
	events  []mld.Event
	notify  chan struct{}
	rng     *rand.Rand
	sent    int // datagrams sent
	hosts   uint8
	// inject, if set, is called with every datagram sent and may return extra datagrams to
	// deliver to the same group (hostile traffic).
	inject func(g netip.Addr, d []byte) [][]byte
	// drop, if set, is called with every datagram sent; those it reports are lost for all.
	drop func(g netip.Addr, d []byte) bool
}

func newFakeNet() *fakeNet {
	return &fakeNet{members: map[netip.Addr]map[*fakeRecv]bool{}, notify: make(chan struct{}, 1), rng: rand.New(rand.NewPCG(7, 9))}
}

func (n *fakeNet) Ifaces() []net.Interface { return []net.Interface{{Index: 1, Name: "fake0"}} }

func (n *fakeNet) Send(ifindex int, ds []mcast.Datagram) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range ds {
		n.sent++
		if n.drop != nil && n.drop(d.Group, d.Payload) {
			continue
		}
		extra := [][]byte{}
		if n.inject != nil {
			extra = n.inject(d.Group, d.Payload)
		}
		for r := range n.members[d.Group] {
			for _, p := range append([][]byte{d.Payload}, extra...) {
				if r.loss > 0 && n.rng.Float64() < r.loss {
					continue
				}
				select {
				case r.q <- append([]byte(nil), p...):
				default:
					r.drops++
				}
			}
		}
	}
	return len(ds), nil
}

func (n *fakeNet) Wanted(ifindex int, g netip.Addr) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.members[g]) > 0
}

func (n *fakeNet) Notify() <-chan struct{} { return n.notify }

func (n *fakeNet) TakeEvents(dst []mld.Event) []mld.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	dst = append(dst, n.events...)
	n.events = n.events[:0]
	return dst
}

// fakeRecv is one receiver's socket on the fake link.
type fakeRecv struct {
	n      *fakeNet
	src    netip.Addr
	q      chan []byte
	closed chan struct{}
	once   sync.Once
	loss   float64
	drops  uint64
}

func (n *fakeNet) receiver(loss float64) *fakeRecv {
	n.mu.Lock()
	n.hosts++
	id := n.hosts
	n.mu.Unlock()
	return &fakeRecv{n: n, src: netip.AddrFrom16([16]byte{0xfe, 0x80, 15: id}), q: make(chan []byte, 1<<14),
		closed: make(chan struct{}), loss: loss}
}

func (r *fakeRecv) Join(g netip.Addr) error {
	n := r.n
	n.mu.Lock()
	if n.members[g] == nil {
		n.members[g] = map[*fakeRecv]bool{}
	}
	n.members[g][r] = true
	n.events = append(n.events, mld.Event{Ifindex: 1, Group: g, Source: r.src})
	n.mu.Unlock()
	select {
	case n.notify <- struct{}{}:
	default:
	}
	return nil
}

func (r *fakeRecv) Leave(g netip.Addr) error {
	n := r.n
	n.mu.Lock()
	delete(n.members[g], r)
	n.events = append(n.events, mld.Event{Ifindex: 1, Group: g, Source: r.src, Leave: true})
	n.mu.Unlock()
	select {
	case n.notify <- struct{}{}:
	default:
	}
	return nil
}

func (r *fakeRecv) Receive(fn func([]byte)) error {
	select {
	case d := <-r.q:
		fn(d)
	case <-r.closed:
		return net.ErrClosed
	}
	for range 63 {
		select {
		case d := <-r.q:
			fn(d)
		default:
			return nil
		}
	}
	return nil
}

func (r *fakeRecv) Drops() uint64 {
	r.n.mu.Lock()
	defer r.n.mu.Unlock()
	return r.drops
}

func (r *fakeRecv) Close() error {
	r.once.Do(func() { close(r.closed) })
	r.n.mu.Lock()
	for _, m := range r.n.members {
		delete(m, r)
	}
	r.n.mu.Unlock()
	return nil
}
