package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// ErrNoFirewallTool is wrapped by System.Firewall when neither nft nor ip6tables-save exists.
var ErrNoFirewallTool = errors.New("doctor: neither nft nor ip6tables-save is installed")

// fwPackets are the packets lcsync depends on, per interface: channel datagrams in and out,
// MLD queries in and out (hosts answer queriers; a server may be the querier) and MLD
// reports and dones in and out (receivers send them; the server hears them).
func fwPackets(ifaces []Interface, port int) []fwPacket {
	var out []fwPacket
	for _, ifi := range ifaces {
		for _, dir := range []bool{false, true} {
			out = append(out, fwPacket{out: dir, iface: ifi.Name, udp: true, port: port})
			for _, t := range []int{icmpQuery, icmpReportV1, icmpDone, icmpReportV2} {
				out = append(out, fwPacket{out: dir, iface: ifi.Name, icmpType: t})
			}
		}
	}
	return out
}

// Firewall reads the packet filter (nftables, or ip6tables when nft is absent) and fails when
// a rule or a chain policy drops the channel port or MLD messages on the chosen interfaces;
// it warns when a rule may drop them (it tests something the doctor cannot know, such as a
// source address or a named set).
func Firewall(ctx context.Context, sys System, ifaces []Interface, port int) Result {
	if len(ifaces) == 0 {
		return skip(CheckFirewall, "no usable interface to check", "")
	}
	dump, err := sys.Firewall(ctx)
	switch {
	case errors.Is(err, ErrNoFirewallTool):
		return skip(CheckFirewall, "neither nft nor ip6tables-save is installed, so no firewall rules were read", "")
	case errors.Is(err, fs.ErrPermission):
		return skip(CheckFirewall, "cannot read the firewall rules without CAP_NET_ADMIN", "run lcsync --doctor as root to check the firewall")
	case err != nil:
		return warn(CheckFirewall, "cannot read the firewall rules: "+err.Error(), "")
	}
	var rs *fwRuleset
	if dump.Tool == "nft" {
		rs, err = parseNft(dump.Output)
	} else {
		rs, err = parseIptables(dump.Output)
	}
	if err != nil {
		return warn(CheckFirewall, err.Error(), "")
	}
	var worst fwOutcome
	var victims []string
	for _, p := range fwPackets(ifaces, port) {
		o := rs.judge(p)
		switch {
		case o.drop == no:
		case o.drop > worst.drop:
			worst, victims = o, []string{p.String()}
		case o.drop == worst.drop && o.by == worst.by:
			victims = append(victims, p.String())
		}
	}
	what := victims
	if len(what) > 3 {
		what = append(what[:3:3], fmt.Sprintf("%d more", len(victims)-3))
	}
	switch worst.drop {
	case yes:
		return fail(CheckFirewall, fmt.Sprintf("%s %s drops %s", rs.tool, worst.by, strings.Join(what, ", ")), worst.fix)
	case maybe:
		return warn(CheckFirewall, fmt.Sprintf("%s %s may drop %s (it tests what the doctor cannot know)", rs.tool, worst.by, strings.Join(what, ", ")),
			"check that the rule spares lcsync's traffic, or remove it: "+worst.fix)
	}
	n := 0
	for _, c := range rs.chains {
		n += len(c.rules)
	}
	return pass(CheckFirewall, fmt.Sprintf("%s: no rule of %d drops udp port %d or MLD on %s", rs.tool, n, port, ifaceNames(ifaces)))
}
