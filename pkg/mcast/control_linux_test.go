//go:build linux

package mcast

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg encodes one control message with a 4-byte native-endian value, as the kernel does.
func cmsg(level, typ int32, val uint32) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], val)
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// pktinfo encodes an IPV6_PKTINFO message (struct in6_pktinfo) as the kernel does.
func pktinfo(dst netip.Addr, ifindex uint32) []byte {
	b := make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	a := dst.As16()
	copy(b[unix.CmsgLen(0):], a[:])
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0)+16:], ifindex)
	return b
}

func TestParseControl(t *testing.T) {
	group, unicast := netip.MustParseAddr("ff15::6c63:1"), netip.MustParseAddr("fd00:6c63::101")
	ovfl := func(v uint32) []byte { return cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, v) }
	gro := func(v uint32) []byte { return cmsg(unix.SOL_UDP, unix.UDP_GRO, v) }
	badLen := ovfl(1)
	(*unix.Cmsghdr)(unsafe.Pointer(&badLen[0])).SetLen(1000)
	shortLen := ovfl(1)
	(*unix.Cmsghdr)(unsafe.Pointer(&shortLen[0])).SetLen(3)
	for _, tc := range []struct {
		name    string
		oob     []byte
		want    rxControl
		wantErr string
	}{
		{"empty", nil, rxControl{}, ""},
		{"drop counter", ovfl(7), rxControl{drops: 7, hasDrops: true}, ""},
		{"zero drops", ovfl(0), rxControl{hasDrops: true}, ""},
		{"gro segment size", gro(1452), rxControl{segSize: 1452}, ""},
		{"both", cat(ovfl(3), gro(1200)), rxControl{drops: 3, hasDrops: true, segSize: 1200}, ""},
		{"both reversed", cat(gro(1200), ovfl(3)), rxControl{drops: 3, hasDrops: true, segSize: 1200}, ""},
		{"unknown message skipped", cat(cmsg(unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, 9), gro(8)), rxControl{segSize: 8}, ""},
		{"destination", pktinfo(group, 3), rxControl{dst: group, ifindex: 3, hasDst: true}, ""},
		{"destination with the others", cat(ovfl(1), pktinfo(unicast, 2), gro(1452)),
			rxControl{drops: 1, hasDrops: true, segSize: 1452, dst: unicast, ifindex: 2, hasDst: true}, ""},
		{"short destination", cmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, 9), rxControl{}, "IPV6_PKTINFO of 4 bytes"},
		{"max counter", ovfl(^uint32(0)), rxControl{drops: ^uint32(0), hasDrops: true}, ""},
		{"trailing bytes shorter than a header", cat(ovfl(2), []byte{1, 2, 3}), rxControl{drops: 2, hasDrops: true}, ""},
		{"length beyond buffer", badLen, rxControl{}, "malformed control message"},
		{"length shorter than header", shortLen, rxControl{}, "malformed control message"},
		{"zero gro segment size", gro(0), rxControl{}, "GRO segment size 0"},
		{"negative gro segment size", gro(0xffffffff), rxControl{}, "GRO segment size -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseControl(tc.oob)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "mcast: ") {
					t.Fatalf("parseControl = %+v, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseControl = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestGSOControl checks the UDP_SEGMENT message the sender attaches.
func TestGSOControl(t *testing.T) {
	for _, seg := range []int{1, 1200, 1452, 8952, 65535} {
		b := gsoControl(seg)
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			t.Fatalf("segment %d: %v", seg, err)
		}
		if h.Level != unix.SOL_UDP || h.Type != unix.UDP_SEGMENT || len(data) != 2 || len(rest) != 0 {
			t.Fatalf("segment %d: level %d type %d data %d rest %d", seg, h.Level, h.Type, len(data), len(rest))
		}
		if got := int(binary.NativeEndian.Uint16(data)); got != seg {
			t.Errorf("segment size %d encoded as %d", seg, got)
		}
	}
}

// FuzzParseControl: arbitrary control buffers never panic, and an accepted GRO segment size
// is positive.
func FuzzParseControl(f *testing.F) {
	f.Add([]byte{})
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 5))
	f.Add(cat(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 5), cmsg(unix.SOL_UDP, unix.UDP_GRO, 1452)))
	f.Add(cmsg(unix.SOL_UDP, unix.UDP_GRO, 0))
	f.Add(cat(pktinfo(netip.MustParseAddr("ff15::1"), 2), cmsg(unix.SOL_UDP, unix.UDP_GRO, 1452)))
	f.Fuzz(func(t *testing.T, oob []byte) {
		// The kernel hands out 8-byte aligned buffers; keep that property.
		buf := make([]uint64, (len(oob)+7)/8)
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf)*8)[:len(oob)]
		copy(b, oob)
		rc, err := parseControl(b)
		if err == nil && rc.segSize < 0 {
			t.Fatalf("negative segment size %d accepted", rc.segSize)
		}
		if err == nil && rc.hasDst && !rc.dst.Is6() {
			t.Fatalf("destination %v is not an IPv6 address", rc.dst)
		}
	})
}
