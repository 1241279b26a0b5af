package main

import (
	"context"
	"net"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/ifwatch"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/sender"
)

// watchIfaces subscribes to interface changes when no --iface was given (every multicast
// interface is then used, including those that appear later). It returns nil with --iface,
// or when the system cannot follow interfaces (the reason is logged; the interfaces of the
// start are used throughout).
func watchIfaces(e *env, inUse []net.Interface) *ifwatch.Watcher {
	if e.o.ifaces != "" {
		return nil
	}
	w, err := ifwatch.New(ifwatch.Config{InUse: inUse})
	if err != nil {
		e.log.Warn("interfaces that appear or go away later will not be followed", "err", err)
		return nil
	}
	return w
}

// followIfaces runs w and hands each change to apply until ctx ends. A watcher that fails
// is logged, not fatal: the interfaces in use stay as they are.
func followIfaces(e *env, w *ifwatch.Watcher, apply func(ifwatch.Event)) func(context.Context) error {
	if w == nil {
		return nil
	}
	return func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- w.Run(ctx) }()
		for ev := range w.Events() {
			apply(ev)
		}
		if err := <-errc; err != nil {
			e.log.Warn("no longer following interfaces", "err", err)
		}
		return nil
	}
}

// serverIfaceChange applies an interface change to a server: a new interface gets a send
// socket, then the MLD listener's attention, then the sender's; one that went away is
// dropped in the reverse order. Each change is one log line.
func serverIfaceChange(e *env, tx *mcast.SendConn, l *mld.Listener, s *sender.Sender) func(ifwatch.Event) {
	return func(ev ifwatch.Event) {
		name, idx := ev.Iface.Name, ev.Iface.Index
		if !ev.Up {
			if l != nil {
				l.RemoveLink(idx)
			}
			tx.RemoveIface(idx)
			s.IfacesChanged()
			e.log.Info("interface gone: no longer serving on it", "iface", name, "index", idx)
			return
		}
		if err := tx.AddIface(ev.Iface); err != nil {
			e.log.Warn("interface appeared but cannot be served on", "iface", name, "err", err)
			return
		}
		if l != nil {
			if err := l.AddLink(ev.Iface); err != nil {
				tx.RemoveIface(idx)
				e.log.Warn("interface appeared but MLD cannot listen on it", "iface", name, "err", err)
				return
			}
		}
		s.IfacesChanged()
		e.log.Info("interface added: serving on it", "iface", name, "index", idx, "addr", ev.LinkLocal)
	}
}
