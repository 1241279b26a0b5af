package mld

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestOpenWithoutCapNetRaw drops CAP_NET_RAW from one locked OS thread (capabilities are per
// thread on Linux) and opens the socket there: the error must wrap ErrPrivilege and tell the
// user how to fix it. The thread is never unlocked, so the runtime discards it afterwards.
func TestOpenWithoutCapNetRaw(t *testing.T) {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1 << unix.CAP_NET_RAW
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		c, err := openConn(nil, false)
		if err == nil {
			c.Close()
			err = errors.New("opened a raw socket without CAP_NET_RAW")
		}
		errc <- err
	}()
	err := <-errc
	if !errors.Is(err, ErrPrivilege) {
		t.Fatalf("err = %v, want one wrapping ErrPrivilege", err)
	}
	for _, want := range []string{"run as root", "setcap cap_net_raw+ep", "--carousel", "operation not permitted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	t.Log(err)
}

func TestResolveLinks(t *testing.T) {
	links, err := resolveLinks(nil)
	if err != nil {
		t.Skipf("SKIP: no multicast interface on this host: %v", err)
	}
	for _, l := range links {
		if l.Index <= 0 || l.Name == "" || (l.Addr.IsValid() && !l.Addr.IsLinkLocalUnicast()) {
			t.Errorf("link %+v", l)
		}
	}
}

// TestMLDFilter runs the packet socket's BPF program on packets: MLD messages pass whether
// or not a Hop-by-Hop header precedes them (so that State can count those without a Router
// Alert); every other packet stays in the kernel.
func TestMLDFilter(t *testing.T) {
	vm, err := bpf.NewVM(mldFilter())
	if err != nil {
		t.Fatal(err)
	}
	v2 := buildReport(rec{typ: ChangeToExclude, group: "ff15::1"})
	v1 := buildV1(TypeV1Report, "ff15::1")
	done := buildV1(TypeV1Done, "ff15::1")
	q, err := AppendQuery(nil, Query{Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	bare := func(msg []byte) []byte {
		h := arrival(1, host, msg)
		h.RouterAlert = false
		return buildPacket(h, msg)
	}
	longHBH := func(msg []byte) []byte { // a 16-byte hop-by-hop header: RA, then PadN of 10
		p := buildPacket(arrival(1, host, msg), msg)
		ext := []byte{protoICMPv6, 1, optRouterAlert, 2, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0}
		out := append(append(bytes.Clone(p[:40]), ext...), p[48:]...)
		out[5] += 8
		return out
	}
	echo := []byte{128, 0, 0, 0, 0, 1, 0, 1}
	nd := []byte{135, 0, 0, 0, 0, 0, 0, 0}
	udp := buildPacket(arrival(1, host, v2), v2)
	udp[40] = 17
	cases := []struct {
		name string
		p    []byte
		pass bool
	}{
		{"v2 report", buildPacket(arrival(1, host, v2), v2), true},
		{"v1 report", buildPacket(arrival(1, host, v1), v1), true},
		{"v1 done", buildPacket(arrival(1, host, done), done), true},
		{"query", buildPacket(arrival(1, host, q), q), true},
		{"v2 report without hop-by-hop", bare(v2), true},
		{"v1 report behind a 16-byte hop-by-hop header", longHBH(v1), true},
		{"echo request", bare(echo), false},
		{"neighbour solicitation", bare(nd), false},
		{"echo behind hop-by-hop", buildPacket(arrival(1, host, echo), echo), false},
		{"udp behind hop-by-hop", udp, false},
		{"short", []byte{0x60, 0, 0, 0, 0, 8, 58}, false},
	}
	for _, tc := range cases {
		n, err := vm.Run(tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if pass := n > 0; pass != tc.pass {
			t.Errorf("%s: passed %v, want %v", tc.name, pass, tc.pass)
		}
		if tc.pass && n < len(tc.p) {
			t.Errorf("%s: truncated to %d bytes", tc.name, n)
		}
	}
	if _, err := bpf.Assemble(mldFilter()); err != nil {
		t.Fatal(err)
	}
}
