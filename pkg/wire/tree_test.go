package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// hashes returns n distinct 32-byte hashes, hash i filled with byte i+1.
func hashes(n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, bytes.Repeat([]byte{byte(i + 1)}, HashLen)...)
	}
	return b
}

func goodTree() []byte {
	return AppendTree(nil, TreePacket{Label: testLabel, Level: 3, Index: 4, Hashes: hashes(2)})
}

func TestParseTree(t *testing.T) {
	good := goodTree()
	cases := []struct {
		name string
		b    []byte
		want TreePacket
		err  error
		msg  string
	}{
		{"good", good, TreePacket{Label: testLabel, Level: 3, Index: 4, Hashes: hashes(2)}, nil, ""},
		{"one hash", good[:TreeHeaderLen+HashLen], TreePacket{Label: testLabel, Level: 3, Index: 4, Hashes: hashes(1)}, nil, ""},
		{"leaves, last index", AppendTree(nil, TreePacket{Index: 1<<32 - 1, Hashes: hashes(1)}),
			TreePacket{Index: 1<<32 - 1, Hashes: hashes(1)}, nil, ""},
		{"top level", AppendTree(nil, TreePacket{Level: MaxLevel, Hashes: hashes(1)}),
			TreePacket{Level: MaxLevel, Hashes: hashes(1)}, nil, ""},
		{"level 31, both nodes", AppendTree(nil, TreePacket{Level: 31, Hashes: hashes(2)}),
			TreePacket{Level: 31, Hashes: hashes(2)}, nil, ""},
		{"no hash", good[:TreeHeaderLen], TreePacket{}, ErrMalformed, "tree packet: 20 bytes, need at least 52"},
		{"partial hash", good[:TreeHeaderLen+HashLen-1], TreePacket{}, ErrMalformed, "51 bytes"},
		{"trailing bytes", append(goodTree(), 0), TreePacket{}, ErrMalformed, "65 hash bytes are not a multiple of 32"},
		{"reserved byte 13", edit(good, put(13, 1)), TreePacket{}, ErrMalformed, "reserved"},
		{"reserved byte 15", edit(good, put(15, 0x80)), TreePacket{}, ErrMalformed, "reserved"},
		{"level above top", AppendTree(nil, TreePacket{Level: MaxLevel + 1, Hashes: hashes(1)}), TreePacket{}, ErrMalformed,
			"level 33 above the highest level 32"},
		{"level 255", AppendTree(nil, TreePacket{Level: 255, Hashes: hashes(1)}), TreePacket{}, ErrMalformed, "level 255"},
		{"past the leaves", AppendTree(nil, TreePacket{Index: 1<<32 - 1, Hashes: hashes(2)}), TreePacket{}, ErrMalformed,
			"nodes [4294967295, 4294967297) at level 0 exceed the 4294967296 nodes"},
		{"past the top level", AppendTree(nil, TreePacket{Level: MaxLevel, Index: 1, Hashes: hashes(1)}), TreePacket{}, ErrMalformed,
			"at level 32 exceed the 1 nodes"},
		{"two top nodes", AppendTree(nil, TreePacket{Level: MaxLevel, Hashes: hashes(2)}), TreePacket{}, ErrMalformed, ""},
		{"bad magic", edit(good, put(1, 0)), TreePacket{}, ErrNotOurs, ""},
		{"newer version", edit(good, put(2, 7)), TreePacket{}, ErrVersion, ""},
		{"block type", edit(good, put(3, byte(TypeBlock))), TreePacket{}, ErrType, "tree packet: got a block packet"},
		{"unknown type", edit(good, put(3, 0)), TreePacket{}, ErrType, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTree(tc.b)
			checkErr(t, err, tc.err, tc.msg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseTree = %+v, want %+v", got, tc.want)
			}
			if err == nil {
				if enc := AppendTree(nil, got); !bytes.Equal(enc, tc.b) {
					t.Errorf("re-appended %x, want %x", enc, tc.b)
				}
			}
		})
	}
}

// TestParseTreeTruncated cuts a two-hash packet at every length: only the lengths that end on
// a whole hash parse.
func TestParseTreeTruncated(t *testing.T) {
	good := goodTree()
	for n := range len(good) + 1 {
		p, err := ParseTree(good[:n])
		switch n {
		case TreeHeaderLen + HashLen, TreeHeaderLen + 2*HashLen:
			checkErr(t, err, nil, "")
			if want := (n - TreeHeaderLen) / HashLen; p.Count() != want {
				t.Errorf("length %d: Count = %d, want %d", n, p.Count(), want)
			}
		default:
			checkErr(t, err, ErrMalformed, "")
		}
	}
}

func TestTreeHash(t *testing.T) {
	p, err := ParseTree(goodTree())
	if err != nil {
		t.Fatal(err)
	}
	if p.Count() != 2 {
		t.Fatalf("Count = %d, want 2", p.Count())
	}
	for i := range p.Count() {
		want := [HashLen]byte(bytes.Repeat([]byte{byte(i + 1)}, HashLen))
		if got := p.Hash(i); got != want {
			t.Errorf("Hash(%d) = %x, want %x", i, got, want)
		}
	}
}
