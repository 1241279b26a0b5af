package bloom

import (
	"math"
	"strings"
	"testing"
)

func TestNewSizing(t *testing.T) {
	cases := []struct {
		name      string
		cfg       Config
		wantSlots int
		wantK     int
	}{
		{"default", Config{}, 958528, 7},
		{"explicit default", Config{Capacity: 100_000, FalsePositive: 0.01}, 958528, 7},
		{"1k at 1%", Config{Capacity: 1000}, 9600, 7},
		{"10k at 0.1%", Config{Capacity: 10_000, FalsePositive: 0.001}, 143808, 10},
		{"k clamped to 1", Config{Capacity: 1000, FalsePositive: 0.9}, 256, 1},
		{"k clamped to 16", Config{Capacity: 1, FalsePositive: 0.5}, 64, 16},
		{"capacity 1 default rate", Config{Capacity: 1}, 64, 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.cfg)
			if err != nil {
				t.Fatalf("New(%+v): %v", tc.cfg, err)
			}
			if f.Slots() != tc.wantSlots || f.Hashes() != tc.wantK {
				t.Errorf("New(%+v): slots %d, hashes %d; want %d, %d", tc.cfg, f.Slots(), f.Hashes(), tc.wantSlots, tc.wantK)
			}
			if f.Slots()%64 != 0 {
				t.Errorf("slots %d not a multiple of 64", f.Slots())
			}
			if want := 5 * tc.wantSlots; f.Bytes() != want {
				t.Errorf("Bytes() = %d, want %d", f.Bytes(), want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"negative capacity", Config{Capacity: -1}, "capacity -1 is negative"},
		{"negative rate", Config{FalsePositive: -0.1}, "not in (0, 1)"},
		{"rate one", Config{FalsePositive: 1}, "not in (0, 1)"},
		{"rate above one", Config{FalsePositive: 1.5}, "not in (0, 1)"},
		{"rate NaN", Config{FalsePositive: math.NaN()}, "not in (0, 1)"},
		{"rate +Inf", Config{FalsePositive: math.Inf(1)}, "not in (0, 1)"},
		{"huge capacity", Config{Capacity: 1 << 30}, "more than the limit"},
		{"max int capacity", Config{Capacity: math.MaxInt}, "more than the limit"},
		{"tiny rate", Config{FalsePositive: 1e-300}, "more than the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %d slots, want an error", tc.cfg, f.Slots())
			}
			if !strings.HasPrefix(err.Error(), "bloom: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New(%+v) error %q, want prefix \"bloom: \" and %q", tc.cfg, err, tc.wantErr)
			}
		})
	}
}
