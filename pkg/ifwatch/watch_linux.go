package ifwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Watcher reports interfaces that become usable or stop being usable. Create it with New,
// read Events while Run runs.
type Watcher struct {
	sock   *os.File
	raw    syscall.RawConn
	events chan Event
	list   func() (map[int]linkState, error) // the listing (replaced in tests)

	mu      sync.Mutex
	inUse   map[int]net.Interface
	running atomic.Bool
	closing atomic.Bool // Run is closing the socket: read's error is not one
}

// Listing failures are retried every retryEvery; after maxFailures in a row Run gives up.
const (
	retryEvery  = time.Second
	maxFailures = 10
)

// New subscribes to the kernel's link and IPv6 address notifications. Changes from then on
// are reported by Run, including those that happened between the caller's own listing of
// cfg.InUse and New (Run lists the interfaces once when it starts).
func New(cfg Config) (*Watcher, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("ifwatch: opening a netlink socket: %w", err)
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ifwatch: subscribing to link and address notifications: %w", err)
	}
	sock := os.NewFile(uintptr(fd), "netlink-route")
	raw, err := sock.SyscallConn()
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("ifwatch: netlink socket: %w", err)
	}
	return &Watcher{sock: sock, raw: raw, events: make(chan Event), list: listLinks, inUse: inUseMap(cfg.InUse)}, nil
}

// Events returns the channel Run delivers events on, in the order they apply. Run closes it
// when it returns. An event is applied to InUse once it has been received.
func (w *Watcher) Events() <-chan Event { return w.events }

// Run lists the interfaces, then again after every burst of notifications, and delivers
// the differences on Events, until ctx ends (it then returns nil). It returns an error when
// the socket fails or the interfaces cannot be listed maxFailures times in a row. It closes
// the socket and Events on return, and may be called once.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("ifwatch: Run called twice")
	}
	defer close(w.events)
	changed := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	go func() { readErr <- w.read(changed) }()
	defer func() {
		w.closing.Store(true)
		w.sock.Close()
		<-readErr
	}()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	failures := 0
	for {
		now, err := w.list()
		if err != nil {
			if failures++; failures >= maxFailures {
				return fmt.Errorf("ifwatch: %d listings failed in a row: %w", failures, err)
			}
			retry.Reset(retryEvery)
		} else {
			failures = 0
			if !w.deliver(ctx, now) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			readErr <- nil // for the deferred wait
			return err
		case <-changed:
		case <-retry.C:
		}
	}
}

// deliver sends the events that bring InUse up to now; false if ctx ended first.
func (w *Watcher) deliver(ctx context.Context, now map[int]linkState) bool {
	w.mu.Lock()
	evs := diff(w.inUse, now)
	w.mu.Unlock()
	for _, ev := range evs {
		select {
		case <-ctx.Done():
			return false
		case w.events <- ev:
		}
		w.mu.Lock()
		if ev.Up {
			w.inUse[ev.Iface.Index] = ev.Iface
		} else {
			delete(w.inUse, ev.Iface.Index)
		}
		w.mu.Unlock()
	}
	return true
}

// read drains the socket, signalling changed once per burst of notifications (an overrun,
// ENOBUFS, counts as one: the listing that follows makes up for what was lost). It returns
// nil once the socket is closed.
func (w *Watcher) read(changed chan<- struct{}) error {
	buf := make([]byte, 1<<16)
	for {
		var rerr error
		err := w.raw.Read(func(fd uintptr) bool {
			_, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		switch {
		case w.closing.Load() || errors.Is(err, os.ErrClosed):
			// A file closed under RawConn.Read reports "use of closed file", which is
			// not os.ErrClosed.
			return nil
		case err != nil && !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EINTR):
			return fmt.Errorf("ifwatch: reading notifications: %w", err)
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// listLinks lists the interfaces and their IPv6 addresses.
func listLinks() (map[int]linkState, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("ifwatch: listing interfaces: %w", err)
	}
	tab, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_INET6)
	if err != nil {
		return nil, fmt.Errorf("ifwatch: listing addresses: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(tab)
	if err != nil {
		return nil, fmt.Errorf("ifwatch: parsing the address listing: %w", err)
	}
	return merge(ifaces, parseAddrs(msgs)), nil
}

// IFA_FLAGS bits that keep an address from sourcing packets.
const notReady = unix.IFA_F_TENTATIVE | unix.IFA_F_DADFAILED

// parseAddrs extracts the IPv6 addresses of an RTM_GETADDR dump; malformed messages are
// skipped.
func parseAddrs(msgs []syscall.NetlinkMessage) []addrInfo {
	var out []addrInfo
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg || m.Data[0] != syscall.AF_INET6 {
			continue
		}
		flags := uint32(m.Data[2])
		a := addrInfo{index: int(binary.NativeEndian.Uint32(m.Data[4:8]))}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}
		for _, at := range attrs {
			switch at.Attr.Type {
			case unix.IFA_ADDRESS:
				if ip, ok := netip.AddrFromSlice(at.Value); ok && ip.Is6() {
					a.addr = ip
				}
			case unix.IFA_FLAGS:
				if len(at.Value) >= 4 {
					flags = binary.NativeEndian.Uint32(at.Value)
				}
			}
		}
		if !a.addr.IsValid() {
			continue
		}
		a.ready = flags&notReady == 0
		out = append(out, a)
	}
	return out
}
