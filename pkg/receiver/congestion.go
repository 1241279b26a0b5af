package receiver

import (
	"time"
)

// congestionSignal tells the sender, through the share's congestion channel, that this
// receiver drops datagrams (PROTOCOL.md §5.5). It is the reader goroutine's alone.
type congestionSignal struct {
	joined    bool
	at        time.Time // when it joined
	lastDrops uint64    // the socket's drops at the last signal
}

// congestionHold is how long a receiver stays joined to the congestion channel per signal.
const congestionHold = 50 * time.Millisecond

// signal joins the congestion channel when the socket dropped datagrams or, when busy (the
// last read was a full batch), when its queue is filling: joining emits an MLD report the
// sender overhears. Leaving again soon after lets the next signal emit a new report.
func (c *congestionSignal) signal(s *session, now time.Time, busy bool) {
	if s.cfg.NoCongestionSignal {
		return
	}
	s.mu.Lock() // the manifest that keys the channel is set by the controller for version 2
	g := s.congestionGroup()
	s.mu.Unlock()
	tr := s.cfg.Transport
	if c.joined {
		if now.Sub(c.at) >= congestionHold {
			_ = tr.Leave(g)
			c.joined = false
		}
		return
	}
	drops := tr.Drops()
	if drops <= c.lastDrops && (!busy || !queueFilling(tr)) {
		return
	}
	c.lastDrops = drops
	s.mu.Lock()
	carousel := s.manifest != nil && s.manifest.Carousel
	if !carousel {
		s.stats.Slowdowns++
	}
	s.mu.Unlock()
	if carousel || tr.Join(g) != nil {
		return
	}
	c.joined, c.at = true, now
}

// queueFilling reports whether the socket's receive queue is more than half full: the reader is
// falling behind, and drops will follow unless the sender slows down. A transport that cannot
// tell (no QueueFiller) is never filling.
func queueFilling(tr Transport) bool {
	q, ok := tr.(QueueFiller)
	if !ok {
		return false
	}
	used, limit, err := q.QueueFill()
	return err == nil && limit > 0 && 2*used > limit
}
