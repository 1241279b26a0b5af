package receiver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// queueTransport is a Transport whose drops and queue fill a test sets; it records joins and
// leaves.
type queueTransport struct {
	drops       uint64
	used, limit int
	joins       []netip.Addr
	leaves      []netip.Addr
}

func (q *queueTransport) Join(g netip.Addr) error    { q.joins = append(q.joins, g); return nil }
func (q *queueTransport) Leave(g netip.Addr) error   { q.leaves = append(q.leaves, g); return nil }
func (q *queueTransport) Receive(func([]byte)) error { return nil }
func (q *queueTransport) Drops() uint64              { return q.drops }
func (q *queueTransport) Close() error               { return nil }

// fillTransport adds the optional QueueFiller capability.
type fillTransport struct{ *queueTransport }

func (f fillTransport) QueueFill() (int, int, error) { return f.used, f.limit, nil }

func TestCongestionSignal(t *testing.T) {
	q := &queueTransport{limit: 100}
	for _, tc := range []struct {
		name  string
		tr    Transport
		drops uint64
		used  int
		busy  bool
		join  bool
	}{
		{name: "quiet", tr: q},
		{name: "drops", tr: q, drops: 3, join: true},
		{name: "no new drops", tr: q, drops: 3},
		{name: "busy, no QueueFiller", tr: q, drops: 3, used: 90, busy: true},
		{name: "busy, queue half empty", tr: fillTransport{q}, drops: 3, used: 40, busy: true},
		{name: "busy, queue filling", tr: fillTransport{q}, drops: 3, used: 60, busy: true, join: true},
		{name: "not busy, queue filling", tr: fillTransport{q}, drops: 3, used: 60},
	} {
		s := newSession(Config{Name: "share", Transport: tc.tr, Scope: mcast.ScopeSite})
		s.manifest = &wire.Manifest{Share: "share"}
		q.drops, q.used, q.joins, q.leaves = tc.drops, tc.used, nil, nil
		c := congestionSignal{lastDrops: 3}
		if tc.name == "drops" {
			c.lastDrops = 0
		}
		now := time.Now()
		c.signal(s, now, tc.busy)
		if joined := len(q.joins) == 1; joined != tc.join || c.joined != tc.join {
			t.Errorf("%s: joined %v (%v), want %v", tc.name, joined, q.joins, tc.join)
			continue
		}
		if !tc.join {
			continue
		}
		if g := mcast.CongestionGroup(mcast.ScopeSite, "share"); q.joins[0] != g || s.stats.Slowdowns != 1 {
			t.Errorf("%s: joined %v (want %v), %d slowdowns", tc.name, q.joins[0], g, s.stats.Slowdowns)
		}
		// It stays joined for congestionHold, then leaves so the next signal is a new report.
		c.signal(s, now.Add(congestionHold/2), tc.busy)
		if len(q.leaves) != 0 {
			t.Errorf("%s: left before congestionHold", tc.name)
		}
		c.signal(s, now.Add(congestionHold), tc.busy)
		if len(q.leaves) != 1 || c.joined {
			t.Errorf("%s: still joined after congestionHold", tc.name)
		}
	}
}
