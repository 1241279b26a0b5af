package mld

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// captured returns the messages in testdata/captured.txt by name.
func captured(tb testing.TB) map[string][]byte {
	tb.Helper()
	f, err := os.Open("testdata/captured.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		if !ok {
			tb.Fatalf("captured.txt: bad line %q", line)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			tb.Fatalf("captured.txt: %s: %v", name, err)
		}
		m[name] = b
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// rec describes a record for buildReport.
type rec struct {
	typ     RecordType
	group   string
	sources []string
	aux     int // auxiliary data words, filled with 0xaa
}

// buildReport encodes an MLDv2 report (checksum zero).
func buildReport(recs ...rec) []byte {
	b := []byte{TypeV2Report, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[6:], uint16(len(recs)))
	for _, r := range recs {
		b = append(b, byte(r.typ), byte(r.aux), 0, 0)
		binary.BigEndian.PutUint16(b[len(b)-2:], uint16(len(r.sources)))
		g := netip.MustParseAddr(r.group).As16()
		b = append(b, g[:]...)
		for _, s := range r.sources {
			a := netip.MustParseAddr(s).As16()
			b = append(b, a[:]...)
		}
		for i := 0; i < 4*r.aux; i++ {
			b = append(b, 0xaa)
		}
	}
	return b
}

// buildV1 encodes an MLDv1 report or done.
func buildV1(typ uint8, group string) []byte {
	b := make([]byte, v1Len)
	b[0] = typ
	g := netip.MustParseAddr(group).As16()
	copy(b[8:], g[:])
	return b
}

// addr parses an address for tests.
func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// arrival returns the Header a valid copy of msg arrives with on link ifindex from src: hop
// limit 1, a Router Alert, and the destination its type is sent to (RFC 3810 §5, RFC 2710 §3).
func arrival(ifindex int, src netip.Addr, msg []byte) Header {
	h := Header{Ifindex: ifindex, Src: src, HopLimit: 1, RouterAlert: true, Dst: allNodes()}
	if len(msg) == 0 {
		return h
	}
	switch msg[0] {
	case TypeV2Report:
		h.Dst = allMLDv2Routers()
	case TypeV1Done:
		h.Dst = allRouters()
	case TypeV1Report:
		if m, err := ParseV1(msg); err == nil {
			h.Dst = m.Group
		}
	case TypeQuery:
		if q, err := ParseQuery(msg); err == nil && !q.General() {
			h.Dst = q.Group
		}
	}
	return h
}

// buildPacket wraps msg in the IPv6 packet h describes: behind a Hop-by-Hop header with a
// Router Alert if h.RouterAlert (else directly), with the ICMPv6 checksum filled in.
func buildPacket(h Header, msg []byte) []byte {
	m := append([]byte(nil), msg...)
	if len(m) >= 4 {
		m[2], m[3] = 0, 0
		c := icmpChecksum(h.Src, h.Dst, m)
		m[2], m[3] = byte(c>>8), byte(c)
	}
	var ext []byte
	next := byte(protoICMPv6)
	if h.RouterAlert {
		ext = []byte{protoICMPv6, 0, optRouterAlert, 2, 0, 0, 1, 0} // PadN of 2 bytes
		next = protoHopByHop
	}
	p := make([]byte, ipv6HeaderLen, ipv6HeaderLen+len(ext)+len(m))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:6], uint16(len(ext)+len(m)))
	p[6], p[7] = next, byte(h.HopLimit)
	s, d := h.Src.As16(), h.Dst.As16()
	copy(p[8:24], s[:])
	copy(p[24:40], d[:])
	return append(append(p, ext...), m...)
}

// handle applies msg to s as a valid message from src on link ifindex would arrive.
func handle(s *State, ifindex int, src netip.Addr, msg []byte) error {
	return s.HandleMessage(arrival(ifindex, src, msg), msg)
}
