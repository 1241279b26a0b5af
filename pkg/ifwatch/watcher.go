package ifwatch

import (
	"errors"
	"net"
	"net/netip"
	"slices"
)

// ErrNotSupported is returned by New on systems other than Linux.
var ErrNotSupported = errors.New("ifwatch: following interfaces is supported on Linux only")

// An Event says that an interface became usable (Up) or stopped being usable.
type Event struct {
	// Iface is the interface as last listed (for a vanished one, as it was in use).
	Iface net.Interface
	// Up is set when the interface became usable, clear when it must be dropped.
	Up bool
	// LinkLocal is the interface's link-local address that has left DAD (Up events only;
	// the zero Addr if it has none, only some other IPv6 address).
	LinkLocal netip.Addr
}

// Config configures [New].
type Config struct {
	// InUse are the interfaces the caller uses already (typically what mcast.Interfaces
	// returned at start). Events are relative to them: the Watcher reports none of them as
	// up, and reports each as down when it goes away.
	InUse []net.Interface
}

// inUseMap indexes interfaces by index.
func inUseMap(ifs []net.Interface) map[int]net.Interface {
	m := make(map[int]net.Interface, len(ifs))
	for _, ifi := range ifs {
		m[ifi.Index] = ifi
	}
	return m
}

// InUse returns the interfaces in use after the events delivered so far, in index order.
func (w *Watcher) InUse() []net.Interface {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]net.Interface, 0, len(w.inUse))
	for _, ifi := range w.inUse {
		out = append(out, ifi)
	}
	slices.SortFunc(out, func(a, b net.Interface) int { return a.Index - b.Index })
	return out
}
