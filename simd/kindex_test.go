package simd

import (
	"slices"
	"testing"
)

func TestCounterAt(t *testing.T) {
	cases := []struct {
		name    string
		op      func([]uint8, []uint32)
		in      []uint8
		idx     []uint32
		want    []uint8
		wantMin uint8 // MinAt(in, idx), before the operation
	}{
		{"inc", IncAt, []uint8{0, 1, 2, 3}, []uint32{0, 2}, []uint8{1, 1, 3, 3}, 0},
		{"inc saturates at 255", IncAt, []uint8{254, 255}, []uint32{0, 1}, []uint8{255, 255}, 254},
		{"inc repeated index", IncAt, []uint8{0, 0}, []uint32{1, 1, 1}, []uint8{0, 3}, 0},
		{"inc no indices", IncAt, []uint8{4}, nil, []uint8{4}, 255},
		{"dec", DecAt, []uint8{5, 1, 2}, []uint32{0, 1}, []uint8{4, 0, 2}, 1},
		{"dec saturates at 0", DecAt, []uint8{0, 1}, []uint32{0, 1}, []uint8{0, 0}, 0},
		{"dec leaves 255 sticky", DecAt, []uint8{255, 254}, []uint32{0, 1}, []uint8{255, 253}, 254},
		{"dec repeated index", DecAt, []uint8{3}, []uint32{0, 0}, []uint8{1}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := slices.Clone(tc.in)
			if got := MinAt(c, tc.idx); got != tc.wantMin {
				t.Errorf("MinAt = %d, want %d", got, tc.wantMin)
			}
			tc.op(c, tc.idx)
			if !slices.Equal(c, tc.want) {
				t.Errorf("counters = %v, want %v", c, tc.want)
			}
		})
	}
}

func TestTimerAt(t *testing.T) {
	cases := []struct {
		name    string
		in      []uint32
		idx     []uint32
		v       uint32
		want    []uint32
		wantMin uint32 // MinAt32(want, idx)
	}{
		{"raise", []uint32{1, 2, 3}, []uint32{0, 1}, 2, []uint32{2, 2, 3}, 2},
		{"never lowers", []uint32{9, 0}, []uint32{0, 1}, 5, []uint32{9, 5}, 5},
		{"max value", []uint32{0}, []uint32{0}, 0xffffffff, []uint32{0xffffffff}, 0xffffffff},
		{"no indices", []uint32{7}, nil, 100, []uint32{7}, 0xffffffff},
		{"min over subset", []uint32{1, 50, 40}, []uint32{1, 2}, 0, []uint32{1, 50, 40}, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm := slices.Clone(tc.in)
			RaiseAt(tm, tc.idx, tc.v)
			if !slices.Equal(tm, tc.want) {
				t.Errorf("timers = %v, want %v", tm, tc.want)
			}
			if got := MinAt32(tm, tc.idx); got != tc.wantMin {
				t.Errorf("MinAt32 = %d, want %d", got, tc.wantMin)
			}
		})
	}
}

// TestIncDecRoundTrip checks that k increments followed by k decrements
// restore every counter below saturation, and that saturated ones stay.
func TestIncDecRoundTrip(t *testing.T) {
	c := make([]uint8, 8)
	c[7] = 250
	idx := []uint32{0, 3, 7}
	for range 10 {
		IncAt(c, idx)
	}
	if c[0] != 10 || c[3] != 10 || c[7] != 255 {
		t.Fatalf("after 10 IncAt: %v", c)
	}
	for range 10 {
		DecAt(c, idx)
	}
	if c[0] != 0 || c[3] != 0 || c[7] != 255 {
		t.Fatalf("after 10 DecAt: %v, want 0 at 0 and 3 and a sticky 255 at 7", c)
	}
}
