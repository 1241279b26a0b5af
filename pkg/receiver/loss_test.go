package receiver

import (
	"math"
	"testing"
)

// TestLossMeter: the estimate is withheld until lossMin pieces were seen, datagrams the socket
// dropped itself are not counted as loss on the way, and old samples fade.
func TestLossMeter(t *testing.T) {
	var m lossMeter
	m.add(lossMin/2, 0)
	if _, ok := m.rate(); ok {
		t.Fatal("an estimate from fewer than lossMin pieces")
	}
	// 3% lost, a third of it overruns: 2% lost on the way.
	m = lossMeter{}
	m.add(9700, 300)
	m.overrun(100)
	m.add(9700, 300)
	m.overrun(100)
	if p, ok := m.rate(); !ok || math.Abs(p-0.02) > 1e-9 {
		t.Fatalf("rate %v %v, want 0.02", p, ok)
	}
	// More overruns than losses: no loss on the way, not a negative one.
	m.overrun(10000)
	if p, _ := m.rate(); p != 0 {
		t.Fatalf("rate %v with overruns covering every loss", p)
	}
	// A lossless stretch longer than the window: the early loss fades below 1%.
	m = lossMeter{}
	m.add(9000, 1000)
	for range 8 {
		m.add(lossWindow/2, 0)
	}
	if p, ok := m.rate(); !ok || p >= 0.01 {
		t.Fatalf("rate %v %v after a long lossless stretch", p, ok)
	}
}

// TestLayersFor: no parity without loss, more layers for more loss, and never more than
// the protocol has.
func TestLayersFor(t *testing.T) {
	prev := 0
	for _, p := range []float64{0, 0.001, 0.02, 0.05, 0.1, 0.3} {
		r := layersFor(p, 12, 1)
		if p == 0 && r != 0 || r < prev || r > 8 {
			t.Fatalf("layersFor(%v) = %d (previous %d)", p, r, prev)
		}
		prev = r
	}
	if layersFor(0.05, 12, 1) == 0 {
		t.Fatal("no parity at 5% loss")
	}
}
