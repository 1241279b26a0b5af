package mcast

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv6"
)

// udp6Overhead is the IPv6 and UDP header size: a datagram payload must fit MTU-48.
const udp6Overhead = 48

// minMTU is the IPv6 minimum link MTU (RFC 8200), assumed when an interface reports none.
const minMTU = 1280

// sendBatch is the number of datagrams per sendmmsg call.
const sendBatch = 64

// SendConfig configures [NewSendConn].
type SendConfig struct {
	// Ifaces are the interfaces to send on (see [Interfaces]); at least one.
	Ifaces []net.Interface
	// Port is the destination UDP port; 0 means DefaultPort.
	Port int
	// HopLimit is the multicast hop limit, 1 to 255; 0 means 1 (the link only).
	HopLimit int
	// NoLoopback turns multicast loopback off. By default it is on, so receivers on the
	// sending host get the datagrams too.
	NoLoopback bool
	// SndBuf is the send buffer size to ask for; 0 keeps the kernel default. Without
	// CAP_NET_ADMIN the kernel caps it at net.core.wmem_max.
	SndBuf int
	// NoGSO keeps SendSegments on batched sends even where the kernel supports UDP GSO.
	NoGSO bool
}

// Datagram is one datagram to send: its payload and the group it goes to.
type Datagram struct {
	// Group is the destination IPv6 multicast group.
	Group netip.Addr
	// Payload is the UDP payload.
	Payload []byte
}

// SendConn sends datagrams to multicast groups, with one socket per interface. Its methods
// may be called from several goroutines; sends on the same interface are serialized.
type SendConn struct {
	port int
	cfg  SendConfig    // for AddIface
	done chan struct{} // closed by Close; aborts backoff waits
	once sync.Once

	mu     sync.RWMutex // guards ifaces and egress (AddIface, RemoveIface, Close)
	ifaces []net.Interface
	egress map[int]*egress // by interface index
}

// batchWriter is the part of ipv6.PacketConn the send loop uses (replaced in tests).
type batchWriter interface {
	WriteBatch(ms []ipv6.Message, flags int) (int, error)
}

// egress is the socket of one interface and its reusable send scratch.
type egress struct {
	ifi        net.Interface
	conn       *net.UDPConn
	w          batchWriter
	maxPayload int         // MTU minus IPv6 and UDP headers
	gso        atomic.Bool // SendSegments uses UDP_SEGMENT
	gone       atomic.Bool // RemoveIface closed it

	mu    sync.Mutex // serializes sends; guards the scratch below
	msgs  []ipv6.Message
	iov   [][]byte
	addrs []net.UDPAddr
	ips   [][16]byte
	wait  func(done <-chan struct{}, d time.Duration) error // backoff sleep (replaced in tests)
}

// NewSendConn opens one UDP socket per interface, bound to an ephemeral port, with
// IPV6_MULTICAST_IF set to the interface, the configured hop limit and loopback,
// IPV6_MULTICAST_ALL=0 and IPV6_DONTFRAG (oversized datagrams fail instead of fragmenting). It
// probes UDP GSO once and remembers the result.
func NewSendConn(cfg SendConfig) (*SendConn, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mcast: port %d out of range 1-65535", cfg.Port)
	}
	if cfg.HopLimit == 0 {
		cfg.HopLimit = 1
	}
	if cfg.HopLimit < 1 || cfg.HopLimit > 255 {
		return nil, fmt.Errorf("mcast: hop limit %d out of range 1-255", cfg.HopLimit)
	}
	if cfg.SndBuf < 0 {
		return nil, fmt.Errorf("mcast: send buffer %d is negative", cfg.SndBuf)
	}
	if len(cfg.Ifaces) == 0 {
		return nil, errors.New("mcast: sender needs at least one interface")
	}
	s := &SendConn{
		port:   cfg.Port,
		cfg:    cfg,
		ifaces: slices.Clone(cfg.Ifaces),
		egress: make(map[int]*egress, len(cfg.Ifaces)),
		done:   make(chan struct{}),
	}
	for _, ifi := range s.ifaces {
		if _, dup := s.egress[ifi.Index]; dup {
			continue
		}
		e, err := newEgress(&cfg, ifi)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.egress[ifi.Index] = e
	}
	return s, nil
}

func newEgress(cfg *SendConfig, ifi net.Interface) (*egress, error) {
	lc := net.ListenConfig{Control: senderControl(cfg)}
	c, err := lc.ListenPacket(context.Background(), "udp6", "[::]:0")
	if err != nil {
		return nil, fmt.Errorf("mcast: opening send socket for %s: %w", ifi.Name, err)
	}
	conn := c.(*net.UDPConn)
	pc := ipv6.NewPacketConn(conn)
	fail := func(what string, err error) (*egress, error) {
		conn.Close()
		return nil, fmt.Errorf("mcast: send socket for %s: %s: %w", ifi.Name, what, err)
	}
	if err := pc.SetMulticastInterface(&ifi); err != nil {
		return fail("setting IPV6_MULTICAST_IF", err)
	}
	if err := pc.SetMulticastHopLimit(cfg.HopLimit); err != nil {
		return fail("setting IPV6_MULTICAST_HOPS", err)
	}
	if err := pc.SetMulticastLoopback(!cfg.NoLoopback); err != nil {
		return fail("setting IPV6_MULTICAST_LOOP", err)
	}
	mtu := ifi.MTU
	if mtu < minMTU {
		mtu = minMTU
	}
	e := &egress{
		ifi:        ifi,
		conn:       conn,
		w:          pc,
		maxPayload: mtu - udp6Overhead,
		wait:       sleepOrDone,
	}
	if !cfg.NoGSO {
		rc, err := conn.SyscallConn()
		if err != nil {
			return fail("raw conn", err)
		}
		e.gso.Store(probeGSO(rc))
	}
	e.grow(sendBatch)
	return e, nil
}

// grow makes the scratch hold at least n messages.
func (e *egress) grow(n int) {
	if len(e.msgs) >= n {
		return
	}
	e.msgs = make([]ipv6.Message, n)
	e.iov = make([][]byte, n)
	e.addrs = make([]net.UDPAddr, n)
	e.ips = make([][16]byte, n)
	for i := range e.msgs {
		e.addrs[i].IP = e.ips[i][:]
		e.msgs[i].Buffers = e.iov[i : i+1 : i+1]
		e.msgs[i].Addr = &e.addrs[i]
	}
}

// Ifaces returns the interfaces the sender sends on.
func (s *SendConn) Ifaces() []net.Interface {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.ifaces)
}

// AddIface opens a socket on ifi, configured as NewSendConn's, so that the sender can send on
// it from now on. An interface already in use is left as it is.
func (s *SendConn) AddIface(ifi net.Interface) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return fmt.Errorf("mcast: adding %s: %w", ifi.Name, net.ErrClosed)
	default:
	}
	if _, ok := s.egress[ifi.Index]; ok {
		return nil
	}
	e, err := newEgress(&s.cfg, ifi)
	if err != nil {
		return err
	}
	s.egress[ifi.Index] = e
	s.ifaces = append(s.ifaces, ifi)
	return nil
}

// RemoveIface stops sending on interface ifindex and closes its socket: a send on it in
// progress, and every later one, fails with an error wrapping ErrInterfaceGone. It reports
// whether the interface was in use.
func (s *SendConn) RemoveIface(ifindex int) bool {
	s.mu.Lock()
	e := s.egress[ifindex]
	if e != nil {
		delete(s.egress, ifindex)
		s.ifaces = slices.DeleteFunc(s.ifaces, func(ifi net.Interface) bool { return ifi.Index == ifindex })
		e.gone.Store(true)
	}
	s.mu.Unlock()
	if e == nil {
		return false
	}
	_ = e.conn.Close() // a close error on a socket we drop changes nothing
	return true
}

// GSO reports whether SendSegments uses UDP generic segmentation offload on every interface:
// the kernel accepted UDP_SEGMENT when NewSendConn probed it, NoGSO was not set, and no
// interface has since refused a segment train.
func (s *SendConn) GSO() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.egress {
		if !e.gso.Load() {
			return false
		}
	}
	return len(s.egress) > 0
}

// MaxPayload returns the largest datagram payload that fits the MTU of interface ifindex
// without fragmentation (MTU minus 48), or 0 for an interface the sender does not use.
func (s *SendConn) MaxPayload(ifindex int) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.egress[ifindex]; e != nil {
		return e.maxPayload
	}
	return 0
}

func (s *SendConn) lookup(ifindex int) (*egress, error) {
	select {
	case <-s.done:
		return nil, fmt.Errorf("mcast: send: %w", net.ErrClosed)
	default:
	}
	s.mu.RLock()
	e := s.egress[ifindex]
	s.mu.RUnlock()
	if e == nil {
		return nil, fmt.Errorf("mcast: send: interface index %d is not one of the sender's: %w", ifindex, ErrInterfaceGone)
	}
	return e, nil
}

// Send sends the datagrams, in order, to their groups out of interface ifindex, in batches
// of up to 64 per sendmmsg call. A full socket buffer parks the caller until there is room. It
// returns how many datagrams were sent; that is len(ds) exactly when the error is nil. A
// datagram larger than the interface MTU allows fails with EMSGSIZE and ends the send.
func (s *SendConn) Send(ifindex int, ds []Datagram) (int, error) {
	e, err := s.lookup(ifindex)
	if err != nil {
		return 0, err
	}
	for i := range ds {
		if err := checkGroup(ds[i].Group); err != nil {
			return 0, fmt.Errorf("mcast: send: datagram %d: %w", i, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sent := 0
	for len(ds) > 0 {
		k := min(len(ds), sendBatch)
		for i := range k {
			e.ips[i] = ds[i].Group.As16()
			e.addrs[i].Port = s.port
			e.iov[i] = ds[i].Payload
			e.msgs[i].OOB = nil
		}
		n, err := e.writeAll(e.msgs[:k], s.done)
		sent += n
		clear(e.iov[:k]) // do not pin the caller's payloads
		if err != nil {
			return sent, err
		}
		ds = ds[k:]
	}
	return sent, nil
}

// Backoff bounds for transient send errors (ENOBUFS: a queue below the socket is full).
const (
	minBackoff = 50 * time.Microsecond
	maxBackoff = 10 * time.Millisecond
	// maxStall is how long sends may fail transiently without progress before giving up.
	maxStall = 5 * time.Second
)

// writeAll writes every message, retrying the remainder after a partial sendmmsg. Transient
// errors (ENOBUFS: the interface's queue is full, as IPV6_RECVERR reports it; EAGAIN, EINTR)
// back off exponentially instead of spinning and give up after maxStall without progress;
// another error is retried once. It returns how many messages were sent.
func (e *egress) writeAll(ms []ipv6.Message, done <-chan struct{}) (int, error) {
	sent := 0
	backoff := minBackoff
	var stalled time.Duration
	retried := false
	for sent < len(ms) {
		n, err := e.w.WriteBatch(ms[sent:], 0)
		if n > 0 {
			sent += n
			backoff, stalled, retried = minBackoff, 0, false
		}
		if err == nil && n > 0 {
			continue
		}
		if err != nil && !transient(err) && !retried && !errors.Is(err, net.ErrClosed) {
			// With IPV6_RECVERR an ICMP error about an earlier datagram (a Packet Too Big
			// from a router, say) fails the next send once: try again before giving up.
			retried = true
			continue
		}
		if err != nil && !transient(err) {
			if errors.Is(err, net.ErrClosed) {
				err = net.ErrClosed
				if e.gone.Load() {
					err = ErrInterfaceGone
				}
			}
			return sent, fmt.Errorf("mcast: send on %s: %w", e.ifi.Name, err)
		}
		// A transient error, or no progress without an error: wait, do not spin.
		if stalled >= maxStall {
			return sent, fmt.Errorf("mcast: send on %s: no progress for %v: %w", e.ifi.Name, stalled, err)
		}
		if werr := e.wait(done, backoff); werr != nil {
			return sent, fmt.Errorf("mcast: send on %s: %w", e.ifi.Name, werr)
		}
		if e.gone.Load() {
			return sent, fmt.Errorf("mcast: send on %s: %w", e.ifi.Name, ErrInterfaceGone)
		}
		stalled += backoff
		backoff = min(2*backoff, maxBackoff)
	}
	return sent, nil
}

// sleepOrDone waits for d, or returns net.ErrClosed as soon as done is closed.
func sleepOrDone(done <-chan struct{}, d time.Duration) error {
	// Closed already: say so, rather than let select pick a timer that fired as fast.
	select {
	case <-done:
		return net.ErrClosed
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return net.ErrClosed
	case <-t.C:
		return nil
	}
}

// Close closes every socket. Sends in progress return an error wrapping net.ErrClosed.
func (s *SendConn) Close() error {
	var errs []error
	s.once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		close(s.done)
		for _, e := range s.egress {
			if err := e.conn.Close(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.ifi.Name, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("mcast: closing sender: %w", errors.Join(errs...))
	}
	return nil
}
