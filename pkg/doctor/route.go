package doctor

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// rtfReject is RTF_REJECT in /proc/net/ipv6_route's flags (an unreachable or prohibit route).
const rtfReject = 0x0200

// route6 is one line of /proc/net/ipv6_route.
type route6 struct {
	dst    netip.Prefix
	flags  uint32
	device string
}

// parseRoutes parses /proc/net/ipv6_route: destination, prefix length, source, source
// prefix length, next hop, metric, reference count, use count, flags and device, in hex.
func parseRoutes(b []byte) ([]route6, error) {
	var out []route6
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 10 {
			return nil, fmt.Errorf("doctor: /proc/net/ipv6_route line %d has %d fields, want 10", i+1, len(f))
		}
		raw, err := hex.DecodeString(f[0])
		bits, err2 := strconv.ParseUint(f[1], 16, 8)
		flags, err3 := strconv.ParseUint(f[8], 16, 32)
		if err != nil || len(raw) != 16 || err2 != nil || bits > 128 || err3 != nil {
			return nil, fmt.Errorf("doctor: /proc/net/ipv6_route line %d is malformed: %q", i+1, line)
		}
		out = append(out, route6{
			dst:    netip.PrefixFrom(netip.AddrFrom16([16]byte(raw)), int(bits)),
			flags:  uint32(flags),
			device: f[9],
		})
	}
	return out, nil
}

// sampleGroup returns an address of the kind lcsync's channels use in scope: transient
// (flags T=1), so ff15:: for site scope (RFC 4291 §2.7).
func sampleGroup(scope mcast.Scope) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x10 | byte(scope), 15: 1})
}

// Route checks that each interface has a route covering the scope's channel groups (the
// kernel adds ff00::/8 on every IPv6 interface; without it sending fails with "network is
// unreachable").
func Route(sys System, ifaces []Interface, scope mcast.Scope) Result {
	g := sampleGroup(scope)
	want := netip.PrefixFrom(g, 16).Masked()
	if len(ifaces) == 0 {
		return skip(CheckRoute, "no usable interface to check", "")
	}
	b, err := sys.ReadFile("/proc/net/ipv6_route")
	if err != nil {
		return warn(CheckRoute, "cannot read the IPv6 routes: "+err.Error(), "")
	}
	routes, err := parseRoutes(b)
	if err != nil {
		return warn(CheckRoute, err.Error(), "")
	}
	var ok, missing, reject []string
	for _, ifi := range ifaces {
		best := -1
		for i, r := range routes {
			if r.device == ifi.Name && r.dst.Contains(g) && (best < 0 || r.dst.Bits() > routes[best].dst.Bits()) {
				best = i
			}
		}
		switch {
		case best < 0:
			missing = append(missing, ifi.Name)
		case routes[best].flags&rtfReject != 0:
			reject = append(reject, ifi.Name+" ("+routes[best].dst.String()+" is a reject route)")
		default:
			ok = append(ok, ifi.Name+" via "+routes[best].dst.String())
		}
	}
	switch {
	case len(reject) > 0:
		return fail(CheckRoute, fmt.Sprintf("multicast to %s is rejected on %s", want, strings.Join(reject, ", ")),
			"delete the reject route (ip -6 route del ...) or add: ip -6 route add multicast ff00::/8 dev IF table local")
	case len(missing) > 0:
		return fail(CheckRoute, fmt.Sprintf("no route for %s (scope %s) on %s: sending fails with \"network is unreachable\"", want, scope, strings.Join(missing, ", ")),
			"ip -6 route add multicast ff00::/8 dev "+missing[0]+" table local")
	}
	return pass(CheckRoute, fmt.Sprintf("%s (scope %s) is routed on %s", want, scope, strings.Join(ok, ", ")))
}
