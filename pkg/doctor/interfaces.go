package doctor

import (
	"fmt"
	"net"
	"strings"
)

// Interfaces checks the interfaces lcsync would use: with names (--iface), exactly those,
// each of which must be up, multicast-capable and have IPv6; without, every such interface
// except loopback. An interface without a link-local address is a warning: its MLD reports
// go out from the unspecified address, which queriers and snooping switches may ignore
// (RFC 3810 §5.2.13). It returns the usable interfaces for the checks that follow.
func Interfaces(sys System, names []string) ([]Interface, Result) {
	all, err := sys.Interfaces()
	if err != nil {
		return nil, fail(CheckInterfaces, "cannot list interfaces: "+err.Error(), "check that /proc and /sys are mounted and readable")
	}
	var cands []Interface
	var problems []string
	if len(names) > 0 {
		byName := map[string]Interface{}
		for _, ifi := range all {
			byName[ifi.Name] = ifi
		}
		for _, n := range names {
			ifi, ok := byName[n]
			if !ok {
				problems = append(problems, n+" does not exist")
				continue
			}
			cands = append(cands, ifi)
		}
	} else {
		for _, ifi := range all {
			if ifi.Flags&net.FlagLoopback == 0 {
				cands = append(cands, ifi)
			}
		}
	}
	var usable, noLL []Interface
	for _, ifi := range cands {
		why := ""
		switch {
		case ifi.Flags&net.FlagUp == 0:
			why = "is down"
		case ifi.Flags&net.FlagMulticast == 0:
			why = "is not multicast-capable"
		case !ifi.hasIPv6():
			why = "has no IPv6 address"
		}
		if why != "" {
			if len(names) > 0 {
				problems = append(problems, ifi.Name+" "+why)
			}
			continue
		}
		usable = append(usable, ifi)
		if _, ok := ifi.linkLocal(); !ok {
			noLL = append(noLL, ifi)
		}
	}
	switch {
	case len(problems) > 0:
		return usable, fail(CheckInterfaces, "unusable interface: "+strings.Join(problems, "; "),
			"bring it up with IPv6 (ip link set IF up) or name others with --iface")
	case len(usable) == 0:
		return nil, fail(CheckInterfaces, "no interface is up, multicast-capable and has IPv6 (loopback cannot carry multicast)",
			"bring an Ethernet-like interface up (ip link set IF up), or name one with --iface")
	case len(noLL) > 0:
		return usable, warn(CheckInterfaces, fmt.Sprintf("%s has no link-local address, so its MLD reports come from :: and queriers may ignore them", ifaceNames(noLL)),
			"ip link set "+noLL[0].Name+" addrgenmode eui64 (or add an fe80:: address)")
	}
	desc := make([]string, len(usable))
	for i, ifi := range usable {
		ll, _ := ifi.linkLocal()
		desc[i] = ifi.Name + " (" + ll.String() + ")"
	}
	return usable, pass(CheckInterfaces, "multicast interfaces up: "+strings.Join(desc, ", "))
}

// ifaceNames joins interface names.
func ifaceNames(ifs []Interface) string { return strings.Join(ifaceNamesOf(ifs), ", ") }

// ifaceNamesOf lists interface names.
func ifaceNamesOf(ifs []Interface) []string {
	n := make([]string, len(ifs))
	for i, ifi := range ifs {
		n[i] = ifi.Name
	}
	return n
}
