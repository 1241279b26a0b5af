package mcast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv6"
)

// DefaultRcvBuf is the receive buffer a Receiver asks for by default. Measurements on veth
// (shared/design/socket-recipes.md §2) lost most datagrams of a send burst with the default
// of about 208 KiB and none with 32 MiB.
const DefaultRcvBuf = 32 << 20

// RecvConfig configures [ListenRecv].
type RecvConfig struct {
	// Port is the UDP port to bind; 0 means DefaultPort.
	Port int
	// Ifaces are the interfaces groups are joined on (see [Interfaces]); at least one.
	Ifaces []net.Interface
	// RcvBuf is the receive buffer size to ask for; 0 means DefaultRcvBuf. Without
	// CAP_NET_ADMIN the kernel caps it at net.core.rmem_max.
	RcvBuf int
	// NoGRO keeps UDP generic receive offload off even where the kernel supports it.
	NoGRO bool
}

// RecvStats are a Receiver's counters.
type RecvStats struct {
	// Datagrams is the number of datagrams handed out by Read, after GRO splitting.
	Datagrams uint64
	// Bytes is the total payload of those datagrams.
	Bytes uint64
	// Drops is the number of datagrams the kernel dropped on this socket because its receive
	// buffer was full, as last reported by SO_RXQ_OVFL. The kernel attaches the counter to
	// each datagram it queues, so drops become visible when a later datagram is read.
	Drops uint64
	// Messages is the number of messages (socket buffers) read: a GRO-coalesced train counts
	// once, as it does in the kernel's drop counter.
	Messages uint64
	// Trains is the number of GRO-coalesced messages that Read split into datagrams.
	Trains uint64
	// Truncated is the number of messages discarded because they did not fit a 64 KiB buffer.
	Truncated uint64
	// Foreign is the number of datagrams discarded because they were not addressed to a group
	// this socket had joined on the interface they arrived on: unicast to the host's address
	// and the port, or a group left while the datagram waited in the queue. A GRO train
	// counts as the datagrams it carries.
	Foreign uint64
	// RcvBuf is the receive buffer the kernel granted, in the units of the request
	// (getsockopt(SO_RCVBUF) halved, as Linux doubles the request for bookkeeping).
	RcvBuf int
	// RcvBufForced reports whether SO_RCVBUFFORCE was accepted (the process is privileged),
	// so RcvBuf was not capped by net.core.rmem_max.
	RcvBufForced bool
	// GRO reports whether UDP generic receive offload is on.
	GRO bool
}

// RecvConn is a UDP socket that receives the multicast groups it joined, and only those:
// the kernel filters other groups (IPV6_MULTICAST_ALL=0) and Read drops anything else,
// unicast included, by its destination address (IPV6_PKTINFO).
// Exactly one goroutine calls Read; Join, Leave, Stats and Close may be called concurrently
// with it and with each other.
type RecvConn struct {
	conn   *net.UDPConn
	pc     *ipv6.PacketConn
	ifaces []net.Interface
	stats  RecvStats // the immutable fields: RcvBuf, RcvBufForced, GRO

	mu     sync.Mutex
	joined map[netip.Addr][]int // group -> indexes of the interfaces it is joined on
	closed atomic.Bool

	datagrams, bytes, drops, messages, trains, truncated, foreign atomic.Uint64
}

// ListenRecv opens the receiving socket: bound to [::]:port with SO_REUSEADDR and
// SO_REUSEPORT, IPV6_MULTICAST_ALL=0, the configured receive buffer, SO_RXQ_OVFL,
// IPV6_RECVPKTINFO and, unless disabled or unsupported, UDP_GRO. It joins no group.
func ListenRecv(cfg RecvConfig) (*RecvConn, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mcast: port %d out of range 1-65535", cfg.Port)
	}
	if len(cfg.Ifaces) == 0 {
		return nil, errors.New("mcast: receiver needs at least one interface")
	}
	if cfg.RcvBuf == 0 {
		cfg.RcvBuf = DefaultRcvBuf
	}
	if cfg.RcvBuf < 0 {
		return nil, fmt.Errorf("mcast: receive buffer %d is negative", cfg.RcvBuf)
	}
	var got rxOpts
	lc := net.ListenConfig{Control: receiverControl(&cfg, &got)}
	c, err := lc.ListenPacket(context.Background(), "udp6", net.JoinHostPort("::", strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("mcast: listening on udp port %d: %w", cfg.Port, err)
	}
	conn := c.(*net.UDPConn)
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("mcast: %w", err)
	}
	size, err := recvBufSize(rc)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("mcast: reading receive buffer size: %w", err)
	}
	return &RecvConn{
		conn:   conn,
		pc:     ipv6.NewPacketConn(conn),
		ifaces: slices.Clone(cfg.Ifaces),
		stats:  RecvStats{RcvBuf: size, RcvBufForced: got.forced, GRO: got.gro},
		joined: make(map[netip.Addr][]int),
	}, nil
}

// LocalAddr returns the address the socket is bound to.
func (r *RecvConn) LocalAddr() net.Addr { return r.conn.LocalAddr() }

// checkGroup refuses anything but an IPv6 multicast address.
func checkGroup(g netip.Addr) error {
	if !g.Is6() || g.Is4In6() || !g.IsMulticast() {
		return fmt.Errorf("mcast: %v is not an IPv6 multicast group", g)
	}
	return nil
}

// Join joins group g on every configured interface it is not yet joined on. It fails only if
// g ends up joined on no interface; joining a group twice is not an error.
func (r *RecvConn) Join(g netip.Addr) error {
	if err := checkGroup(g); err != nil {
		return err
	}
	g = g.WithZone("") // the key Read looks destinations up by
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return fmt.Errorf("mcast: join %v: %w", g, net.ErrClosed)
	}
	have := r.joined[g]
	var errs []error
	grp := &net.UDPAddr{IP: g.AsSlice()}
	for i := range r.ifaces {
		ifi := &r.ifaces[i]
		if slices.Contains(have, ifi.Index) {
			continue
		}
		if err := r.pc.JoinGroup(ifi, grp); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
			continue
		}
		have = append(have, ifi.Index)
	}
	if len(have) == 0 {
		return fmt.Errorf("mcast: join %v failed on every interface: %w", g, errors.Join(errs...))
	}
	r.joined[g] = have
	return nil
}

// Leave leaves group g on every interface it was joined on. Leaving a group that is not
// joined is an error.
func (r *RecvConn) Leave(g netip.Addr) error {
	if err := checkGroup(g); err != nil {
		return err
	}
	g = g.WithZone("") // the key Read looks destinations up by
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return fmt.Errorf("mcast: leave %v: %w", g, net.ErrClosed)
	}
	have, ok := r.joined[g]
	if !ok {
		return fmt.Errorf("mcast: leave %v: not joined", g)
	}
	delete(r.joined, g)
	var errs []error
	grp := &net.UDPAddr{IP: g.AsSlice()}
	for _, idx := range have {
		ifi := r.iface(idx)
		if err := r.pc.LeaveGroup(ifi, grp); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("mcast: leave %v: %w", g, errors.Join(errs...))
	}
	return nil
}

// AddIface adds ifi to the interfaces groups are joined on, and joins every group joined now
// on it too. An interface already configured is left as it is. The interface is kept even if
// some joins on it fail; the error names them.
func (r *RecvConn) AddIface(ifi net.Interface) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Load() {
		return fmt.Errorf("mcast: adding %s: %w", ifi.Name, net.ErrClosed)
	}
	if r.iface(ifi.Index) != nil {
		return nil
	}
	r.ifaces = append(r.ifaces, ifi)
	added := &r.ifaces[len(r.ifaces)-1]
	var errs []error
	for g, have := range r.joined {
		if err := r.pc.JoinGroup(added, &net.UDPAddr{IP: g.AsSlice()}); err != nil {
			errs = append(errs, fmt.Errorf("%v: %w", g, err))
			continue
		}
		r.joined[g] = append(have, ifi.Index)
	}
	if len(errs) > 0 {
		return fmt.Errorf("mcast: joining on %s: %w", ifi.Name, errors.Join(errs...))
	}
	return nil
}

// RemoveIface stops joining groups on interface ifindex and leaves those joined there (errors
// are ignored: the interface may be gone). Datagrams arriving on it are dropped from now on.
// It reports whether the interface was configured.
func (r *RecvConn) RemoveIface(ifindex int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.ifaces, func(ifi net.Interface) bool { return ifi.Index == ifindex })
	if i < 0 {
		return false
	}
	ifi := r.ifaces[i]
	for g, have := range r.joined {
		if j := slices.Index(have, ifindex); j >= 0 {
			if !r.closed.Load() {
				_ = r.pc.LeaveGroup(&ifi, &net.UDPAddr{IP: g.AsSlice()})
			}
			r.joined[g] = slices.Delete(have, j, j+1)
		}
	}
	r.ifaces = slices.Delete(r.ifaces, i, i+1)
	return true
}

// Joined returns the groups currently joined, in no particular order.
func (r *RecvConn) Joined() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]netip.Addr, 0, len(r.joined))
	for g := range r.joined {
		out = append(out, g)
	}
	return out
}

func (r *RecvConn) iface(index int) *net.Interface {
	for i := range r.ifaces {
		if r.ifaces[i].Index == index {
			return &r.ifaces[i]
		}
	}
	return nil
}

// Read blocks until at least one datagram has arrived and fills b with every datagram one
// recvmmsg call returned, splitting GRO-coalesced trains into the original datagrams. Only
// datagrams addressed to a group this socket has joined, on the interface it was joined on,
// are handed out; the others (unicast to the port above all) are counted in Stats().Foreign
// and dropped. Messages that did not fit a buffer are counted in Stats().Truncated and
// skipped. After Close it returns net.ErrClosed.
func (r *RecvConn) Read(b *Batch) error {
	for {
		b.reset()
		n, err := r.pc.ReadBatch(b.msgs, 0)
		if err != nil {
			if r.closed.Load() || errors.Is(err, net.ErrClosed) {
				return net.ErrClosed
			}
			return fmt.Errorf("mcast: receiving: %w", err)
		}
		var dgrams, bytes, msgs, trains, foreign uint64
		r.mu.Lock() // once per batch: the joined set changes rarely
		for i := range n {
			m := &b.msgs[i]
			rc, err := parseControl(m.OOB[:m.NN])
			if err != nil {
				r.mu.Unlock()
				// The kernel wrote this buffer; a parse failure is a bug, not hostile input.
				return err
			}
			if rc.hasDrops {
				r.drops.Store(uint64(rc.drops))
			}
			if isMsgTrunc(m.Flags) {
				r.truncated.Add(1)
				continue
			}
			if !r.addressedLocked(rc) {
				foreign += uint64(segments(m.N, rc.segSize))
				continue
			}
			k := b.appendSegments(m.Buffers[0][:m.N], rc.segSize, sourceOf(m.Addr))
			if k > 1 {
				trains++
			}
			msgs++
			dgrams += uint64(k)
			bytes += uint64(m.N)
		}
		r.mu.Unlock()
		r.datagrams.Add(dgrams)
		r.bytes.Add(bytes)
		r.messages.Add(msgs)
		r.trains.Add(trains)
		r.foreign.Add(foreign)
		if b.Len() > 0 {
			return nil
		}
	}
}

// addressedLocked reports whether a datagram was sent to a group this socket joined on the
// interface it came in on. A datagram without IPV6_PKTINFO (which ListenRecv turns on) is not.
// r.mu is held.
func (r *RecvConn) addressedLocked(rc rxControl) bool {
	if !rc.hasDst || !rc.dst.IsMulticast() {
		return false
	}
	return slices.Contains(r.joined[rc.dst], rc.ifindex)
}

// segments returns how many datagrams a message of n bytes carries when coalesced with GRO
// segment size seg (0: not coalesced).
func segments(n, seg int) int {
	if seg <= 0 || seg >= n {
		return 1
	}
	return (n + seg - 1) / seg
}

// Stats returns the receiver's counters.
func (r *RecvConn) Stats() RecvStats {
	s := r.stats
	s.Datagrams = r.datagrams.Load()
	s.Bytes = r.bytes.Load()
	s.Drops = r.drops.Load()
	s.Messages = r.messages.Load()
	s.Trains = r.trains.Load()
	s.Truncated = r.truncated.Load()
	s.Foreign = r.foreign.Load()
	return s
}

// QueueFill returns the bytes waiting in the socket's receive queue and the queue's limit, in
// the kernel's accounting (which includes per-datagram overhead). A queue that keeps filling
// up is the early sign of drops to come.
func (r *RecvConn) QueueFill() (used, limit int, err error) {
	rc, err := r.conn.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("mcast: %w", err)
	}
	return queueFill(rc)
}

// Close closes the socket, which leaves every group; a blocked Read returns net.ErrClosed.
func (r *RecvConn) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed.Swap(true) {
		return nil
	}
	clear(r.joined)
	if err := r.conn.Close(); err != nil {
		return fmt.Errorf("mcast: closing receiver: %w", err)
	}
	return nil
}
