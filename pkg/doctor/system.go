package doctor

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// System is what the checks read from the host. [Linux] reads the real one; tests fake it.
type System interface {
	// ReadFile reads a file such as /proc/sys/net/core/rmem_max, /proc/net/ipv6_route or
	// /proc/self/status.
	ReadFile(path string) ([]byte, error)
	// Interfaces lists the network interfaces with their addresses.
	Interfaces() ([]Interface, error)
	// ExecutableCaps returns the file capabilities of the lcsync executable.
	ExecutableCaps() (FileCaps, error)
	// Firewall dumps the packet filter rules: nft's JSON ruleset, or ip6tables-save's output
	// when nft is absent. It returns an error wrapping [ErrNoFirewallTool] when neither exists.
	Firewall(ctx context.Context) (FirewallDump, error)
	// CountDirs counts the directories under root (root included), stopping at limit.
	CountDirs(root string, limit int) (int, error)
}

// Interface is a network interface as the checks see it.
type Interface struct {
	Name  string
	Index int
	Flags net.Flags
	// Addrs are the interface's addresses, IPv4 and IPv6.
	Addrs []netip.Prefix
}

// linkLocal returns the interface's first IPv6 link-local address, if any.
func (ifi Interface) linkLocal() (netip.Addr, bool) {
	for _, p := range ifi.Addrs {
		if a := p.Addr(); a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// hasIPv6 reports whether the interface has any IPv6 address.
func (ifi Interface) hasIPv6() bool {
	for _, p := range ifi.Addrs {
		if a := p.Addr(); a.Is6() && !a.Is4In6() {
			return true
		}
	}
	return false
}

// FileCaps are the file capabilities (security.capability) of an executable.
type FileCaps struct {
	// Path is the executable's path.
	Path string
	// Permitted is the permitted set, a bit per capability number; Effective reports
	// whether the effective bit is set (the permitted set is then raised at exec).
	Permitted uint64
	Effective bool
}

// FirewallDump is the raw output of the firewall tool.
type FirewallDump struct {
	// Tool is "nft" (Output is `nft -j list ruleset`) or "ip6tables" (Output is
	// `ip6tables-save`).
	Tool   string
	Output []byte
}

// QuerierListener listens for MLD General Queries (RFC 3810 §5.1.1).
type QuerierListener interface {
	// Listen listens on the interfaces until wait passes or ctx ends and returns the queries
	// heard. Its error wraps os.ErrPermission when the process may not open a raw ICMPv6
	// socket.
	Listen(ctx context.Context, ifaces []Interface, wait time.Duration) ([]QueryHeard, error)
}

// QueryHeard is one MLD query received.
type QueryHeard struct {
	// Ifindex is the interface it arrived on; Source the querier's link-local address.
	Ifindex int
	Source  netip.Addr
	// Version is 1 (MLDv1, RFC 2710) or 2 (MLDv2, RFC 3810); General is true for a
	// General Query.
	Version int
	General bool
	// Interval is the querier's query interval (MLDv2's QQIC; 0 for MLDv1).
	Interval time.Duration
}
