package mld

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

var errEmpty = errors.New("mld: empty message")

// HandlePacket applies one IPv6 packet (from its first byte, without link-layer header)
// that arrived on link ifindex: it verifies the ICMPv6 checksum, finds the Router Alert
// option and hands the message to HandleMessage. Packets that are not ICMPv6 behind at most a
// Hop-by-Hop Options header, or whose checksum is wrong, are counted and ignored; the error
// says why.
func (s *State) HandlePacket(ifindex int, p []byte) error {
	if s.links[ifindex] == nil {
		s.stats.ForeignLink++
		return nil
	}
	h, msg, err := decodePacket(ifindex, p)
	switch {
	case errors.Is(err, errBadChecksum):
		s.stats.BadChecksum++
		return err
	case err != nil:
		s.stats.ParseErrors++
		return err
	}
	return s.HandleMessage(h, msg)
}

// HandleMessage applies one received ICMPv6 message b (without the IPv6 header) whose IPv6
// header said h. Following RFC 3810 §5.2.13 and §7.4 (and RFC 2710 §3 for MLDv1), a message
// is ignored and counted in Stats unless
//
//   - it arrived on a link we listen on (ForeignLink),
//   - its hop limit is 1 (BadHopLimit),
//   - a Hop-by-Hop header carried the Router Alert option (NoRouterAlert),
//   - its source is a link-local unicast address (BadSource; reports sent from :: before a
//     host has an address concern the groups of Duplicate Address Detection, which are
//     never lcsync channels),
//   - its destination is the one its type is sent to (BadDestination): ff02::16 for an
//     MLDv2 report, the reported group for an MLDv1 report, ff02::2 for an MLDv1 done,
//     ff02::1 for a General Query and the queried group for a specific query.
//
// Unicast MLD messages, and messages from off-link hosts (whose source cannot be link-local
// once routed), therefore change nothing. The error is the parse error of a malformed
// message, already counted in Stats; the State is unchanged by a malformed or invalid
// message.
func (s *State) HandleMessage(h Header, b []byte) error {
	l := s.links[h.Ifindex]
	if l == nil {
		s.stats.ForeignLink++
		return nil
	}
	if len(b) == 0 {
		s.stats.ParseErrors++
		return errEmpty
	}
	src := h.Src.WithZone("")
	switch {
	case h.HopLimit != 1:
		s.stats.BadHopLimit++
		return nil
	case !h.RouterAlert:
		s.stats.NoRouterAlert++
		return nil
	case !src.Is6() || src.Is4In6() || !src.IsLinkLocalUnicast():
		s.stats.BadSource++
		return nil
	}
	dst := h.Dst.WithZone("")
	var err error
	switch b[0] {
	case TypeV2Report:
		var r Report
		if r, err = ParseReport(b); err == nil && s.destinationIs(dst, allMLDv2Routers()) {
			s.HandleReport(h.Ifindex, src, r)
		}
	case TypeV1Report, TypeV1Done:
		var m V1Message
		if m, err = ParseV1(b); err == nil {
			want := m.Group
			if m.Type == TypeV1Done {
				want = allRouters()
			}
			if s.destinationIs(dst, want) {
				s.HandleV1(h.Ifindex, src, m)
			}
		}
	case TypeQuery:
		var q Query
		if q, err = ParseQuery(b); err == nil {
			want := q.Group
			if q.General() {
				want = allNodes()
			}
			if s.destinationIs(dst, want) {
				s.HandleQuery(h.Ifindex, src, q)
			}
		}
	default:
		s.stats.OtherTypes++
	}
	if err != nil {
		s.stats.ParseErrors++
		return fmt.Errorf("%w (from %v on %s)", err, src, l.Name)
	}
	return nil
}

// destinationIs reports whether dst is want, counting a message sent elsewhere.
func (s *State) destinationIs(dst, want netip.Addr) bool {
	if dst != want {
		s.stats.BadDestination++
		return false
	}
	return true
}

// HandleReport applies every record of an MLDv2 report received on link ifindex (RFC 3810
// §7.4, at group granularity):
//
//   - MODE_IS_EXCLUDE and CHANGE_TO_EXCLUDE (any-source interest), and MODE_IS_INCLUDE,
//     ALLOW and CHANGE_TO_INCLUDE with sources (source-specific interest) join the group:
//     it is added to the filter or refreshed for the Multicast Address Listening Interval,
//     any pending leave or verification of it is cancelled, and an Event is queued.
//   - CHANGE_TO_INCLUDE with no sources is a leave: the group stays in the filter until the
//     Last Listener Query Time passes without a report. Unless Config.Querier is off we send
//     the Multicast-Address-Specific Queries ourselves, even when another router is the
//     querier (RFC 3810 leaves that to the querier): its query is addressed to the group,
//     which this socket has not joined, so we can neither see it nor know its timing, and
//     dropping the group at our own deadline could silence listeners that had not yet been
//     asked. Our query makes every remaining listener answer within our deadline.
//   - BLOCK is treated as a leave when we send queries, since it may have emptied a
//     source-specific listener's source list (RFC 3810 §7.4.2 queries after BLOCK too); our
//     Multicast-Address-Specific Query makes every remaining listener of the group answer.
//     With Config.Querier off BLOCK is ignored and the group expires normally.
//
// Records about non-multicast, interface-local and permanent link-local groups (such as the
// solicited-node groups) are ignored.
func (s *State) HandleReport(ifindex int, src netip.Addr, r Report) {
	l := s.links[ifindex]
	if l == nil {
		return
	}
	s.stats.Reports++
	now := s.clock.Now()
	for rec := range r.Records() {
		s.stats.Records++
		if !trackable(rec.Group) {
			s.stats.IgnoredRecords++
			continue
		}
		switch t := rec.Type; {
		case t == ModeIsExclude || t == ChangeToExclude,
			(t == ModeIsInclude || t == AllowNewSources || t == ChangeToInclude) && rec.NumSources > 0:
			s.join(l, rec.Group, src, t == ModeIsExclude || t == ModeIsInclude, now)
		case t == ChangeToInclude:
			s.leave(l, rec.Group, src, now)
		case t == BlockOldSources && s.canQuery(l.Link):
			s.leave(l, rec.Group, src, now)
		default:
			s.stats.IgnoredRecords++
		}
	}
}

// HandleV1 applies an MLDv1 Report (a join) or Done (a leave) received on link ifindex from
// src.
func (s *State) HandleV1(ifindex int, src netip.Addr, m V1Message) {
	l := s.links[ifindex]
	if l == nil {
		return
	}
	s.stats.V1Reports++
	s.stats.Records++
	if !trackable(m.Group) {
		s.stats.IgnoredRecords++
		return
	}
	now := s.clock.Now()
	if m.Type == TypeV1Done {
		s.leave(l, m.Group, src, now)
		return
	}
	s.join(l, m.Group, src, false, now)
}

// join records interest in g on l: the filter holds g for another listening interval (a
// group it already holds is refreshed, not counted again, so repeated reports are
// idempotent), a pending leave or verification is cancelled, and an Event is queued.
func (s *State) join(l *link, g netip.Addr, src netip.Addr, refresh bool, now time.Time) {
	s.stats.Joins++
	tk := s.tick(now)
	if l.filter.Contains(g, tk) {
		l.filter.Refresh(g, s.expiry(l, tk))
	} else {
		l.filter.Insert(g, s.expiry(l, tk))
	}
	delete(l.pending, g)
	delete(l.gone, g)
	s.queueEvent(Event{Ifindex: l.Index, Group: g, Source: src, Refresh: refresh})
}

// leave queues a leave Event and starts the last-listener check of g on l, unless one runs
// already. The filter is not touched until the check fails. A group the filter does not hold
// has nothing to drop.
func (s *State) leave(l *link, g netip.Addr, src netip.Addr, now time.Time) {
	s.stats.Leaves++
	s.queueEvent(Event{Ifindex: l.Index, Group: g, Source: src, Leave: true})
	if _, ok := l.pending[g]; ok || !l.filter.Contains(g, s.tick(now)) {
		return
	}
	if len(l.pending) >= maxPending {
		s.stats.DroppedPending++
		return
	}
	s.log.Debug("mld: leave", "iface", l.Name, "group", g)
	s.startPending(l, g, now, true, s.canQuery(l.Link))
}

// HandleQuery applies a query received on link ifindex from src: querier election (RFC 3810
// §7.6.2: a query from a lower link-local address than ours silences us for the Other
// Querier Present Interval) and, for a Multicast-Address-Specific Query without the S flag,
// the last-listener check of that group that the querier has started (RFC 3810 §7.6.1).
func (s *State) HandleQuery(ifindex int, src netip.Addr, q Query) {
	l := s.links[ifindex]
	if l == nil {
		return
	}
	s.stats.QueriesHeard++
	now := s.clock.Now()
	if q.Version == 1 {
		s.stats.V1QueriesHeard++
		l.v1Until = now.Add(s.t.oqpi)
	}
	src = src.WithZone("")
	if src == l.Addr || !src.Is6() || !src.IsLinkLocalUnicast() {
		return
	}
	if !l.Addr.IsValid() || src.Less(l.Addr) {
		if l.querier || l.otherQuerier != src {
			s.log.Debug("mld: other querier present", "iface", l.Name, "querier", src)
		}
		l.querier = false
		l.otherQuerier = src
		oqpi := s.t.oqpi
		if q.General() && q.Version == 2 {
			// Adopt the querier's timers where they are longer (RFC 3810 §9.2, §9.4).
			r := time.Duration(orDefault(q.Robustness, s.t.robustness))
			qi := r * orDefault(q.QueryInterval, s.t.qi)
			l.otherMALI = min(qi+q.MaxResponseDelay, maxListeningInterval)
			oqpi = max(oqpi, min(qi+q.MaxResponseDelay/2, maxListeningInterval))
		}
		l.otherUntil = now.Add(oqpi)
	}
	if q.General() || q.SuppressRouterSide || q.NumSources > 0 || !trackable(q.Group) {
		return
	}
	s.lowerToLastListener(l, q, now)
}

// lowerToLastListener gives g a last-listener deadline after another router's
// Multicast-Address-Specific Query for it, long enough for that router's own query rounds.
func (s *State) lowerToLastListener(l *link, q Query, now time.Time) {
	r := time.Duration(orDefault(q.Robustness, s.t.robustness))
	deadline := now.Add(max(s.t.llqt, q.MaxResponseDelay*r))
	if p, ok := l.pending[q.Group]; ok {
		if deadline.After(p.deadline) {
			p.deadline = deadline
		}
		return
	}
	if !l.filter.Contains(q.Group, s.tick(now)) || len(l.pending) >= maxPending {
		return
	}
	s.startPending(l, q.Group, now, true, false)
	l.pending[q.Group].deadline = deadline
}

// trackable reports whether g is a multicast group worth tracking: an IPv6 multicast address
// of link scope or wider, except the permanent link-local groups (ff02::/16: all routers,
// all MLDv2 routers, mDNS, the solicited-node groups every host joins for its own addresses,
// and so on). Those are link protocols, never lcsync channels (which are transient, RFC 4291
// §2.7 flag T), and tracking them would keep the filters from ever being idle.
func trackable(g netip.Addr) bool {
	if !g.Is6() || g.Is4In6() || !g.IsMulticast() || g.Zone() != "" {
		return false
	}
	a := g.As16()
	scope, permanent := a[1]&0x0f, a[1]&0x10 == 0
	return scope > 1 && !(scope == 2 && permanent)
}
