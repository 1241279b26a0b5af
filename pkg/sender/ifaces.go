package sender

import (
	"maps"
	"net/netip"
	"slices"
	"time"
)

// IfacesChanged tells Run that the Transport's interfaces changed (one was added or
// removed at run time). Run then stops the channels of interfaces the Transport no longer
// has and forgets what it knew of their hosts, and in carousel mode starts the carousel on
// new ones (in MLD mode, the joins heard on a new interface start channels there as
// anywhere). It never blocks and is safe to call from any goroutine; calls made while one is
// pending collapse into it.
func (s *Sender) IfacesChanged() {
	select {
	case s.ifacesC <- struct{}{}:
	default:
	}
}

// syncIfaces brings the channels in line with the Transport's interfaces.
func (s *Sender) syncIfaces(now time.Time) {
	cur := map[int]bool{}
	for _, ifi := range s.cfg.Transport.Ifaces() {
		cur[ifi.Index] = true
	}
	for idx := range s.known {
		if !cur[idx] {
			s.dropIface(idx, now)
		}
	}
	if s.cfg.Carousel {
		for idx := range cur {
			if !s.known[idx] {
				s.startCarouselOn(idx, now)
			}
		}
	}
	s.known = cur
}

// dropIface stops every channel on interface ifindex and forgets its hosts.
func (s *Sender) dropIface(ifindex int, now time.Time) {
	for _, a := range s.act {
		if a.key.ifindex == ifindex {
			s.deactivate(a, now)
		}
	}
	onIface := func(k actKey) bool { return k.ifindex == ifindex }
	maps.DeleteFunc(s.recent, func(k actKey, _ []seen) bool { return onIface(k) })
	maps.DeleteFunc(s.served, func(k actKey, _ servedRec) bool { return onIface(k) })
	maps.DeleteFunc(s.rootServed, func(k actKey, _ map[netip.Addr]time.Time) bool { return onIface(k) })
	maps.DeleteFunc(s.live.listeners, func(k actKey, _ map[netip.Addr]time.Time) bool { return onIface(k) })
	for k := range s.fec.members {
		if onIface(k) {
			s.fec.set(k, nil)
		}
	}
	s.held = slices.DeleteFunc(s.held, func(h heldJoin) bool { return onIface(h.key) })
	delete(s.walkers, ifindex)
	delete(s.failing, ifindex)
	delete(s.seen, ifindex)
}

// listenersEvery bounds how often Stats.Listeners is recounted; maxSeen bounds the hosts
// remembered per interface.
const (
	listenersEvery = time.Second
	maxSeen        = 1 << 16
)

// untilListeners bounds the sender loop's wait by the time a due recount of the listeners may
// be made (wait < 0: no bound yet).
func (s *Sender) untilListeners(wait time.Duration) time.Duration {
	if !s.listenersDue {
		return wait
	}
	d := max(time.Until(s.listenersAt.Add(listenersEvery)), time.Millisecond)
	if wait < 0 || d < wait {
		return d
	}
	return wait
}

// noteSeen records that host h asked for one of the share's channels on ifindex.
func (s *Sender) noteSeen(ifindex int, h netip.Addr, now time.Time) {
	if !h.IsValid() || h.IsUnspecified() {
		return
	}
	m := s.seen[ifindex]
	if m == nil {
		m = map[netip.Addr]time.Time{}
		s.seen[ifindex] = m
	}
	if _, ok := m[h]; ok || len(m) < maxSeen {
		m[h] = now
	}
}

// countListeners recounts Stats.Listeners, at most once per listenersEvery, forgetting the
// hosts not seen within listenerTTL.
// A recount that is due but too early is made when listenersEvery has passed (the sender's
// loop wakes for it: untilListeners), so the count never stays stale for want of an event.
func (s *Sender) countListeners(now time.Time) {
	if now.Sub(s.listenersAt) < listenersEvery {
		s.listenersDue = true
		return
	}
	s.listenersAt, s.listenersDue = now, false
	ifs := s.cfg.Transport.Ifaces()
	out := make([]IfaceListeners, 0, len(ifs))
	for _, ifi := range ifs {
		m := s.seen[ifi.Index]
		maps.DeleteFunc(m, func(_ netip.Addr, at time.Time) bool { return now.Sub(at) >= listenerTTL })
		out = append(out, IfaceListeners{Ifindex: ifi.Index, Name: ifi.Name, Hosts: len(m)})
	}
	s.count(func(st *Stats) { st.Listeners = out })
}
