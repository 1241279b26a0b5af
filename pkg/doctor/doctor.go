package doctor

import (
	"context"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// Config says what lcsync would use, so that the checks test that.
type Config struct {
	// Ifaces are the interfaces named with --iface; empty means every usable one, as lcsync
	// chooses them.
	Ifaces []string
	// Scope is the multicast scope of the channel groups; 0 means mcast.DefaultScope.
	Scope mcast.Scope
	// Port is the UDP port of the channels; 0 means mcast.DefaultPort.
	Port int
	// QuerierWait is how long to listen for an MLD query; 0 skips the querier check.
	QuerierWait time.Duration
	// RcvBuf and SndBuf are the socket buffers lcsync asks for; 0 means what pkg/mcast asks
	// for by default (mcast.DefaultRcvBuf, and the kernel's default send buffer).
	RcvBuf, SndBuf int
	// Share, if set, is the directory a server would serve: the inotify check counts its
	// directories against the watch limit.
	Share string
}

// Check names, in the order Run reports them.
const (
	CheckIPv6       = "ipv6"
	CheckInterfaces = "interfaces"
	CheckRoute      = "route"
	CheckQuerier    = "querier"
	CheckCapability = "capability"
	CheckBuffers    = "buffers"
	CheckFirewall   = "firewall"
	CheckInotify    = "inotify"
)

// Run runs every check and returns their results in a fixed order. The querier check takes
// up to cfg.QuerierWait; the others are quick.
func Run(ctx context.Context, cfg Config, sys System, ql QuerierListener) []Result {
	if cfg.Scope == 0 {
		cfg.Scope = mcast.DefaultScope
	}
	if cfg.Port == 0 {
		cfg.Port = mcast.DefaultPort
	}
	if cfg.RcvBuf == 0 {
		cfg.RcvBuf = mcast.DefaultRcvBuf
	}
	ifaces, ifResult := Interfaces(sys, cfg.Ifaces)
	return []Result{
		IPv6(sys, ifaces),
		ifResult,
		Route(sys, ifaces, cfg.Scope),
		Querier(ctx, ql, ifaces, cfg.QuerierWait),
		Capability(sys),
		Buffers(sys, cfg.RcvBuf, cfg.SndBuf),
		Firewall(ctx, sys, ifaces, cfg.Port),
		Inotify(sys, cfg.Share),
	}
}
