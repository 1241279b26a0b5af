package mld

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// readBufSize holds any ICMPv6 message up to the largest IPv6 payload without jumbograms.
const readBufSize = 1 << 16

// A Listener learns from MLD reports overheard on a raw ICMPv6 socket which multicast groups
// have listeners on each link, and acts as an MLD querier there when elected. It owns the
// socket, one reader goroutine (started by Run) and a State guarded by one mutex.
//
// Wanted, Notify, TakeEvents and Stats are safe for concurrent use, including before Run.
type Listener struct {
	conn  packetConn
	clock Clock
	log   *slog.Logger

	mu     sync.Mutex
	links  []Link
	state  *State
	armed  time.Time // the deadline Run's timer is set for
	buf    []byte    // query encoding buffer, used under mu
	kick   chan struct{}
	notify chan struct{}

	readErrors atomic.Uint64
	running    atomic.Bool
	closeOnce  sync.Once
	closeErr   error
}

// Listen opens the raw ICMPv6 socket on cfg.Ifaces (every up, multicast-capable interface if
// empty) and returns a Listener ready to Run. Without CAP_NET_RAW the error wraps
// ErrPrivilege; on systems other than Linux it wraps ErrNotSupported.
func Listen(cfg Config) (*Listener, error) {
	if _, err := cfg.timers(); err != nil {
		return nil, err
	}
	links, err := resolveLinks(cfg.Ifaces)
	if err != nil {
		return nil, err
	}
	conn, err := openConn(links, cfg.Growable)
	if err != nil {
		return nil, err
	}
	l, err := newListener(cfg, links, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return l, nil
}

// newListener builds a Listener on an open connection.
func newListener(cfg Config, links []Link, conn packetConn) (*Listener, error) {
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		conn: conn, links: links, clock: cfg.Clock, log: cfg.Logger,
		kick: make(chan struct{}, 1), notify: make(chan struct{}, 1),
	}
	var send QuerySender
	if cfg.Querier {
		send = l.sendQuery
	}
	st, err := NewState(cfg, links, send)
	if err != nil {
		return nil, err
	}
	l.state = st
	return l, nil
}

// Links returns the links the Listener listens on.
func (l *Listener) Links() []Link {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Link(nil), l.links...)
}

// AddLink starts listening on ifi (the Listener must have been opened with Config.Growable),
// which may be called while Run runs: its link-local address (which must have left DAD to
// source queries) is read now, it starts with no groups and, if it may, as the querier, its
// Startup Queries due at once. A link listened on already is left as it is.
func (l *Listener) AddLink(ifi net.Interface) error {
	ll, err := linkLocal(ifi)
	if err != nil {
		return err
	}
	link := Link{Index: ifi.Index, Name: ifi.Name, Addr: ll}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.links {
		if x.Index == link.Index {
			return nil
		}
	}
	if err := l.conn.AddLink(link); err != nil {
		return err
	}
	if err := l.state.AddLink(link); err != nil {
		l.conn.RemoveLink(link)
		return err
	}
	l.links = append(l.links, link)
	l.rearmLocked()
	return nil
}

// RemoveLink stops listening on link ifindex, forgetting its groups and the events it queued;
// Wanted answers false for it from now on. It reports whether the link was listened on.
func (l *Listener) RemoveLink(ifindex int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.IndexFunc(l.links, func(x Link) bool { return x.Index == ifindex })
	if i < 0 {
		return false
	}
	link := l.links[i]
	l.links = slices.Delete(l.links, i, i+1)
	l.state.RemoveLink(ifindex)
	l.conn.RemoveLink(link)
	return true
}

// Run reads and applies MLD messages, sweeps expired groups and sends queries until ctx is
// done, then closes the socket and returns nil. It returns an error if the socket fails. Run
// may be called once.
func (l *Listener) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("mld: Run called twice")
	}
	defer l.Close()
	readDone := make(chan error, 2)
	go func() { readDone <- l.readLoop() }()
	go func() { readDone <- l.localLoop() }()
	timer := l.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		next := l.state.Tick()
		l.armed = next
		l.mu.Unlock()
		timer.Reset(max(next.Sub(l.clock.Now()), 0))
		select {
		case <-ctx.Done():
			l.Close()
			<-readDone
			<-readDone
			return nil
		case err := <-readDone:
			l.Close()
			if other := <-readDone; err == nil {
				err = other
			}
			return err
		case <-timer.C():
		case <-l.kick:
		}
	}
}

// readLoop is the packet socket's only reader. It returns nil once the socket is closed.
func (l *Listener) readLoop() error {
	buf := make([]byte, readBufSize)
	for {
		n, ifindex, err := l.conn.ReadPacket(buf)
		if err != nil {
			return l.readError(err)
		}
		l.apply(func() error { return l.state.HandlePacket(ifindex, buf[:n]) })
	}
}

// localLoop is the raw socket's only reader: it applies the MLD messages this host sends
// itself (a receiver on the server's own host), which the packet socket never sees. It
// returns nil once the socket is closed.
func (l *Listener) localLoop() error {
	buf := make([]byte, readBufSize)
	for {
		n, h, err := l.conn.ReadLocal(buf)
		if err != nil {
			return l.readError(err)
		}
		l.apply(func() error { return l.state.HandleMessage(h, buf[:n]) })
	}
}

// readError turns a read error into readLoop's result: nil once the socket is closed.
func (l *Listener) readError(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	l.readErrors.Add(1)
	return fmt.Errorf("mld: reading the socket: %w", err)
}

// apply runs handle on the State under the mutex, then wakes Run and the Notify channel as
// needed.
func (l *Listener) apply(handle func() error) {
	l.mu.Lock()
	err := handle()
	joins := l.state.PendingEvents() > 0
	l.rearmLocked()
	l.mu.Unlock()
	if err != nil {
		l.log.Debug("mld: malformed message", "err", err)
	}
	if joins {
		select {
		case l.notify <- struct{}{}:
		default:
		}
	}
}

// rearmLocked wakes Run when the State's next deadline moved before the armed one.
func (l *Listener) rearmLocked() {
	if l.state.NextDeadline().Before(l.armed) {
		l.armed = l.state.NextDeadline()
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// sendQuery is the State's QuerySender; it runs under l.mu.
func (l *Listener) sendQuery(ifindex int, q Query) error {
	var err error
	if l.buf, err = AppendQuery(l.buf[:0], q); err != nil {
		return err
	}
	dst := allNodes()
	if !q.General() {
		dst = q.Group
	}
	st := l.state.links[ifindex]
	return l.conn.SendQuery(ifindex, st.Addr, dst, l.buf)
}

// Wanted reports whether some listener on link ifindex wants group g (see State.Wanted: a
// group the filter lost is verified before it is reported absent).
func (l *Listener) Wanted(ifindex int, g netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.state.Wanted(ifindex, g)
	l.rearmLocked()
	return w
}

// Notify returns a channel that receives a value (capacity 1, never closed) when events are
// queued; call TakeEvents to collect them.
func (l *Listener) Notify() <-chan struct{} { return l.notify }

// TakeEvents appends the queued join and leave events to dst, oldest first, and empties the
// queue. Repeated identical reports (same link, group, host and kind) between two calls
// yield one Event.
func (l *Listener) TakeEvents(dst []Event) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.TakeEvents(dst)
}

// Stats returns the Listener's counters and a snapshot of every link.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	st := l.state.Stats()
	l.mu.Unlock()
	st.ReadErrors = l.readErrors.Load()
	return st
}

// Close closes the socket. Run calls it on return; call it directly only for a Listener
// that is never Run. It is safe to call more than once.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.conn.Close() })
	return l.closeErr
}
