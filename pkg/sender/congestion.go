package sender

import (
	"net/netip"
	"time"
)

// Congestion control without a return path (MLD mode). Every share has a congestion channel
// on which nothing is sent. A receiver whose socket drops datagrams joins it for a moment; the
// join report, overheard like any other, tells the sender to slow down. The sender cuts its
// rate multiplicatively on such a signal and raises it additively while none comes, up to the
// configured rate (AIMD), so it settles near what the slowest receiver absorbs instead of
// overrunning it and paying for repairs.
type aimd struct {
	max     float64 // bits per second: the configured rate
	cur     float64
	floor   float64
	lastCut time.Time
	lastUp  time.Time
	hosts   map[netip.Addr]bool // hosts currently joined to the congestion channel
}

const (
	aimdCut      = 0.7                    // multiplicative decrease
	aimdCutEvery = 100 * time.Millisecond // at most one cut per feedback delay
	aimdHold     = 200 * time.Millisecond // no increase right after a cut
	aimdUpEvery  = 50 * time.Millisecond
	aimdUpStep   = 0.02 // of max, per step: back to max from a cut in about a second
	aimdFloorDiv = 50   // never below max/50
)

func newAIMD(max float64) *aimd {
	return &aimd{max: max, cur: max, floor: max / aimdFloorDiv, hosts: map[netip.Addr]bool{}}
}

// signal handles a join (or, with leave, a leave) of the congestion channel by src and
// reports whether the rate changed. A host's repeated reports while it stays joined are one
// signal.
func (c *aimd) signal(src netip.Addr, leave bool, now time.Time) bool {
	if leave {
		delete(c.hosts, src)
		return false
	}
	if c.hosts[src] {
		return false
	}
	c.hosts[src] = true
	if now.Sub(c.lastCut) < aimdCutEvery {
		return false
	}
	c.lastCut = now
	c.cur = max(c.floor, c.cur*aimdCut)
	return true
}

// tick raises the rate when no signal came for a while and reports whether it changed.
func (c *aimd) tick(now time.Time) bool {
	if c.cur >= c.max || now.Sub(c.lastCut) < aimdHold || now.Sub(c.lastUp) < aimdUpEvery {
		return false
	}
	c.lastUp = now
	c.cur = min(c.max, c.cur+c.max*aimdUpStep)
	return true
}
