package mcast

import (
	"fmt"
	"net/netip"
)

// maxGSOSegments is the most segments one UDP_SEGMENT send may carry (UDP_MAX_SEGMENTS; 64
// before Linux 6.9 raised it to 128).
const maxGSOSegments = 64

// maxGSOBytes is the most payload one UDP_SEGMENT send may carry: the IPv6 payload length
// limit (65535) minus the UDP header.
const maxGSOBytes = 65535 - 8

// SendSegments sends buf, which holds back-to-back datagrams of segSize bytes (the last may be
// shorter), to group g out of interface ifindex. With UDP GSO the kernel cuts each train of up
// to 64 segments into datagrams; otherwise, or after the interface refused GSO once (EIO, for
// example a device without checksum offload), the datagrams go out in sendmmsg batches.
// segSize must be at least 1 and at most the interface MTU minus 48.
func (s *SendConn) SendSegments(ifindex int, g netip.Addr, buf []byte, segSize int) error {
	e, err := s.lookup(ifindex)
	if err != nil {
		return err
	}
	if err := checkGroup(g); err != nil {
		return err
	}
	if segSize < 1 || segSize > e.maxPayload {
		return fmt.Errorf("mcast: segment size %d out of range 1-%d (MTU of %s minus 48)", segSize, e.maxPayload, e.ifi.Name)
	}
	if len(buf) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gso.Load() {
		rest, err := e.sendGSO(g, s.port, buf, segSize, s.done)
		if err == nil || !gsoRefused(err) {
			return err
		}
		// This path cannot segment: remember, and send the rest in batches.
		e.gso.Store(false)
		buf = rest
	}
	return e.sendSplit(g, s.port, buf, segSize, s.done)
}

// sendGSO sends buf as UDP_SEGMENT trains. On error it returns the part of buf not sent.
func (e *egress) sendGSO(g netip.Addr, port int, buf []byte, segSize int, done <-chan struct{}) ([]byte, error) {
	per := min(maxGSOSegments, maxGSOBytes/segSize) * segSize
	oob := gsoControl(segSize)
	for len(buf) > 0 {
		k := 0
		for off := 0; off < len(buf) && k < len(e.msgs); off += per {
			e.fill(k, g, port, buf[off:min(off+per, len(buf))])
			e.msgs[k].OOB = oob
			k++
		}
		n, err := e.writeAll(e.msgs[:k], done)
		consumed := min(n*per, len(buf))
		clear(e.iov[:k])
		if err != nil {
			return buf[consumed:], err
		}
		buf = buf[consumed:]
	}
	return nil, nil
}

// sendSplit sends buf as individual datagrams of segSize bytes in sendmmsg batches.
func (e *egress) sendSplit(g netip.Addr, port int, buf []byte, segSize int, done <-chan struct{}) error {
	for len(buf) > 0 {
		k := 0
		off := 0
		for ; off < len(buf) && k < len(e.msgs); off += segSize {
			e.fill(k, g, port, buf[off:min(off+segSize, len(buf))])
			e.msgs[k].OOB = nil
			k++
		}
		_, err := e.writeAll(e.msgs[:k], done)
		clear(e.iov[:k])
		if err != nil {
			return err
		}
		buf = buf[min(off, len(buf)):]
	}
	return nil
}

// fill sets scratch message i to send payload to g.
func (e *egress) fill(i int, g netip.Addr, port int, payload []byte) {
	e.ips[i] = g.As16()
	e.addrs[i].Port = port
	e.iov[i] = payload
}
