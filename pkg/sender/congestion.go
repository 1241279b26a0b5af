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
//
// Signals carry only a source address, which any host on the link can forge, so no host may
// hold every receiver at the floor for ever: a signal counts only from a member of an active
// channel; each host's run of signals (signals less than aimdRunGap apart) may push the rate
// down to the floor for aimdHostBudget, after which its signals cannot push it below
// max/aimdLateFloorDiv until it has been quiet for aimdRunGap; and the table of hosts is
// bounded and forgets hosts it has not heard for aimdHostTTL.
type aimd struct {
	max     float64 // bits per second: the configured rate
	cur     float64
	floor   float64
	lastCut time.Time
	lastUp  time.Time
	hosts   map[netip.Addr]*congestionHost
	swept   time.Time
}

// congestionHost is what the controller remembers of one host's signals.
type congestionHost struct {
	joined   time.Time // its join in force, zero after its leave
	runStart time.Time // the first signal of its current run
	last     time.Time // its last signal
}

const (
	aimdCut      = 0.7                    // multiplicative decrease
	aimdCutEvery = 100 * time.Millisecond // at most one cut per feedback delay
	aimdHold     = 200 * time.Millisecond // no increase right after a cut
	aimdUpEvery  = 50 * time.Millisecond
	aimdUpStep   = 0.02 // of max, per step: back to max from a cut in about a second
	aimdFloorDiv = 50   // never below max/50

	// aimdJoinedFor is how long a host's join counts as in force without a leave: the
	// kernel repeats a state change within about a second, and a host whose leave was lost
	// may signal again after it.
	aimdJoinedFor = 2 * time.Second
	// aimdRunGap ends a host's run of signals: a host silent that long starts a new one.
	aimdRunGap = 3 * time.Second
	// aimdHostBudget is how long one host's run may push the rate down to the floor.
	aimdHostBudget = 10 * time.Second
	// aimdLateFloorDiv: past its budget, a host's signals cannot push the rate below
	// max/aimdLateFloorDiv.
	aimdLateFloorDiv = 4
	// aimdHostTTL is how long a host not heard from is remembered.
	aimdHostTTL = 30 * time.Second
	// maxCongestionHosts bounds the hosts remembered.
	maxCongestionHosts = 4096
)

func newAIMD(max float64) *aimd {
	return &aimd{max: max, cur: max, floor: max / aimdFloorDiv, hosts: map[netip.Addr]*congestionHost{}}
}

// signal handles a join (or, with leave, a leave) of the congestion channel by src and
// reports whether the rate changed. A host's repeated reports while its join is in force are
// one signal. member, if not nil, reports whether src is a member of an active channel; a
// signal from anyone else changes nothing.
func (c *aimd) signal(src netip.Addr, leave bool, now time.Time, member func(netip.Addr) bool) bool {
	h := c.hosts[src]
	if leave {
		if h != nil {
			h.joined = time.Time{}
		}
		return false
	}
	if h == nil {
		c.expire(now)
		h = &congestionHost{}
		c.hosts[src] = h
	}
	if !h.joined.IsZero() && now.Sub(h.joined) < aimdJoinedFor {
		return false
	}
	h.joined = now
	if h.last.IsZero() || now.Sub(h.last) >= aimdRunGap {
		h.runStart = now
	}
	h.last = now
	if now.Sub(c.lastCut) < aimdCutEvery {
		return false
	}
	floor := c.floor
	if now.Sub(h.runStart) >= aimdHostBudget {
		floor = c.max / aimdLateFloorDiv
	}
	if c.cur <= floor || (member != nil && !member(src)) {
		return false
	}
	c.lastCut = now
	c.cur = max(floor, c.cur*aimdCut)
	return true
}

// expire forgets hosts not heard for aimdHostTTL, at most once a second, and keeps the table
// under maxCongestionHosts by forgetting half of it (in map order, which is random) when it is
// full of hosts heard lately, as it is under a flood of forged sources.
func (c *aimd) expire(now time.Time) {
	if len(c.hosts) < maxCongestionHosts && now.Sub(c.swept) < time.Second {
		return
	}
	c.swept = now
	for a, h := range c.hosts {
		if now.Sub(h.last) >= aimdHostTTL {
			delete(c.hosts, a)
		}
	}
	if len(c.hosts) < maxCongestionHosts {
		return
	}
	for a := range c.hosts {
		if len(c.hosts) < maxCongestionHosts/2 {
			break
		}
		delete(c.hosts, a)
	}
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
