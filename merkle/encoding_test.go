package merkle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, bs := range []int{1024, 16384} {
		for _, size := range []int{0, 1, bs - 1, bs, bs + 1, 3*bs - 1, 9*bs - 5, 100*bs + 1} {
			t.Run(fmt.Sprintf("bs%d/size%d", bs, size), func(t *testing.T) {
				tree := buildBytes(t, patternBytes(size), bs)
				enc, err := tree.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if len(enc) != EncodedLen(tree.Shape()) {
					t.Fatalf("%d bytes, EncodedLen says %d", len(enc), EncodedLen(tree.Shape()))
				}
				dec, err := Unmarshal(enc)
				if err != nil {
					t.Fatal(err)
				}
				if dec.Root() != tree.Root() || !equalNodes(dec, tree) {
					t.Fatal("decoded tree differs")
				}
				prefix := []byte("prefix")
				app, err := tree.AppendBinary(prefix)
				if err != nil || !bytes.Equal(app[:len(prefix)], prefix) || !bytes.Equal(app[len(prefix):], enc) {
					t.Fatal("AppendBinary does not append the encoding")
				}
			})
		}
	}
}

// TestUnmarshalRejectsBitFlips flips every bit of a valid multi-block
// encoding. Every flip must be rejected, except a flip in the size field that
// keeps the same block count: the encoding has no redundancy for that, and
// the recomputed root (which commits to the size) differs from the original.
func TestUnmarshalRejectsBitFlips(t *testing.T) {
	for _, size := range []int{2*1024 + 10, 5000, 33 * 1024} {
		tree := buildBytes(t, patternBytes(size), 1024)
		enc, err := tree.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		accepted := 0
		for bit := 0; bit < 8*len(enc); bit++ {
			mut := append([]byte(nil), enc...)
			mut[bit/8] ^= 1 << (bit % 8)
			dec, err := Unmarshal(mut)
			sizeField := bit/8 >= 8 && bit/8 < 16
			sameShape := false
			if sizeField {
				s, serr := NewShape(int64(binary.BigEndian.Uint64(mut[8:])), 1024)
				sameShape = serr == nil && s.Nodes() == tree.Shape().Nodes()
			}
			if sizeField && sameShape {
				if err != nil {
					t.Fatalf("size %d, bit %d: a size with the same shape rejected: %v", size, bit, err)
				}
				if dec.Root() == tree.Root() {
					t.Fatalf("size %d, bit %d: size changed but root did not", size, bit)
				}
				accepted++
				continue
			}
			if err == nil {
				t.Fatalf("size %d: flip of bit %d (byte %d) accepted", size, bit, bit/8)
			}
		}
		if accepted > 10 {
			t.Fatalf("size %d: %d size flips accepted, expected only low bits", size, accepted)
		}
	}
}

// TestUnmarshalSingleBlockCaveat documents the one structural blind spot: a
// single-block tree is just its leaf, so a changed leaf decodes, but to a
// different root.
func TestUnmarshalSingleBlockCaveat(t *testing.T) {
	tree := buildBytes(t, patternBytes(100), 1024)
	enc, _ := tree.MarshalBinary()
	enc[EncodingHeaderSize] ^= 1
	dec, err := Unmarshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Root() == tree.Root() {
		t.Fatal("changed leaf kept the root")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tree := buildBytes(t, patternBytes(5000), 1024)
	valid, _ := tree.MarshalBinary()
	empty, _ := buildBytes(t, nil, 1024).MarshalBinary()
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), valid...)) }
	header := func(lbs byte, size uint64) []byte {
		b := append([]byte("LCMT"), 1, lbs, 0, 0)
		return binary.BigEndian.AppendUint64(b, size)
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"nil", nil, "shorter than its 16-byte header"},
		{"header only short", valid[:15], "shorter than"},
		{"truncated by one", valid[:len(valid)-1], "want 368"},
		{"truncated by a hash", valid[:len(valid)-32], "want 368"},
		{"extended by one", append(append([]byte(nil), valid...), 0), "want 368"},
		{"extended by a hash", append(append([]byte(nil), valid...), make([]byte, 32)...), "want 368"},
		{"empty tree with a node", append(append([]byte(nil), empty...), make([]byte, 32)...), "want 16"},
		{"bad magic", with(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"version 0", with(func(b []byte) []byte { b[4] = 0; return b }), "version 0"},
		{"version 2", with(func(b []byte) []byte { b[4] = 2; return b }), "version 2"},
		{"version 255", with(func(b []byte) []byte { b[4] = 255; return b }), "version 255"},
		{"block size 2^0", with(func(b []byte) []byte { b[5] = 0; return b }), "log2 block size 0"},
		{"block size 2^9", with(func(b []byte) []byte { b[5] = 9; return b }), "log2 block size 9"},
		{"block size 2^21", with(func(b []byte) []byte { b[5] = 21; return b }), "log2 block size 21"},
		{"block size 2^255", with(func(b []byte) []byte { b[5] = 255; return b }), "log2 block size 255"},
		{"reserved", with(func(b []byte) []byte { b[7] = 1; return b }), "reserved"},
		{"size beyond int64", header(10, 1<<63), "more than the largest file"},
		{"size with too many blocks", header(10, 1<<50), "more than the limit"},
		{"huge size, header only", header(20, 1<<40), "want 67108848"},
		{"swapped children", with(func(b []byte) []byte {
			n := len(b)
			a := append([]byte(nil), b[n-64:n-32]...)
			copy(b[n-64:], b[n-32:])
			copy(b[n-32:], a)
			return b
		}), "node (1, 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := Unmarshal(tc.data)
			if err == nil || tree != nil {
				t.Fatalf("Unmarshal accepted %d bytes", len(tc.data))
			}
			if !strings.HasPrefix(err.Error(), "merkle: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want it to contain %q", err, tc.msg)
			}
		})
	}
	_, err := Unmarshal(with(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }))
	if !errors.Is(err, ErrMismatch) {
		t.Errorf("inconsistent node: %v does not wrap ErrMismatch", err)
	}
}

// FuzzUnmarshal checks that Unmarshal never panics and that whatever it
// accepts re-encodes to exactly the same bytes.
func FuzzUnmarshal(f *testing.F) {
	for _, size := range []int{0, 1, 1025, 5000} {
		tree := buildBytes(f, patternBytes(size), 1024)
		enc, _ := tree.MarshalBinary()
		f.Add(enc)
	}
	f.Add([]byte("LCMT\x01\x0a\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := Unmarshal(data)
		if err != nil {
			if tree != nil {
				t.Fatal("tree returned with an error")
			}
			return
		}
		enc, err := tree.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatal("accepted input does not re-encode identically")
		}
		if tree.Root() != RootOf(tree.Shape(), tree.Top()) {
			t.Fatal("root not recomputed")
		}
	})
}
