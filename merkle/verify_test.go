package merkle

import (
	"errors"
	"testing"
)

func TestVerifyBlock(t *testing.T) {
	data := patternBytes(3*1024 + 100)
	tree := buildBytes(t, data, 1024)
	flipped := append([]byte(nil), data[1024:2048]...)
	flipped[17] ^= 0x40
	tests := []struct {
		name     string
		i        int
		data     []byte
		ok       bool
		mismatch bool
	}{
		{"first", 0, data[:1024], true, false},
		{"short last", 3, data[3072:], true, false},
		{"flipped bit", 1, flipped, false, true},
		{"other block", 1, data[:1024], false, true},
		{"too short", 0, data[:1023], false, false},
		{"too long last", 3, data[3000:], false, false},
		{"negative index", -1, data[:1024], false, false},
		{"index beyond", 4, data[:100], false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tree.VerifyBlock(tc.i, tc.data)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyBlock = %v, want ok=%v", err, tc.ok)
			}
			if errors.Is(err, ErrMismatch) != tc.mismatch {
				t.Fatalf("errors.Is(%v, ErrMismatch) = %v, want %v", err, !tc.mismatch, tc.mismatch)
			}
		})
	}
}
