package mcast

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestAppendSegments(t *testing.T) {
	pattern := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		seg     int
		sizes   []int
	}{
		{"no GRO", pattern(1452), 0, []int{1452}},
		{"segment larger than payload", pattern(100), 1452, []int{100}},
		{"segment equal to payload", pattern(1452), 1452, []int{1452}},
		{"exact multiple", pattern(3 * 1452), 1452, []int{1452, 1452, 1452}},
		{"short last segment", pattern(2*1452 + 7), 1452, []int{1452, 1452, 7}},
		{"one-byte segments", pattern(4), 1, []int{1, 1, 1, 1}},
		{"empty datagram", nil, 0, []int{0}},
		{"empty datagram with segment size", nil, 1452, []int{0}},
		{"negative segment size", pattern(10), -3, []int{10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatch(1)
			b.reset()
			n := b.appendSegments(tc.payload, tc.seg, netip.Addr{})
			if n != len(tc.sizes) || b.Len() != len(tc.sizes) {
				t.Fatalf("appended %d (Len %d), want %d", n, b.Len(), len(tc.sizes))
			}
			var joined []byte
			for i, want := range tc.sizes {
				d := b.Datagram(i)
				if len(d) != want {
					t.Errorf("datagram %d has %d bytes, want %d", i, len(d), want)
				}
				if cap(d) != len(d) {
					t.Errorf("datagram %d: cap %d > len %d lets an append overwrite its neighbour", i, cap(d), len(d))
				}
				joined = append(joined, d...)
			}
			if !bytes.Equal(joined, tc.payload) {
				t.Errorf("segments do not reassemble the payload")
			}
		})
	}
}

func TestNewBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want int
	}{
		{"zero clamps to one", 0, 1},
		{"negative clamps to one", -5, 1},
		{"typical", 64, 64},
		{"huge clamps to UIO_MAXIOV", 5000, maxBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatch(tc.n)
			if len(b.msgs) != tc.want {
				t.Fatalf("NewBatch(%d) has %d messages, want %d", tc.n, len(b.msgs), tc.want)
			}
			for i, m := range b.msgs {
				if len(m.Buffers) != 1 || len(m.Buffers[0]) != maxMessage || len(m.OOB) != rxControlSpace {
					t.Fatalf("message %d: buffers %d x %d, oob %d", i, len(m.Buffers), len(m.Buffers[0]), len(m.OOB))
				}
			}
			if b.Len() != 0 {
				t.Errorf("new batch has Len %d", b.Len())
			}
		})
	}
}

// TestSegments checks the datagram count of a message that is dropped without being split.
func TestSegments(t *testing.T) {
	for _, tc := range []struct{ n, seg, want int }{
		{1452, 0, 1}, {100, 1452, 1}, {1452, 1452, 1}, {3 * 1452, 1452, 3}, {2*1452 + 7, 1452, 3},
		{4, 1, 4}, {0, 0, 1}, {0, 1452, 1}, {10, -3, 1},
	} {
		if got := segments(tc.n, tc.seg); got != tc.want {
			t.Errorf("segments(%d, %d) = %d, want %d", tc.n, tc.seg, got, tc.want)
		}
		// The same count appendSegments produces when the message is kept.
		b := NewBatch(1)
		b.reset()
		if got := b.appendSegments(make([]byte, tc.n), tc.seg, netip.Addr{}); got != tc.want {
			t.Errorf("appendSegments(%d bytes, %d) = %d, segments says %d", tc.n, tc.seg, got, tc.want)
		}
	}
}
