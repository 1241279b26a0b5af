// Package mld tells the lcsync sender which multicast groups have listeners on each link,
// learning it only from the Multicast Listener Discovery messages it overhears: MLDv2
// (RFC 3810) and MLDv1 (RFC 2710) reports and dones, received on a raw ICMPv6 socket joined to
// ff02::16 (all MLDv2-capable routers) and ff02::2 (all routers).
//
// The package has four layers:
//
//   - Parsers and builders with no I/O: ParseReport (MLDv2 reports, RFC 3810 §5.2, all six
//     record types, sources and auxiliary data stepped over), ParseV1 (RFC 2710 reports and
//     dones), ParseQuery (RFC 3810 §5.1 and RFC 2710 §3) and AppendQuery (General and
//     Multicast-Address-Specific Queries). Parsing does not allocate.
//   - State, the router-side state machine of RFC 3810 §7 at group granularity, for one or
//     more links: per link a counted bloom filter with expiry timers (package mld/bloom) holds
//     the groups that have listeners; a leave is confirmed with Multicast-Address-Specific
//     Queries before the group is dropped; groups not refreshed for the Multicast Address
//     Listening Interval expire; querier election follows RFC 3810 §7.6.2. State is driven by
//     parsed messages and an injected Clock, so it is tested without sockets.
//   - The raw socket (Linux only; other systems get an error wrapping ErrNotSupported).
//     Opening it needs CAP_NET_RAW; without it Listen fails with an error wrapping
//     ErrPrivilege.
//   - Listener, which owns the socket, its one reader goroutine and the State behind one
//     mutex, and offers the sender Wanted, Notify and TakeEvents.
//
// # Deviations from RFC 3810
//
// Sources are not tracked: source-specific interest counts as interest in the group. The
// last-listener queries after a leave (or a BLOCK, which may have emptied a source list) are
// sent by us whenever querying is enabled, even when another router is the elected querier:
// that querier's query is addressed to the group, which we do not receive, so only our own
// query guarantees that every remaining listener is asked before our deadline. Election only
// decides who sends General Queries. Permanent link-local groups (ff02::/16, such as the
// solicited-node groups) are not tracked: they are link protocols, never lcsync channels.
//
// # No false negatives
//
// Counted bloom filters can, rarely, make a group that has listeners look absent (a group that
// was a false positive when it joined shares counters with a group that later left). Wanted
// therefore never answers false on the filter's word alone: a group the filter does not hold
// is verified with a Multicast-Address-Specific Query first, unless a leave or verification
// of it has just been confirmed.
//
// # MLDv1
//
// MLDv1 queriers are noted (Stats.V1QueriesHeard, IfaceStats.V1QuerierPresent): they push
// hosts into MLDv1 mode, where reports are sent to the group address itself. The socket
// receives those only with Config.MLDv1Reports (and only for groups of site scope or wider),
// while MLDv1 dones (sent to ff02::2) always arrive. Keep queriers on MLDv2 (a Linux bridge
// needs mcast_mld_version 2).
package mld
