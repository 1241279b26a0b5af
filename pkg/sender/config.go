package sender

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Trigger tells the sender what listeners want; *mld.Listener satisfies it. Repeated joins
// from one [mld.Event.Source] inside the dedup window do not extend a cycle; a Refresh keeps
// the host counted as a member but does not start or extend a cycle. It is consulted from the sender's goroutine.
type Trigger interface {
	// Wanted reports whether some listener on interface ifindex still wants group g.
	Wanted(ifindex int, g netip.Addr) bool
	// Notify returns a channel that receives a value when events are waiting.
	Notify() <-chan struct{}
	// TakeEvents appends the waiting events to dst, oldest first, and returns it.
	TakeEvents(dst []mld.Event) []mld.Event
}

// Transport sends datagrams on multicast groups; *mcast.SendConn satisfies it.
type Transport interface {
	// Send sends the datagrams on interface ifindex and returns how many were sent.
	Send(ifindex int, ds []mcast.Datagram) (int, error)
	// Ifaces lists the interfaces the transport can send on.
	Ifaces() []net.Interface
}

// SegmentSender is implemented by transports that can send a train of equal-sized datagrams
// in one call (UDP GSO); *mcast.SendConn does. The sender uses it for the pieces of a block.
type SegmentSender interface {
	// SendSegments sends buf cut into datagrams of segSize bytes (the last may be shorter).
	SendSegments(ifindex int, g netip.Addr, buf []byte, segSize int) error
	// GSO reports whether trains really go out as one call (else batching is as good).
	GSO() bool
}

// Config configures a Sender.
type Config struct {
	// Index is the share to serve. The sender owns it from now on (it re-hashes files that
	// change).
	Index *index.Index
	// Transport sends the datagrams.
	Transport Transport
	// Trigger reports joins in MLD mode; it must be nil in carousel mode.
	Trigger Trigger
	// Carousel sends everything continuously instead of on demand.
	Carousel bool
	// Scope of the derived group addresses.
	Scope mcast.Scope
	// MTU is the path MTU (default 1500); datagrams never exceed MTU-48 bytes.
	MTU int
	// Rate is the total send rate in bits per second; 0 means unlimited. In MLD mode it is the
	// ceiling of the congestion controller (see NoCongestionControl).
	Rate float64
	// NoCongestionControl keeps the rate fixed instead of slowing down when receivers report
	// drops on the congestion channel.
	NoCongestionControl bool
	// Delay pauses after each datagram, as the original lcsync's --delay.
	Delay time.Duration
	// PageHeight is how many levels a tree page reaches (default 4).
	PageHeight int
	// NoGSO sends block pieces as separate datagrams even if the transport can send trains.
	NoGSO bool
	// Burst is how many datagrams one channel sends before the next channel's turn (default 32).
	Burst int
	// CheckInterval is how often a file is checked for changes while served (default 1s).
	CheckInterval time.Duration
	// DedupWindow is how long repeated reports from one host are ignored (default 1.5s).
	DedupWindow time.Duration
	// Gather delays the start of an idle channel whose cycle is short (at most GatherMax
	// datagrams, default 64) by this much (default 8ms), so that receivers walking the same
	// tree in step, whose joins arrive a few milliseconds apart, share one cycle instead of
	// getting one each. Negative disables it.
	Gather    time.Duration
	GatherMax int64
	// RootGather is the most the root page of a large file (32 MiB and more) waits, when
	// other hosts joined the manifest lately, for them to join it too, so that receivers
	// updating the file walk its tree in step (default 1s, for files of 512 MiB and more;
	// in proportion for smaller ones, as hosts drift apart hashing their copies). The root
	// page of a file of any size waits, at most half of it, for the hosts that fetched the
	// tree object listing the file lately (the followers of a generation that changed it). WalkGather
	// is the most a tree page or data channel below it waits for the hosts that fetched the
	// page above (default 300ms). Negative disables either.
	RootGather, WalkGather time.Duration
	// ManifestInterval paces the manifest in carousel mode (default 250ms between cycles).
	ManifestInterval time.Duration
	// RefreshMin is the least time between two re-walks of the share triggered by manifest
	// requests (default 1s); RefreshInterval how often carousel mode re-walks it (default 10s).
	RefreshMin, RefreshInterval time.Duration
	// Workers bounds re-hashing concurrency (0: GOMAXPROCS).
	Workers int
	// Watch, if set, feeds the changes of the share (--watch; see live.go): the index
	// follows them instead of being walked again on manifest requests. AllowShrink lets a
	// generation lose more than half of the files (the guard refuses it otherwise).
	Watch       Watch
	AllowShrink bool
	// Signer signs every manifest generation (signed shares, PROTOCOL.md §4.7; pkg/sign's
	// Publisher); nil serves the share unsigned.
	Signer Signer
	// Logger receives notices (nil: silent).
	Logger *slog.Logger
}

// DefaultPageHeight is the tree page height used unless configured.
const DefaultPageHeight = 4

func (c *Config) setDefaults() error {
	if c.Index == nil || c.Transport == nil {
		return errors.New("sender: Config needs an Index and a Transport")
	}
	if c.Carousel != (c.Trigger == nil) {
		return errors.New("sender: a Trigger is required in MLD mode and forbidden in carousel mode")
	}
	if c.MTU == 0 {
		c.MTU = wire.DefaultMTU
	}
	if _, err := wire.MaxDatagram(c.MTU); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if c.Rate < 0 {
		return errors.New("sender: negative rate")
	}
	if c.PageHeight == 0 {
		c.PageHeight = DefaultPageHeight
	}
	if c.PageHeight < 1 || c.PageHeight > 16 {
		return fmt.Errorf("sender: page height %d out of range 1..16", c.PageHeight)
	}
	if c.Burst <= 0 {
		c.Burst = 32
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = time.Second
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = 1500 * time.Millisecond
	}
	if c.Gather == 0 {
		c.Gather = 8 * time.Millisecond
	}
	if c.GatherMax <= 0 {
		c.GatherMax = 64
	}
	if c.RootGather == 0 {
		c.RootGather = time.Second
	}
	if c.WalkGather == 0 {
		c.WalkGather = 300 * time.Millisecond
	}
	if c.ManifestInterval <= 0 {
		c.ManifestInterval = 250 * time.Millisecond
	}
	if c.RefreshMin <= 0 {
		c.RefreshMin = time.Second
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = 10 * time.Second
	}
	if c.Scope == 0 {
		c.Scope = mcast.ScopeSite
	}
	return nil
}
