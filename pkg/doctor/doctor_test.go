package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// expect checks a result's status and that its detail (and fix) mention the given words.
func expect(t *testing.T, r Result, st Status, words ...string) {
	t.Helper()
	if r.Status != st {
		t.Errorf("%s: status %s, want %s: %s (fix: %s)", r.Check, r.Status, st, r.Detail, r.Fix)
		return
	}
	text := r.Detail + " | " + r.Fix
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("%s: %q does not mention %q", r.Check, text, w)
		}
	}
	if st != Pass && st != Skip && r.Fix == "" && r.Status == Fail {
		t.Errorf("%s: a failure without a fix: %s", r.Check, r.Detail)
	}
}

func TestRunHealthy(t *testing.T) {
	q := querierOn(2, 2)
	rs := Run(context.Background(), Config{QuerierWait: 3 * time.Second}, healthy(), q)
	want := []string{CheckIPv6, CheckInterfaces, CheckRoute, CheckQuerier, CheckCapability, CheckBuffers, CheckFirewall, CheckInotify}
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		if r.Check != want[i] {
			t.Errorf("result %d is %s, want %s", i, r.Check, want[i])
		}
		expect(t, r, Pass)
	}
	if !Ready(rs) {
		t.Error("not ready")
	}
	if q.wait != 3*time.Second {
		t.Errorf("querier listened for %v, want 3s", q.wait)
	}
	b, err := json.Marshal(rs[0])
	if err != nil || !strings.Contains(string(b), `"status":"pass"`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

func TestRunNotReady(t *testing.T) {
	sys := healthy()
	sys.ifaces = []Interface{loopback}
	rs := Run(context.Background(), Config{}, sys, nil)
	if Ready(rs) {
		t.Fatal("ready without any interface")
	}
	expect(t, rs[1], Fail, "no interface", "loopback")
	expect(t, rs[2], Skip)
	expect(t, rs[3], Skip, "--querier-wait 0")
}

func TestIPv6(t *testing.T) {
	ifs := []Interface{eth("eth0", 2)}
	sys := healthy()
	expect(t, IPv6(sys, ifs), Pass)
	sys.files["/proc/sys/net/ipv6/conf/eth0/force_mld_version"] = "1\n"
	expect(t, IPv6(sys, ifs), Warn, "force_mld_version = 1", "does not hear", "sysctl -w net.ipv6.conf.eth0.force_mld_version=0")
	sys.files["/proc/sys/net/ipv6/conf/eth0/force_mld_version"] = "2\n"
	expect(t, IPv6(sys, ifs), Pass)
	sys.files["/proc/sys/net/ipv6/conf/eth0/disable_ipv6"] = "1\n"
	expect(t, IPv6(sys, ifs), Fail, "disabled on eth0", "sysctl -w net.ipv6.conf.eth0.disable_ipv6=0")
	sys.files["/proc/sys/net/ipv6/conf/all/disable_ipv6"] = "1\n"
	expect(t, IPv6(sys, ifs), Fail, "net.ipv6.conf.all.disable_ipv6 = 1", "sysctl -w net.ipv6.conf.all.disable_ipv6=0")
	delete(sys.files, "/proc/sys/net/ipv6/conf/all/disable_ipv6")
	expect(t, IPv6(sys, ifs), Fail, "no IPv6", "ipv6.disable=1")
	sys.files["/proc/sys/net/ipv6/conf/all/disable_ipv6"] = "yes"
	expect(t, IPv6(sys, ifs), Warn, "not a number")
}

func TestInterfaces(t *testing.T) {
	down := eth("eth1", 3)
	down.Flags &^= net.FlagUp
	noMcast := eth("tun0", 4)
	noMcast.Flags &^= net.FlagMulticast
	noLL := eth("eth2", 5)
	noLL.Addrs = []netip.Prefix{netip.MustParsePrefix("fd00::5/64")}
	v4 := eth("eth3", 6)
	v4.Addrs = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}
	cases := []struct {
		name   string
		all    []Interface
		names  []string
		st     Status
		usable int
		words  []string
	}{
		{"default", []Interface{loopback, eth("eth0", 2), down, noMcast}, nil, Pass, 1, []string{"eth0 (fe80::2)"}},
		{"only loopback", []Interface{loopback}, nil, Fail, 0, []string{"no interface", "ip link set IF up"}},
		{"only down", []Interface{loopback, down, noMcast, v4}, nil, Fail, 0, []string{"no interface"}},
		{"named missing", []Interface{eth("eth0", 2)}, []string{"eth9"}, Fail, 0, []string{"eth9 does not exist"}},
		{"named down", []Interface{eth("eth0", 2), down}, []string{"eth1"}, Fail, 0, []string{"eth1 is down"}},
		{"named not multicast", []Interface{noMcast}, []string{"tun0"}, Fail, 0, []string{"tun0 is not multicast-capable"}},
		{"named without IPv6", []Interface{v4}, []string{"eth3"}, Fail, 0, []string{"eth3 has no IPv6"}},
		{"named good", []Interface{eth("eth0", 2), down}, []string{"eth0"}, Pass, 1, []string{"eth0"}},
		{"no link-local", []Interface{noLL}, nil, Warn, 1, []string{"eth2 has no link-local", "addrgenmode"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sys := healthy()
			sys.ifaces = c.all
			usable, r := Interfaces(sys, c.names)
			expect(t, r, c.st, c.words...)
			if len(usable) != c.usable {
				t.Errorf("%d usable, want %d", len(usable), c.usable)
			}
		})
	}
	sys := healthy()
	sys.ifErr = errors.New("netlink says no")
	_, r := Interfaces(sys, nil)
	expect(t, r, Fail, "netlink says no")
}

func TestRoute(t *testing.T) {
	ifs := []Interface{eth("eth0", 2)}
	cases := []struct {
		name   string
		routes string
		scope  mcast.Scope
		st     Status
		words  []string
	}{
		{"ff00::/8", routeLine("ff00::/8", "eth0", 1), mcast.ScopeSite, Pass, []string{"ff15::/16", "eth0 via ff00::/8"}},
		{"site only", routeLine("ff15::/16", "eth0", 1), mcast.ScopeSite, Pass, []string{"ff15::/16"}},
		{"site route, global scope", routeLine("ff15::/16", "eth0", 1), mcast.ScopeGlobal, Fail, []string{"ff1e::/16", "no route", "table local"}},
		{"other device", routeLine("ff00::/8", "eth1", 1), mcast.ScopeSite, Fail, []string{"on eth0"}},
		{"none", routeLine("fe80::/64", "eth0", 1), mcast.ScopeLink, Fail, []string{"ff12::/16", "network is unreachable"}},
		{"reject wins", routeLine("ff00::/8", "eth0", 1) + routeLine("ff15::/16", "eth0", rtfReject|1), mcast.ScopeSite, Fail, []string{"reject route"}},
		{"default route covers", routeLine("::/0", "eth0", 3), mcast.ScopeSite, Pass, []string{"::/0"}},
		{"malformed", "ff00 08\n", mcast.ScopeSite, Warn, []string{"fields"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sys := healthy()
			sys.files["/proc/net/ipv6_route"] = c.routes
			expect(t, Route(sys, ifs, c.scope), c.st, c.words...)
		})
	}
	expect(t, Route(healthy(), nil, mcast.ScopeSite), Skip)
}

func TestQuerier(t *testing.T) {
	ifs := []Interface{eth("eth0", 2), eth("eth1", 3)}
	ctx := context.Background()
	both := querierOn(2, 2)
	both.heard = append(both.heard, querierOn(3, 2).heard...)
	expect(t, Querier(ctx, both, ifs, time.Second), Pass, "eth0: MLDv2 querier fe80::99 (every 2m5s)", "eth1")
	expect(t, Querier(ctx, querierOn(2, 2), ifs, time.Second), Warn, "no MLD query heard in 1s on eth1", "flood", "--querier-wait 130s", "heard eth0")
	expect(t, Querier(ctx, &fakeQuerier{}, ifs[:1], 2*time.Second), Warn, "no MLD query heard in 2s on eth0", "mcast_querier 1")
	expect(t, Querier(ctx, querierOn(2, 1), ifs[:1], time.Second), Warn, "MLDv1 querier is on eth0", "mcast_mld_version 2")
	perm := &fakeQuerier{err: fmt.Errorf("doctor: raw socket: %w", fs.ErrPermission)}
	expect(t, Querier(ctx, perm, ifs, time.Second), Skip, "CAP_NET_RAW", "as root")
	expect(t, Querier(ctx, &fakeQuerier{err: errors.New("boom")}, ifs, time.Second), Warn, "boom")
	expect(t, Querier(ctx, both, ifs, 0), Skip, "--querier-wait 0")
	expect(t, Querier(ctx, both, nil, time.Second), Skip)
	expect(t, Querier(ctx, nil, ifs, time.Second), Skip)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expect(t, Querier(cancelled, &fakeQuerier{err: context.Canceled}, ifs, time.Second), Skip, "interrupted")
}

func TestCapability(t *testing.T) {
	cases := []struct {
		name   string
		status string
		caps   FileCaps
		st     Status
		words  []string
	}{
		{"effective", status(capsNetRaw, capsAllRoot, false), FileCaps{}, Pass, []string{"this process has CAP_NET_RAW"}},
		{"root", status(capsAllRoot, capsAllRoot, false), FileCaps{}, Pass, nil},
		{"root without it", status("000001ffffffdfff", "000001ffffffdfff", false), FileCaps{Path: "/usr/bin/lcsync"}, Warn, []string{"no CAP_NET_RAW", "--carousel", "setcap cap_net_raw+ep /usr/bin/lcsync", "AmbientCapabilities"}},
		{"file caps", status(capsNone, capsAllRoot, false), FileCaps{Path: "/usr/bin/lcsync", Permitted: 1 << capNetRaw, Effective: true}, Pass, []string{"cap_net_raw+ep"}},
		{"file caps, not effective", status(capsNone, capsAllRoot, false), FileCaps{Path: "/x", Permitted: 1 << capNetRaw}, Warn, []string{"without the effective bit"}},
		{"file caps, no_new_privs", status(capsNone, capsAllRoot, true), FileCaps{Path: "/x", Permitted: 1 << capNetRaw, Effective: true}, Warn, []string{"no_new_privs"}},
		{"file caps, bounding set", status(capsNone, capsNone, false), FileCaps{Path: "/x", Permitted: 1 << capNetRaw, Effective: true}, Warn, []string{"bounding set"}},
		{"nothing", status(capsNone, capsAllRoot, false), FileCaps{Path: "/x"}, Warn, []string{"no CAP_NET_RAW"}},
		{"garbled", "CapEff:\tzz\n", FileCaps{}, Warn, []string{"not hex"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sys := healthy()
			sys.files["/proc/self/status"] = c.status
			sys.caps = c.caps
			expect(t, Capability(sys), c.st, c.words...)
		})
	}
}

func TestParseFileCaps(t *testing.T) {
	// setcap cap_net_raw+ep: revision 2, effective, permitted bit 13.
	v2 := []byte{0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	fc, err := parseFileCaps(FileCaps{Path: "/x"}, v2)
	if err != nil || !fc.Effective || fc.Permitted != 1<<capNetRaw {
		t.Errorf("revision 2: %+v, %v", fc, err)
	}
	v3 := append(append([]byte{0x00, 0, 0, 0x03}, v2[4:]...), 0, 0, 0, 0)
	fc, err = parseFileCaps(FileCaps{Path: "/x"}, v3)
	if err != nil || fc.Effective || fc.Permitted != 1<<capNetRaw {
		t.Errorf("revision 3: %+v, %v", fc, err)
	}
	if fc, err := parseFileCaps(FileCaps{}, nil); err != nil || fc.Permitted != 0 {
		t.Errorf("no attribute: %+v, %v", fc, err)
	}
	for _, bad := range [][]byte{{1, 2, 3}, {0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0, 0, 0}, v2[:12]} {
		if _, err := parseFileCaps(FileCaps{}, bad); err == nil {
			t.Errorf("accepted %x", bad)
		}
	}
}

func TestBuffers(t *testing.T) {
	sys := healthy()
	expect(t, Buffers(sys, 32<<20, 0), Pass, "64 MiB allows the 32 MiB", "default send buffer")
	sys.files["/proc/sys/net/core/rmem_max"] = "212992\n"
	expect(t, Buffers(sys, 32<<20, 0), Warn, "208 KiB", "sysctl -w net.core.rmem_max=33554432")
	sys.files["/proc/self/status"] = status(capsRawAdm, capsAllRoot, false)
	expect(t, Buffers(sys, 32<<20, 0), Warn, "this process has CAP_NET_ADMIN", "unprivileged receiver", "sysctl -w net.core.rmem_max=33554432")
	sys.files["/proc/self/status"] = status(capsNone, capsAllRoot, false)
	sys.files["/proc/sys/net/core/rmem_max"] = "67108864\n"
	expect(t, Buffers(sys, 32<<20, 4<<20), Warn, "wmem_max is 208 KiB", "sysctl -w net.core.wmem_max=4194304")
	sys.files["/proc/sys/net/core/wmem_max"] = "8388608\n"
	expect(t, Buffers(sys, 32<<20, 4<<20), Pass, "wmem_max 8 MiB allows the 4 MiB send buffer")
	delete(sys.files, "/proc/sys/net/core/rmem_max")
	expect(t, Buffers(sys, 32<<20, 0), Warn, "cannot read")
}

func TestInotify(t *testing.T) {
	sys := healthy()
	expect(t, Inotify(sys, ""), Pass, "524288")
	sys.files["/proc/sys/fs/inotify/max_user_watches"] = "8192\n"
	expect(t, Inotify(sys, ""), Warn, "8192", "sysctl -w fs.inotify.max_user_watches=524288")
	sys.dirs = 5000
	expect(t, Inotify(sys, "/srv/share"), Warn, "5000 directories", "more than half")
	if sys.dirsRoot != "/srv/share" {
		t.Errorf("counted %q", sys.dirsRoot)
	}
	sys.dirs = 100000
	expect(t, Inotify(sys, "/srv/share"), Warn, "more than 8192 directories", "cannot follow")
	sys.dirs = 10
	expect(t, Inotify(sys, "/srv/share"), Pass, "10 directories")
	sys.dirsErr = errors.New("permission denied")
	expect(t, Inotify(sys, "/srv/share"), Warn, "permission denied")
	sys.files["/proc/sys/fs/inotify/max_user_instances"] = "0"
	expect(t, Inotify(sys, ""), Warn, "max_user_instances is 0")
	delete(sys.files, "/proc/sys/fs/inotify/max_user_watches")
	expect(t, Inotify(sys, ""), Skip)
}
