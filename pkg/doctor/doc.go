// Package doctor checks whether a host and its network can carry lcsync traffic, and says
// how to fix what cannot: IPv6 enabled (RFC 8200), multicast-capable interfaces that are up
// with a link-local address (RFC 4291 §2.5.6, which MLD reports are sent from, RFC 3810 §5.2.13),
// a route for the multicast scope in use (RFC 4291 §2.7, RFC 7346), an MLD querier on the
// link (RFC 3810 §7.6.2; without one, snooping switches (RFC 4541) may flood or drop the
// channels), the CAP_NET_RAW capability the server's MLD listener needs, the kernel's socket
// buffer limits against what lcsync asks for, firewall rules (nftables, or ip6tables when nft
// is absent) that drop the channel port or the MLD messages (ICMPv6 types 130, 131, 132 and
// 143), and the inotify limits a watching server needs.
//
// Every check reads the system through small interfaces ([System], [QuerierListener]) so
// that tests drive each one with fake inputs; [Linux] and [RawQuerierListener] are the real
// ones. [Run] returns one [Result] per check; the package never prints, logs or exits.
package doctor
