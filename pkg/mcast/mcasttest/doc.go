// Package mcasttest provides an in-memory multicast link for tests of the sender and the
// receiver: [Net] is the sender's transport and MLD trigger (it reports every join and leave
// as an mld.Event), and [Net.Conn] hands out receiving sockets that join and leave groups on
// it. Membership is exact, as with a perfect MLD snooping switch; delivery copies each
// datagram into every member's queue; a full queue drops, like a full socket buffer; loss is
// drawn at random per receiver, and hooks drop or add datagrams for everyone.
//
// It never touches the network, so its tests need no privileges.
package mcasttest
