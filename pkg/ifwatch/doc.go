// Package ifwatch follows the network interfaces that can carry lcsync traffic while a
// server or a follower runs, so that an interface that appears later is put to use and one
// that goes away is dropped.
//
// A [Watcher] subscribes to the kernel's routing netlink notifications of links and IPv6
// addresses (RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR; RFC 3549) and, after each
// burst of them, lists the interfaces and their IPv6 addresses again (with address flags, from
// an RTM_GETADDR dump) and compares the result with the interfaces it reported before. It
// reports an interface as up once it is up, multicast-capable, not loopback, and has an IPv6
// address that has left Duplicate Address Detection (RFC 4862 §5.4: a tentative address
// cannot yet source packets, and a link comes up before its link-local address does); it
// reports it as down once it is gone, down, no longer multicast-capable or without any IPv6
// address. The two thresholds differ on purpose: an interface whose address is still
// tentative is neither added nor dropped.
//
// Notifications only trigger a new listing, so a lost notification (the socket's buffer
// overran: ENOBUFS) costs nothing but a listing. The package never logs. It is Linux-only;
// elsewhere [New] returns an error wrapping [ErrNotSupported].
package ifwatch
