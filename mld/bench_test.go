package mld

import (
	"net/netip"
	"testing"
)

func BenchmarkParseReport(b *testing.B) {
	msg := captured(b)["v2-answer-six-records"]
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseReport(msg)
		if err != nil {
			b.Fatal(err)
		}
		for rec := range r.Records() {
			_ = rec.Group
		}
	}
}

// benchState returns a State on a fake clock holding n groups on link 1.
func benchState(b *testing.B, n int) (*State, *fakeClock) {
	clk := newFakeClock()
	cfg := DefaultConfig()
	cfg.Clock = clk
	s, err := NewState(cfg, []Link{{Index: 1, Name: "eth0", Addr: ourAddr}}, func(int, Query) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	l := s.links[1]
	for i := 0; i < n; i++ {
		s.join(l, groupN(i), netip.Addr{}, false, clk.Now())
	}
	s.TakeEvents(nil)
	return s, clk
}

// BenchmarkWanted measures the sender's per-group question on a default-sized filter (100k
// groups, 1 %) holding 1000 groups: a held group, and a group confirmed gone.
func BenchmarkWanted(b *testing.B) {
	b.Run("held", func(b *testing.B) {
		s, _ := benchState(b, 1000)
		g := groupN(500)
		b.ReportAllocs()
		for b.Loop() {
			if !s.Wanted(1, g) {
				b.Fatal("not wanted")
			}
		}
	})
	b.Run("gone", func(b *testing.B) {
		s, clk := benchState(b, 1000)
		g := groupN(5000)
		s.links[1].gone[g] = clk.Now().Add(s.t.goneTTL)
		b.ReportAllocs()
		for b.Loop() {
			if s.Wanted(1, g) {
				b.Fatal("wanted")
			}
		}
	})
	b.Run("listener-held", func(b *testing.B) {
		cfg := DefaultConfig()
		cfg.Clock = newFakeClock()
		l, err := newListener(cfg, []Link{{Index: 1, Name: "eth0", Addr: ourAddr}}, newFakeConn())
		if err != nil {
			b.Fatal(err)
		}
		g := groupN(1)
		l.state.join(l.state.links[1], g, netip.Addr{}, false, cfg.Clock.Now())
		b.ReportAllocs()
		for b.Loop() {
			if !l.Wanted(1, g) {
				b.Fatal("not wanted")
			}
		}
	})
}

// BenchmarkHandleReport applies a six-record report (four tracked groups) to a State.
func BenchmarkHandleReport(b *testing.B) {
	s, _ := benchState(b, 0)
	msg := captured(b)["v2-answer-six-records"]
	var joins []Event
	b.ReportAllocs()
	for b.Loop() {
		if err := handle(s, 1, host, msg); err != nil {
			b.Fatal(err)
		}
		joins = s.TakeEvents(joins[:0])
	}
}

// BenchmarkIdleTick is the periodic work of an idle State with a default-sized filter: the
// sweep returns at once when nothing is held.
func BenchmarkIdleTick(b *testing.B) {
	s, clk := benchState(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		clk.Advance(s.t.sweep)
		s.Tick()
	}
}
