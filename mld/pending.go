package mld

import (
	"net/netip"
	"time"
)

// A pending check asks whether a group still has listeners: after a leave (RFC 3810 §7.4.2,
// the querier's last-listener queries) or to verify a group the filter may have lost. If no
// report arrives by the deadline the group is confirmed gone.
type pending struct {
	deadline    time.Time
	nextQuery   time.Time
	queriesLeft int
	// leave is set for a leave of a group the filter holds: at the deadline it is removed
	// from the filter. A verification removes nothing: the group was not held.
	leave bool
}

// startPending starts a check of g on l with a Last Listener Query Time deadline. With query
// set, the first of the Last Listener Query Count Multicast-Address-Specific Queries is sent
// now and the others a Last Listener Query Interval apart.
func (s *State) startPending(l *link, g netip.Addr, now time.Time, leave, query bool) {
	p := &pending{deadline: now.Add(s.t.llqt), leave: leave}
	l.pending[g] = p
	if query {
		p.queriesLeft = s.t.robustness
		p.nextQuery = now
		s.queryGroup(l, g, p, now)
	}
	s.notePending(p)
}

// queryGroup sends the next Multicast-Address-Specific Query of p, if one is due.
func (s *State) queryGroup(l *link, g netip.Addr, p *pending, now time.Time) {
	if p.queriesLeft == 0 || now.Before(p.nextQuery) {
		return
	}
	p.queriesLeft--
	p.nextQuery = now.Add(s.t.llqi)
	s.sendQuery(l, Query{
		Group:            g,
		MaxResponseDelay: s.t.llqi,
		Robustness:       s.t.robustness,
		QueryInterval:    s.t.qi,
	})
}

// notePending lowers the earliest pending time to cover p.
func (s *State) notePending(p *pending) {
	next := p.deadline
	if p.queriesLeft > 0 && p.nextQuery.Before(next) {
		next = p.nextQuery
	}
	if s.pendingMin.IsZero() || next.Before(s.pendingMin) {
		s.pendingMin = next
	}
}

// runPending sends due queries and settles checks past their deadline on every link, then
// recomputes the earliest pending time.
func (s *State) runPending(now time.Time) {
	if s.pendingMin.IsZero() || now.Before(s.pendingMin) {
		return
	}
	s.pendingMin = time.Time{}
	tk := s.tick(now)
	for _, l := range s.order {
		for g, p := range l.pending {
			s.queryGroup(l, g, p, now)
			if now.Before(p.deadline) {
				s.notePending(p)
				continue
			}
			delete(l.pending, g)
			s.settle(l, g, p, tk, now)
		}
	}
}

// settle confirms that g has no listeners on l: a leave removes it from the filter (only if
// the filter still holds it; an expired group has nothing left to remove) and either way it
// is remembered as gone for a short while, so Wanted answers false without verifying again.
func (s *State) settle(l *link, g netip.Addr, p *pending, tk uint32, now time.Time) {
	if p.leave {
		s.stats.LeavesConfirmed++
		if l.filter.Contains(g, tk) {
			l.filter.Remove(g)
		}
	} else {
		s.stats.VerificationsFailed++
	}
	s.log.Debug("mld: group gone", "iface", l.Name, "group", g, "leave", p.leave)
	if len(l.gone) < maxGone {
		l.gone[g] = now.Add(s.t.goneTTL)
	}
}

// pruneGone forgets confirmed leaves older than their time to live.
func (s *State) pruneGone(now time.Time) {
	for _, l := range s.order {
		for g, until := range l.gone {
			if !now.Before(until) {
				delete(l.gone, g)
			}
		}
	}
}
