package mld

import "net/netip"

// Stats are counters of a State or Listener since it started, and a snapshot of each link.
type Stats struct {
	// Reports is the number of MLDv2 reports applied.
	Reports uint64
	// V1Reports is the number of MLDv1 reports and dones applied.
	V1Reports uint64
	// Records is the number of records applied (an MLDv1 message counts as one).
	Records uint64
	// Joins is the number of records that joined or refreshed a group.
	Joins uint64
	// Leaves is the number of records that left a group (including BLOCK when we query).
	Leaves uint64
	// LeavesConfirmed is the number of leaves that went unanswered, dropping the group.
	LeavesConfirmed uint64
	// Verifications is the number of groups Wanted had to verify because the filter did not
	// hold them.
	Verifications uint64
	// VerificationsFailed is the number of verifications that went unanswered.
	VerificationsFailed uint64
	// QueriesSent is the number of queries sent.
	QueriesSent uint64
	// QueriesHeard is the number of queries received from other routers.
	QueriesHeard uint64
	// V1QueriesHeard is the number of MLDv1 (24-byte) queries received; while MLDv1
	// queriers are present, hosts fall back to MLDv1 reports.
	V1QueriesHeard uint64
	// ParseErrors is the number of malformed messages.
	ParseErrors uint64
	// BadHopLimit is the number of messages ignored because their hop limit was not 1.
	BadHopLimit uint64
	// NoRouterAlert is the number of messages ignored because no Hop-by-Hop header carried
	// the Router Alert option.
	NoRouterAlert uint64
	// BadSource is the number of messages ignored because their source was not a link-local
	// unicast address (off-link hosts, or :: before a host has an address).
	BadSource uint64
	// BadDestination is the number of messages ignored because they were not sent to the
	// address their type is sent to (unicast MLD messages, reports to the wrong group).
	BadDestination uint64
	// BadChecksum is the number of packets ignored because their ICMPv6 checksum was wrong.
	BadChecksum uint64
	// ForeignLink is the number of messages from links not listened on.
	ForeignLink uint64
	// OtherTypes is the number of ICMPv6 messages of other types.
	OtherTypes uint64
	// IgnoredRecords is the number of records that changed nothing (unknown types, sources
	// blocked with querying off, non-multicast, interface-local or permanent link-local groups).
	IgnoredRecords uint64
	// DroppedJoins is the number of Join events dropped because the queue was full.
	DroppedJoins uint64
	// DroppedPending is the number of leaves or verifications not started because too many
	// were pending; those groups stay wanted until they expire.
	DroppedPending uint64
	// SendErrors is the number of queries that could not be sent.
	SendErrors uint64
	// ReadErrors is the number of failed socket reads (Listener only).
	ReadErrors uint64
	// Ifaces has one entry per link, in configuration order.
	Ifaces []IfaceStats
}

// IfaceStats describes one link.
type IfaceStats struct {
	// Index is the interface index.
	Index int
	// Name is the interface name.
	Name string
	// Addr is the link-local address we query from (invalid if the link has none).
	Addr netip.Addr
	// Querier reports whether we are the querier on the link.
	Querier bool
	// OtherQuerier is the lower-addressed querier we yielded to, if any.
	OtherQuerier netip.Addr
	// V1QuerierPresent reports whether an MLDv1 querier was heard within the Other Querier
	// Present Interval.
	V1QuerierPresent bool
	// EstimatedGroups estimates the number of groups with listeners, from the filter's fill.
	EstimatedGroups float64
	// FilterBytes is the memory held by the link's filter.
	FilterBytes int
	// Pending is the number of leaves and verifications awaiting their deadline.
	Pending int
	// Gone is the number of recently confirmed leaves remembered.
	Gone int
}

// Stats returns the counters and a snapshot of every link. Estimating group counts scans
// the filters, so call it at human intervals, not per packet.
func (s *State) Stats() Stats {
	st := s.stats
	now := s.clock.Now()
	st.Ifaces = make([]IfaceStats, 0, len(s.order))
	for _, l := range s.order {
		st.Ifaces = append(st.Ifaces, IfaceStats{
			Index:            l.Index,
			Name:             l.Name,
			Addr:             l.Addr,
			Querier:          s.canQuery(l.Link) && l.querier,
			OtherQuerier:     l.otherQuerier,
			V1QuerierPresent: now.Before(l.v1Until),
			EstimatedGroups:  l.filter.EstimatedCount(),
			FilterBytes:      l.filter.Bytes(),
			Pending:          len(l.pending),
			Gone:             len(l.gone),
		})
	}
	return st
}
