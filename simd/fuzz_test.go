package simd

import (
	"encoding/binary"
	"slices"
	"testing"
)

// fuzzTimers decodes timers from data, four bytes each. A word whose top byte
// is 0x80 encodes now plus its low byte as a signed delta, so the fuzzer
// reaches t == now and t == now±1 without having to guess 32-bit values.
func fuzzTimers(data []byte, now uint32) []uint32 {
	t := make([]uint32, len(data)/4)
	for i := range t {
		w := binary.LittleEndian.Uint32(data[4*i:])
		if w>>24 == 0x80 {
			w = now + uint32(int32(int8(w)))
		}
		t[i] = w
	}
	return t
}

// FuzzSweep compares the dispatched Sweep with the reference. The first
// quarter of the input (one byte per slot) is the counters and the rest the
// timers.
func FuzzSweep(f *testing.F) {
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{1, 0x05, 0, 0, 0x80}, uint32(5))                       // one timer equal to now
	f.Add(slices.Repeat([]byte{0xff, 0x01, 0, 0, 0x80}, 70), uint32(0)) // 70 slots, just past one block
	f.Add(slices.Repeat([]byte{0x7f, 0xff, 0xff, 0xff, 0xff}, 129), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, data []byte, now uint32) {
		n := len(data) / 5
		c := slices.Clone(data[:n])
		tm := fuzzTimers(data[n:n+4*n], now)
		refC, refT := slices.Clone(c), slices.Clone(tm)
		want := sweepRef(refC, refT, now)
		got := Sweep(c, tm, now)
		if got != want || !slices.Equal(c, refC) || !slices.Equal(tm, refT) {
			t.Fatalf("Sweep(n=%d, now=%#x) = %d, want %d; counters equal %v, timers equal %v",
				n, now, got, want, slices.Equal(c, refC), slices.Equal(tm, refT))
		}
		gc, gt := slices.Clone(data[:n]), fuzzTimers(data[n:n+4*n], now)
		if g := sweepGeneric(gc, gt, now); g != want || !slices.Equal(gc, refC) || !slices.Equal(gt, refT) {
			t.Fatalf("sweepGeneric(n=%d, now=%#x) = %d, want %d", n, now, g, want)
		}
	})
}

// FuzzRebase compares the dispatched Rebase with the reference.
func FuzzRebase(f *testing.F) {
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{0x05, 0, 0, 0x80, 0x04, 0, 0, 0x80}, uint32(5))
	f.Add(slices.Repeat([]byte{0x01, 0x02, 0x03, 0x04}, 130), uint32(0x04030201))
	f.Fuzz(func(t *testing.T, data []byte, base uint32) {
		tm := fuzzTimers(data, base)
		want := slices.Clone(tm)
		rebaseRef(want, base)
		gen := slices.Clone(tm)
		rebaseGeneric(gen, base)
		Rebase(tm, base)
		if !slices.Equal(tm, want) || !slices.Equal(gen, want) {
			t.Fatalf("Rebase(n=%d, base=%#x): dispatched equal %v, generic equal %v",
				len(tm), base, slices.Equal(tm, want), slices.Equal(gen, want))
		}
	})
}

// FuzzCountNonZero compares the dispatched CountNonZero with the reference.
func FuzzCountNonZero(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0x80, 0xff})
	f.Add(append(make([]byte, 200), 1))
	f.Fuzz(func(t *testing.T, c []byte) {
		want := countNonZeroRef(c)
		if got := CountNonZero(c); got != want {
			t.Fatalf("CountNonZero(len %d) = %d, want %d", len(c), got, want)
		}
		if got := countNonZeroGeneric(c); got != want {
			t.Fatalf("countNonZeroGeneric(len %d) = %d, want %d", len(c), got, want)
		}
	})
}
