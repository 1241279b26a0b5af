package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv6"

	"github.com/lcsync/lcsync/mld"
)

// RawQuerierListener hears MLD queries on a raw ICMPv6 socket (which needs CAP_NET_RAW).
// General Queries go to ff02::1, which every IPv6 host has joined, so no join is needed.
type RawQuerierListener struct{}

// Listen implements QuerierListener.
func (RawQuerierListener) Listen(ctx context.Context, ifaces []Interface, wait time.Duration) ([]QueryHeard, error) {
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, fmt.Errorf("doctor: opening a raw icmpv6 socket: %w", err)
	}
	defer c.Close()
	p := ipv6.NewPacketConn(c)
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeMulticastListenerQuery)
	if err := p.SetICMPFilter(&f); err != nil {
		return nil, fmt.Errorf("doctor: icmpv6 filter: %w", err)
	}
	if err := p.SetControlMessage(ipv6.FlagInterface|ipv6.FlagHopLimit, true); err != nil {
		return nil, fmt.Errorf("doctor: icmpv6 control messages: %w", err)
	}
	want := map[int]bool{}
	for _, ifi := range ifaces {
		want[ifi.Index] = true
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := p.SetReadDeadline(deadline); err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = p.SetReadDeadline(time.Now()) })
	defer stop()
	var heard []QueryHeard
	seen := map[int]bool{}
	buf := make([]byte, 1500)
	for len(seen) < len(want) {
		n, cm, src, err := p.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ctx.Err() != nil {
					return heard, ctx.Err()
				}
				return heard, nil
			}
			return heard, fmt.Errorf("doctor: reading icmpv6: %w", err)
		}
		// A query comes from a link-local address with hop limit 1 (RFC 3810 §5.1.14).
		if cm == nil || !want[cm.IfIndex] || cm.HopLimit != 1 {
			continue
		}
		q, err := mld.ParseQuery(buf[:n])
		if err != nil || !q.General() {
			continue
		}
		var from netip.Addr
		if ia, ok := src.(*net.IPAddr); ok {
			from, _ = netip.AddrFromSlice(ia.IP)
		}
		heard = append(heard, QueryHeard{Ifindex: cm.IfIndex, Source: from, Version: q.Version, General: true, Interval: q.QueryInterval})
		seen[cm.IfIndex] = true
	}
	return heard, nil
}
