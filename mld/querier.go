package mld

import (
	"net/netip"
	"time"
)

// runQuerier sends the General Queries due on l and resumes the querier role when the Other
// Querier Present Interval has passed (RFC 3810 §7.6.2). We start as querier and send the
// Startup Query Count (R) of General Queries a Startup Query Interval (QI/4) apart, then one
// every Query Interval. The startup queries ask for answers within startupResponse rather
// than the Query Response Interval, so that a server (re)started on a link learns its
// listeners (say, followers that stayed joined while it restarted) within a second rather
// than ten.
func (s *State) runQuerier(l *link, now time.Time) {
	if !s.canQuery(l.Link) {
		return
	}
	if !l.querier {
		if now.Before(l.otherUntil) {
			return
		}
		s.log.Debug("mld: resuming querier role", "iface", l.Name, "silent", l.otherQuerier)
		l.querier, l.otherQuerier, l.nextGQ = true, netip.Addr{}, now
	}
	if now.Before(l.nextGQ) {
		return
	}
	mrd := s.t.qri
	if l.startupLeft > 0 {
		mrd = min(mrd, startupResponse)
	}
	s.sendQuery(l, Query{
		Group:            netip.IPv6Unspecified(),
		MaxResponseDelay: mrd,
		Robustness:       s.t.robustness,
		QueryInterval:    s.t.qi,
	})
	interval := s.t.qi
	if l.startupLeft > 0 {
		l.startupLeft--
		if l.startupLeft > 0 {
			interval = s.t.sqi
		}
	}
	l.nextGQ = now.Add(interval)
}

// startupResponse is the Maximum Response Delay of the startup General Queries (RFC 3810
// §9.3 lets it be configured; the reports it asks for are one per listening host).
const startupResponse = time.Second

// querierDeadline returns when runQuerier next has work on l, or the zero time.
func (s *State) querierDeadline(l *link) time.Time {
	switch {
	case !s.canQuery(l.Link):
		return time.Time{}
	case l.querier:
		return l.nextGQ
	default:
		return l.otherUntil
	}
}

// sendQuery hands q for l to the QuerySender and counts the outcome.
func (s *State) sendQuery(l *link, q Query) {
	if s.send == nil {
		return
	}
	if err := s.send(l.Index, q); err != nil {
		s.stats.SendErrors++
		s.log.Debug("mld: sending query", "iface", l.Name, "group", q.Group, "err", err)
		return
	}
	s.stats.QueriesSent++
}
