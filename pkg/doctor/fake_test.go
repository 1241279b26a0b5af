package doctor

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"time"
)

// fakeSystem is a System made of maps.
type fakeSystem struct {
	files    map[string]string
	ifaces   []Interface
	ifErr    error
	caps     FileCaps
	capsErr  error
	fw       FirewallDump
	fwErr    error
	dirs     int
	dirsErr  error
	dirsRoot string
}

func (f *fakeSystem) ReadFile(path string) ([]byte, error) {
	s, ok := f.files[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

func (f *fakeSystem) Interfaces() ([]Interface, error) { return f.ifaces, f.ifErr }

func (f *fakeSystem) ExecutableCaps() (FileCaps, error) { return f.caps, f.capsErr }

func (f *fakeSystem) Firewall(context.Context) (FirewallDump, error) { return f.fw, f.fwErr }

func (f *fakeSystem) CountDirs(root string, limit int) (int, error) {
	f.dirsRoot = root
	return min(f.dirs, limit), f.dirsErr
}

// Capability sets for /proc/self/status.
const (
	capsNone    = "0000000000000000"
	capsNetRaw  = "0000000000002000"
	capsRawAdm  = "0000000000003000"
	capsAllRoot = "000001ffffffffff"
)

func status(eff, bnd string, nnp bool) string {
	n := 0
	if nnp {
		n = 1
	}
	return fmt.Sprintf("Name:\tlcsync\nCapInh:\t0000000000000000\nCapPrm:\t%s\nCapEff:\t%s\nCapBnd:\t%s\nCapAmb:\t0000000000000000\nNoNewPrivs:\t%d\n", eff, eff, bnd, n)
}

// eth returns an up, multicast interface with a link-local address.
func eth(name string, index int) Interface {
	return Interface{Name: name, Index: index, Flags: net.FlagUp | net.FlagMulticast,
		Addrs: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("fe80::%d/64", index)), netip.MustParsePrefix("fd00::1/64")}}
}

var loopback = Interface{Name: "lo", Index: 1, Flags: net.FlagUp | net.FlagLoopback,
	Addrs: []netip.Prefix{netip.MustParsePrefix("::1/128")}}

// routeLine formats a /proc/net/ipv6_route line.
func routeLine(prefix, dev string, flags uint32) string {
	p := netip.MustParsePrefix(prefix)
	b := p.Addr().As16()
	return fmt.Sprintf("%x %02x 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 %08x %8s\n", b, p.Bits(), flags, dev)
}

// healthy returns a host on which every check passes: eth0 with IPv6, ff00::/8, CAP_NET_RAW,
// large buffers, an empty ruleset and many inotify watches.
func healthy() *fakeSystem {
	return &fakeSystem{
		files: map[string]string{
			"/proc/sys/net/ipv6/conf/all/disable_ipv6":  "0\n",
			"/proc/sys/net/ipv6/conf/eth0/disable_ipv6": "0\n",
			"/proc/net/ipv6_route":                      routeLine("fe80::/64", "eth0", 1) + routeLine("ff00::/8", "eth0", 1),
			"/proc/self/status":                         status(capsNetRaw, capsAllRoot, false),
			"/proc/sys/net/core/rmem_max":               "67108864\n",
			"/proc/sys/net/core/wmem_max":               "212992\n",
			"/proc/sys/fs/inotify/max_user_watches":     "524288\n",
			"/proc/sys/fs/inotify/max_user_instances":   "128\n",
		},
		ifaces: []Interface{loopback, eth("eth0", 2)},
		fw:     FirewallDump{Tool: "nft", Output: []byte(`{"nftables": [{"metainfo": {"version": "1.0.6"}}]}`)},
	}
}

// fakeQuerier answers Listen with fixed queries or an error, and records the wait.
type fakeQuerier struct {
	heard []QueryHeard
	err   error
	wait  time.Duration
}

func (f *fakeQuerier) Listen(_ context.Context, _ []Interface, wait time.Duration) ([]QueryHeard, error) {
	f.wait = wait
	return f.heard, f.err
}

func querierOn(ifindex, version int) *fakeQuerier {
	return &fakeQuerier{heard: []QueryHeard{{Ifindex: ifindex, Source: netip.MustParseAddr("fe80::99"),
		Version: version, General: true, Interval: 125 * time.Second}}}
}
