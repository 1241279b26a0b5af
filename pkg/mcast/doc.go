// Package mcast derives lcsync channel group addresses and provides the IPv6 multicast UDP
// sockets the sender and the receiver use.
//
// Groups (PROTOCOL.md §3): [Group] hashes a channel kind and key with BLAKE2s-256 (RFC 7693)
// into a transient IPv6 multicast address (RFC 4291 §2.7, flags T=1) of the chosen [Scope].
// [ManifestGroup], [StreamGroup], [TreeGroup], [DataGroup] and [CongestionGroup] name the channel kinds.
//
// Receiving: [ListenRecv] opens one UDP socket bound to [::]:port with SO_REUSEADDR and
// SO_REUSEPORT, IPV6_MULTICAST_ALL=0 (the socket sees only the groups it joined itself, even
// when other sockets on the host share the port), a large receive buffer (SO_RCVBUFFORCE when
// privileged), SO_RXQ_OVFL to count kernel drops, IPV6_RECVPKTINFO (RFC 3542 §6.1) and UDP_GRO
// where the kernel supports it. [RecvConn.Read] fills a [Batch] with recvmmsg, drops every
// datagram whose destination is not a group the socket joined on the interface it arrived on
// (unicast to the host's address and the port, above all: the bound wildcard address would
// accept it) and counts it in [RecvStats].Foreign, and splits GRO-coalesced segment trains
// back into the original datagrams. Joining and leaving a group (RFC 3493 §5.2 socket options) is
// what makes the host emit the MLD reports (RFC 3810) the sender listens to.
//
// Sending: [NewSendConn] opens one UDP socket per interface with IPV6_MULTICAST_IF, an explicit
// hop limit and explicit multicast loopback (RFC 3493 §5.2). [SendConn.Send] writes batches with
// sendmmsg; [SendConn.SendSegments] hands the kernel a train of equal-sized datagrams at once
// with UDP generic segmentation offload (the UDP_SEGMENT control message) and falls back to
// batches when GSO is unavailable. Sockets are non-blocking Go sockets, so a full socket
// buffer parks the writer in the netpoller instead of dropping.
//
// Interfaces may come and go while a sender or a receiver runs: [SendConn.AddIface] and
// [SendConn.RemoveIface] open and close an interface's socket (sends on a removed one fail
// with [ErrInterfaceGone]); [RecvConn.AddIface] and [RecvConn.RemoveIface] join the groups
// joined so far on a new interface and leave them on one that goes.
//
// The sockets are Linux-only (the options above are Linux socket options; UDP GSO and GRO
// need Linux 4.18 and 5.0, IPV6_MULTICAST_ALL needs 4.20). On other systems [ListenRecv]
// and [NewSendConn] return [ErrNotSupported]. Group derivation and [Interfaces] are portable.
//
// The package never logs. Errors are wrapped and prefixed with "mcast:".
package mcast
