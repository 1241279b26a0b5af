// Package mld tells the lcsync sender which multicast groups have listeners on each link,
// learning it only from the Multicast Listener Discovery messages it overhears: MLDv2
// (RFC 3810) and MLDv1 (RFC 2710) reports and dones, whatever address they are sent to.
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
//   - The sockets (Linux only; other systems get an error wrapping ErrNotSupported): a
//     packet socket that reads, and a raw ICMPv6 socket that sends our queries. Opening them
//     needs CAP_NET_RAW; without it Listen fails with an error wrapping ErrPrivilege. Once
//     open they need no privilege, so a server may drop root afterwards.
//   - Listener, which owns the socket, its one reader goroutine and the State behind one
//     mutex, and offers the sender Wanted, Notify and TakeEvents. A Listener opened with
//     Config.Growable takes links added (AddLink) and removed (RemoveLink) while it runs,
//     with no privilege then either.
//
// # Deviations from RFC 3810
//
// Sources are not tracked: source-specific interest counts as interest in the group. The
// last-listener queries after a leave (or a BLOCK, which may have emptied a source list) are
// sent by us whenever querying is enabled, even when another router is the elected querier:
// that querier's query is addressed to the group, which we do not receive, so only our own
// query guarantees that every remaining listener is asked before our deadline. Election only
// decides who sends General Queries. Our startup General Queries (the Startup Query Count of
// them, RFC 3810 §7.6.2) carry a Maximum Response Delay of 1 s rather than the Query
// Response Interval: a server that restarts learns within a second which groups its
// listeners (say, followers that stayed joined) still hold. Permanent link-local groups (ff02::/16, such as the
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
// # Hearing every report: a packet socket
//
// MLDv2 reports go to ff02::16 and MLDv1 dones to ff02::2, which a raw ICMPv6 socket can join,
// but an MLDv1 report goes to the reported group itself, and a host falls back to MLDv1
// whenever an MLDv1 querier is on the link (or net.ipv6.conf.IF.force_mld_version=1). The
// Listener therefore reads from an AF_PACKET socket bound to IPv6, with a classic BPF filter
// that passes only ICMPv6 types 130-132 and 143, directly after the IPv6 header or behind
// one Hop-by-Hop Options header, and with all-multicast reception
// (PACKET_MR_ALLMULTI) on each link so that a network card does not filter reports to
// groups the host has not joined. We chose this over MRT6_INIT, the other way to hear MLDv1
// reports, because MRT6_INIT
//
//   - is exclusive: one socket per network namespace, so it fails beside a multicast routing
//     daemon (pim6sd, smcroute) and beside a second lcsync server on the same host;
//   - makes the host a multicast router in the kernel's eyes (mc_forwarding), which changes
//     how the host itself treats MLD;
//   - delivers only reports for groups of site scope or wider, and does not make the card
//     receive them;
//   - still hides from us what we must check: the raw socket gives neither the Router Alert
//     option nor, without care, the destination.
//
// A packet socket does not see what its own host sends, looped back: the MLD reports of a
// receiver on the server's own host. The raw ICMPv6 socket that sends our queries therefore
// also reads MLD messages, and the Listener takes from it only those whose source is one of
// the link's own addresses (listed when the sockets are opened); the kernel's own messages
// always carry hop limit 1 and a Router Alert.
//
// The packet socket sees the whole IPv6 header, so every check of RFC 3810 §5.2.13 and §7.4
// is made on what arrived (see State.HandleMessage), and the all-multicast membership ends
// with the socket. Two costs: the kernel's ICMPv6 checksum check and ip6tables rules do not
// apply to packet sockets, so the checksum is verified here and the checks above stand in for
// a firewall; and the filter runs on every IPv6 packet the host receives on those links
// (not on those it sends), which on a server is little. MLDv1 queriers are noted
// (Stats.V1QueriesHeard, IfaceStats.V1QuerierPresent).
//
// # What is checked
//
// A message is applied only if it arrived with hop limit 1, a Router Alert option, a
// link-local source and the destination its type is sent to (ff02::16 for an MLDv2 report,
// the group for an MLDv1 report, ff02::2 for a done, ff02::1 or the group for a query);
// anything else is counted in Stats (BadHopLimit, NoRouterAlert, BadSource, BadDestination,
// BadChecksum) and dropped. So no off-link host and no unicast message can join, leave or
// query. A host on the link can still send well-formed MLD from any link-local address it
// likes: MLD has no authentication, and a leave only starts a last-listener query (a
// listener that is still there answers it), so it cannot silence a group that has
// listeners, but a forged report can keep a group wanted until it expires.
package mld
