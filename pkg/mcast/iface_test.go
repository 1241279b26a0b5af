//go:build linux

package mcast

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestInterfaces runs interface selection inside a namespace holding lo, a veth pair a0/a1
// (both up, with link-local addresses), a1's twin c0/c1 where c1 is up but has IPv6 disabled,
// and b0/b1 left down.
func TestInterfaces(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "lcmi")
	ns.MustRun("ip", "link", "add", "a0", "type", "veth", "peer", "name", "a1")
	ns.MustRun("ip", "link", "add", "b0", "type", "veth", "peer", "name", "b1")
	ns.MustRun("ip", "link", "add", "c0", "type", "veth", "peer", "name", "c1")
	ns.MustRun("sysctl", "-qw", "net.ipv6.conf.c1.disable_ipv6=1")
	for _, dev := range []string{"a0", "a1", "c0", "c1"} {
		ns.MustRun("ip", "link", "set", dev, "up")
	}
	for _, dev := range []string{"a0", "a1", "c0"} {
		waitLinkReady(t, ns, dev)
	}
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		wantErr []string // substrings of the error
	}{
		{"automatic", nil, []string{"a0", "a1", "c0"}, nil},
		{"named", []string{"a1"}, []string{"a1"}, nil},
		{"named keeps order", []string{"c0", "a0"}, []string{"c0", "a0"}, nil},
		{"duplicates collapse", []string{"a0", "a0"}, []string{"a0"}, nil},
		{"missing", []string{"nope0"}, nil, []string{`"nope0" not found`}},
		{"down", []string{"b0"}, nil, []string{`"b0" is down`}},
		{"loopback is not multicast", []string{"lo"}, nil, []string{`"lo" is not multicast-capable`}},
		{"no IPv6", []string{"c1"}, nil, []string{`"c1" has no IPv6 address`}},
		{"every problem named", []string{"a0", "nope0", "b1", "lo"}, nil,
			[]string{`"nope0" not found`, `"b1" is down`, `"lo" is not multicast-capable`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				got []net.Interface
				err error
			)
			if derr := ns.Do(func() error { got, err = Interfaces(tc.in); return nil }); derr != nil {
				t.Fatal(derr)
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Interfaces(%q) = %v, want an error", tc.in, names(got))
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %s", err, w)
					}
				}
				if !strings.HasPrefix(err.Error(), "mcast: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Interfaces(%q): %v", tc.in, err)
			}
			g := names(got)
			if tc.in == nil {
				slices.Sort(g)
			}
			if strings.Join(g, ",") != strings.Join(tc.want, ",") {
				t.Errorf("Interfaces(%q) = %v, want %v", tc.in, g, tc.want)
			}
		})
	}
}

// TestInterfacesNone: a namespace with only loopback has nothing usable.
func TestInterfacesNone(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "lcmn")
	var err error
	if derr := ns.Do(func() error { _, err = Interfaces(nil); return nil }); derr != nil {
		t.Fatal(derr)
	}
	if !errors.Is(err, errNoInterface) {
		t.Fatalf("Interfaces(nil) = %v, want %v", err, errNoInterface)
	}
	const want = "mcast: no usable interface: need one that is up, multicast-capable and has IPv6; use --iface"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func names(ifs []net.Interface) []string {
	var out []string
	for _, ifi := range ifs {
		out = append(out, ifi.Name)
	}
	return out
}
