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
//     Multicast-Address-Specific Queries).
//   - State, the router-side state machine of RFC 3810 §7 for one or more links: per link a
//     counted bloom filter with expiry timers (package mld/bloom) holds the groups that have
//     listeners; leaves are confirmed with Multicast-Address-Specific Queries before a group
//     is dropped; groups not refreshed for the Multicast Address Listening Interval expire;
//     querier election follows RFC 3810 §7.6.2. State is driven by parsed messages and an
//     injected Clock, so it is tested without sockets.
//   - The raw socket (Linux only; other systems get an error wrapping ErrNotSupported).
//     Opening it needs CAP_NET_RAW; without it Listen fails with an error wrapping
//     ErrPrivilege.
//   - Listener, which owns the socket, one reader goroutine and the State behind one mutex, and
//     offers the sender Wanted, Notify and TakeJoins.
//
// Counted bloom filters can, rarely, make a group that has listeners look absent (a group that
// was a false positive when it joined shares counters with a group that later left). Wanted
// therefore never answers false on the filter's word alone: a group the filter does not contain
// is verified with a Multicast-Address-Specific Query first, unless a leave or verification for
// it has just been confirmed.
package mld
