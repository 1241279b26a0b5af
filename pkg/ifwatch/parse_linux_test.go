package ifwatch

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// addrMsg encodes an RTM_NEWADDR message as the kernel sends it.
func addrMsg(family byte, index uint32, flags8 byte, attrs ...[]byte) syscall.NetlinkMessage {
	data := []byte{family, 64, flags8, 0, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(data[4:], index)
	for _, a := range attrs {
		data = append(data, a...)
	}
	return syscall.NetlinkMessage{Header: syscall.NlMsghdr{Type: syscall.RTM_NEWADDR, Len: uint32(syscall.NLMSG_HDRLEN + len(data))}, Data: data}
}

// rtattr encodes one attribute, padded to 4 bytes.
func rtattr(typ uint16, v []byte) []byte {
	b := make([]byte, 4, 4+len(v)+3)
	binary.NativeEndian.PutUint16(b, uint16(4+len(v)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func TestParseAddrs(t *testing.T) {
	ll := netip.MustParseAddr("fe80::1234")
	g := netip.MustParseAddr("fd00::5")
	msgs := []syscall.NetlinkMessage{
		addrMsg(syscall.AF_INET6, 3, 0, rtattr(unix.IFA_ADDRESS, ll.AsSlice())),
		// The 8-bit flags say tentative, IFA_FLAGS (authoritative) too.
		addrMsg(syscall.AF_INET6, 3, unix.IFA_F_TENTATIVE, rtattr(unix.IFA_ADDRESS, g.AsSlice()), rtattr(unix.IFA_FLAGS, u32(unix.IFA_F_TENTATIVE|unix.IFA_F_NOPREFIXROUTE))),
		// DAD failed, said only in IFA_FLAGS.
		addrMsg(syscall.AF_INET6, 4, 0, rtattr(unix.IFA_ADDRESS, ll.AsSlice()), rtattr(unix.IFA_FLAGS, u32(unix.IFA_F_DADFAILED))),
		addrMsg(syscall.AF_INET, 3, 0, rtattr(unix.IFA_ADDRESS, []byte{10, 0, 0, 1})), // IPv4: skipped
		addrMsg(syscall.AF_INET6, 5, 0), // no address: skipped
		{Header: syscall.NlMsghdr{Type: syscall.RTM_NEWADDR}, Data: []byte{syscall.AF_INET6, 1}}, // truncated: skipped
		{Header: syscall.NlMsghdr{Type: syscall.NLMSG_DONE}},
	}
	want := []addrInfo{{index: 3, addr: ll, ready: true}, {index: 3, addr: g}, {index: 4, addr: ll}}
	if got := parseAddrs(msgs); !reflect.DeepEqual(got, want) {
		t.Errorf("parseAddrs = %+v, want %+v", got, want)
	}
}
