package mcasttest

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// queueLen is how many datagrams a Conn holds before it drops.
const queueLen = 1 << 14

// The source addresses of the sender's datagrams and, by default, of injected ones.
var (
	SenderAddr   = netip.MustParseAddr("fe80::5e:1")
	AttackerAddr = netip.MustParseAddr("fe80::bad")
)

// datagram is a datagram in a Conn's queue.
type datagram struct {
	d   []byte
	src netip.Addr
}

// Net is an in-memory multicast link with one interface, index 1. Its methods are safe for
// concurrent use; set the hooks before the first Send.
type Net struct {
	// Inject, if set, is called with every datagram sent and may return extra datagrams to
	// deliver to the same group (hostile traffic). They come from AttackerAddr, where the
	// sender's come from SenderAddr, unless InjectFrom is set.
	Inject func(g netip.Addr, d []byte) [][]byte
	// InjectFrom, if set, gives the source address of the i-th extra datagram of a call of
	// Inject (a host that forges its source).
	InjectFrom func(i int) netip.Addr
	// Drop, if set, is called with every datagram sent; those it reports are lost for all.
	Drop func(g netip.Addr, d []byte) bool

	mu      sync.Mutex
	members map[netip.Addr]map[*Conn]bool
	events  []mld.Event
	notify  chan struct{}
	rng     *rand.Rand
	sent    int
	hosts   uint8
}

// NewNet returns an empty link. Its random loss is seeded, so a test sees the same losses for
// the same sequence of sends.
func NewNet() *Net {
	return &Net{members: map[netip.Addr]map[*Conn]bool{}, notify: make(chan struct{}, 1), rng: rand.New(rand.NewPCG(7, 9))}
}

// Ifaces returns the link's one interface.
func (n *Net) Ifaces() []net.Interface { return []net.Interface{{Index: 1, Name: "fake0"}} }

// Send delivers datagrams to the members of their groups.
func (n *Net) Send(ifindex int, ds []mcast.Datagram) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range ds {
		n.sent++
		if n.Drop != nil && n.Drop(d.Group, d.Payload) {
			continue
		}
		var extra [][]byte
		if n.Inject != nil {
			extra = n.Inject(d.Group, d.Payload)
		}
		for c := range n.members[d.Group] {
			for i, p := range append([][]byte{d.Payload}, extra...) {
				if c.loss > 0 && n.rng.Float64() < c.loss {
					continue
				}
				src := SenderAddr
				switch {
				case i > 0 && n.InjectFrom != nil:
					src = n.InjectFrom(i - 1)
				case i > 0:
					src = AttackerAddr
				}
				select {
				case c.q <- datagram{append([]byte(nil), p...), src}:
				default:
					c.drops++
				}
			}
		}
	}
	return len(ds), nil
}

// Sent returns how many datagrams were sent on the link.
func (n *Net) Sent() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent
}

// Wanted reports whether some Conn is a member of g.
func (n *Net) Wanted(ifindex int, g netip.Addr) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.members[g]) > 0
}

// Notify signals that events are waiting.
func (n *Net) Notify() <-chan struct{} { return n.notify }

// TakeEvents appends the joins and leaves since the last call to dst.
func (n *Net) TakeEvents(dst []mld.Event) []mld.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	dst = append(dst, n.events...)
	n.events = n.events[:0]
	return dst
}

// Conn returns a new receiving socket on the link, from a host of its own, that loses each
// datagram with probability loss.
func (n *Net) Conn(loss float64) *Conn {
	n.mu.Lock()
	n.hosts++
	id := n.hosts
	n.mu.Unlock()
	return &Conn{n: n, src: netip.AddrFrom16([16]byte{0xfe, 0x80, 15: id}), q: make(chan datagram, queueLen),
		closed: make(chan struct{}), loss: loss}
}

// ConnOf returns a new receiving socket on the link on the host of c (its joins and leaves
// come from c's address), as a process opens several sockets on one host.
func (n *Net) ConnOf(c *Conn, loss float64) *Conn {
	return &Conn{n: n, src: c.src, q: make(chan datagram, queueLen), closed: make(chan struct{}), loss: loss}
}

func (n *Net) event(e mld.Event) {
	n.mu.Lock()
	n.events = append(n.events, e)
	n.mu.Unlock()
	select {
	case n.notify <- struct{}{}:
	default:
	}
}

// Conn is one receiver's socket on a Net (it is a receiver.Transport).
type Conn struct {
	n      *Net
	src    netip.Addr
	q      chan datagram
	closed chan struct{}
	once   sync.Once
	loss   float64
	drops  uint64 // guarded by n.mu
}

// Join makes the Conn a member of g.
func (c *Conn) Join(g netip.Addr) error {
	c.n.mu.Lock()
	if c.n.members[g] == nil {
		c.n.members[g] = map[*Conn]bool{}
	}
	c.n.members[g][c] = true
	c.n.mu.Unlock()
	c.n.event(mld.Event{Ifindex: 1, Group: g, Source: c.src})
	return nil
}

// Leave ends the Conn's membership of g.
func (c *Conn) Leave(g netip.Addr) error {
	c.n.mu.Lock()
	delete(c.n.members[g], c)
	c.n.mu.Unlock()
	c.n.event(mld.Event{Ifindex: 1, Group: g, Source: c.src, Leave: true})
	return nil
}

// Receive waits for a datagram and calls fn for it and up to 63 more that wait; after Close
// it returns net.ErrClosed.
func (c *Conn) Receive(fn func([]byte)) error {
	return c.ReceiveFrom(func(d []byte, _ netip.Addr) { fn(d) })
}

// ReceiveFrom is Receive that also gives each datagram's source address.
func (c *Conn) ReceiveFrom(fn func([]byte, netip.Addr)) error {
	select {
	case d := <-c.q:
		fn(d.d, d.src)
	case <-c.closed:
		return net.ErrClosed
	}
	for range 63 {
		select {
		case d := <-c.q:
			fn(d.d, d.src)
		default:
			return nil
		}
	}
	return nil
}

// Drops returns how many datagrams a full queue dropped.
func (c *Conn) Drops() uint64 {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	return c.drops
}

// DatagramsPerMessage is 1: each datagram is a message of its own.
func (c *Conn) DatagramsPerMessage() float64 { return 1 }

// Close ends Receive and every membership.
func (c *Conn) Close() error {
	c.once.Do(func() { close(c.closed) })
	c.n.mu.Lock()
	for _, m := range c.n.members {
		delete(m, c)
	}
	c.n.mu.Unlock()
	return nil
}
