package mcast

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv6"
)

// maxMessage is the receive buffer of one message: the largest UDP payload over IPv6 without
// jumbograms, which is also the most a GRO-coalesced segment train can hold.
const maxMessage = 1 << 16

// rxControlSpace is the control buffer of one message: SO_RXQ_OVFL and UDP_GRO need 24 bytes
// each on 64-bit Linux and IPV6_PKTINFO 40; the rest is headroom.
const rxControlSpace = 128

// maxBatch bounds NewBatch: the kernel handles at most UIO_MAXIOV (1024) messages per
// recvmmsg call.
const maxBatch = 1024

// Batch holds the reusable buffers of one [RecvConn.Read]: n messages of 64 KiB each (so a
// GRO-coalesced train or a jumbo datagram always fits) and the datagrams cut out of them. A
// Batch belongs to one reader goroutine.
type Batch struct {
	msgs   []ipv6.Message
	dgrams [][]byte
	srcs   []netip.Addr // the source address of each datagram
}

// NewBatch returns a Batch that reads up to n messages per system call. n is clamped to
// 1..1024. Each message costs 64 KiB of memory.
func NewBatch(n int) *Batch {
	n = min(max(n, 1), maxBatch)
	data := make([]byte, n*maxMessage)
	oob := make([]byte, n*rxControlSpace)
	iov := make([][]byte, n)
	b := &Batch{msgs: make([]ipv6.Message, n), dgrams: make([][]byte, 0, n), srcs: make([]netip.Addr, 0, n)}
	for i := range b.msgs {
		iov[i] = data[i*maxMessage : (i+1)*maxMessage : (i+1)*maxMessage]
		b.msgs[i].Buffers = iov[i : i+1 : i+1]
		b.msgs[i].OOB = oob[i*rxControlSpace : (i+1)*rxControlSpace : (i+1)*rxControlSpace]
	}
	return b
}

// Len returns the number of datagrams the last Read produced, GRO trains already split.
func (b *Batch) Len() int { return len(b.dgrams) }

// Datagram returns datagram i (0 <= i < Len) of the last Read. The slice aliases the batch's
// buffers and is valid until the next Read with this Batch.
func (b *Batch) Datagram(i int) []byte { return b.dgrams[i] }

// Source returns the source address of datagram i (0 <= i < Len) of the last Read (the zero
// Addr if the kernel did not say). Any host on the link can forge it; it tells apart the
// hosts that do not.
func (b *Batch) Source(i int) netip.Addr { return b.srcs[i] }

// reset prepares the batch for a new read.
func (b *Batch) reset() {
	clear(b.dgrams)
	b.dgrams = b.dgrams[:0]
	b.srcs = b.srcs[:0]
	for i := range b.msgs {
		b.msgs[i].N, b.msgs[i].NN, b.msgs[i].Flags, b.msgs[i].Addr = 0, 0, 0, nil
	}
}

// appendSegments appends payload to b's datagrams, cut into segSize-byte pieces (the last may
// be shorter) when segSize is positive and smaller than the payload, and whole otherwise. It
// returns the number of datagrams appended.
func (b *Batch) appendSegments(payload []byte, segSize int, src netip.Addr) int {
	if segSize <= 0 || segSize >= len(payload) {
		b.dgrams = append(b.dgrams, payload)
		b.srcs = append(b.srcs, src)
		return 1
	}
	n := 0
	for len(payload) > 0 {
		k := min(segSize, len(payload))
		b.dgrams = append(b.dgrams, payload[:k:k])
		b.srcs = append(b.srcs, src)
		payload = payload[k:]
		n++
	}
	return n
}

// sourceOf returns the address of a message's sender (zero if unknown).
func sourceOf(a net.Addr) netip.Addr {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	return ip.Unmap()
}
