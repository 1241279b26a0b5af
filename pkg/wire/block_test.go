package wire

import (
	"bytes"
	"reflect"
	"testing"
)

var testLabel = Label{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3}

func goodBlock() []byte {
	return AppendBlock(nil, BlockPacket{Label: testLabel, Block: 7, Offset: 100, Data: []byte("data")})
}

func TestParseBlock(t *testing.T) {
	good := goodBlock()
	cases := []struct {
		name string
		b    []byte
		want BlockPacket
		err  error
		msg  string
	}{
		{"good", good, BlockPacket{Label: testLabel, Block: 7, Offset: 100, Data: []byte("data")}, nil, ""},
		{"one byte piece", AppendBlock(nil, BlockPacket{Label: testLabel, Data: []byte{0}}),
			BlockPacket{Label: testLabel, Data: []byte{0}}, nil, ""},
		{"piece ends at largest block size", AppendBlock(nil, BlockPacket{Block: 1<<32 - 1, Offset: MaxBlockSize - 2, Data: []byte{1, 2}}),
			BlockPacket{Block: 1<<32 - 1, Offset: MaxBlockSize - 2, Data: []byte{1, 2}}, nil, ""},
		{"whole largest block", AppendBlock(nil, BlockPacket{Data: make([]byte, MaxBlockSize)}),
			BlockPacket{Data: make([]byte, MaxBlockSize)}, nil, ""},
		{"empty piece", good[:BlockHeaderLen], BlockPacket{}, ErrMalformed, "block packet: 20 bytes, need at least 21"},
		{"header only", good[:HeaderLen], BlockPacket{}, ErrMalformed, "4 bytes, need at least 21"},
		{"piece ends past largest block size", edit(good, put(16, 0x00, 0x0f, 0xff, 0xfe)), BlockPacket{}, ErrMalformed,
			"piece [1048574, 1048578) of block 7 ends past"},
		{"offset would overflow 32 bits", edit(good, put(16, 0xff, 0xff, 0xff, 0xff)), BlockPacket{}, ErrMalformed, "ends past"},
		{"bad magic", edit(good, put(0, 'L', 'C')), BlockPacket{}, ErrNotOurs, ""},
		{"newer version", edit(good, put(2, 2)), BlockPacket{}, ErrVersion, ""},
		{"tree type", edit(good, put(3, byte(TypeTree))), BlockPacket{}, ErrType, "block packet: got a tree packet"},
		{"manifest type", edit(good, put(3, byte(TypeManifest))), BlockPacket{}, ErrType, ""},
		{"unknown type", edit(good, put(3, 9)), BlockPacket{}, ErrType, "type 9"},
		{"empty", nil, BlockPacket{}, ErrMalformed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBlock(tc.b)
			checkErr(t, err, tc.err, tc.msg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseBlock = %+v, want %+v", got, tc.want)
			}
			if err == nil {
				if enc := AppendBlock(nil, got); !bytes.Equal(enc, tc.b) {
					t.Errorf("re-appended %x, want %x", enc, tc.b)
				}
			}
		})
	}
}

// TestParseBlockTruncated cuts a good packet at every length: below the header plus one byte
// it must fail as malformed (or, below the magic, as not ours only if a magic byte is wrong),
// above it the piece just gets shorter.
func TestParseBlockTruncated(t *testing.T) {
	good := goodBlock()
	for n := range len(good) + 1 {
		p, err := ParseBlock(good[:n])
		if n <= BlockHeaderLen {
			checkErr(t, err, ErrMalformed, "")
			continue
		}
		checkErr(t, err, nil, "")
		if !bytes.Equal(p.Data, good[BlockHeaderLen:n]) {
			t.Errorf("length %d: Data = %q, want %q", n, p.Data, good[BlockHeaderLen:n])
		}
	}
}

func TestParseBlockAliases(t *testing.T) {
	b := goodBlock()
	p, err := ParseBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	b[BlockHeaderLen] = 'D'
	if string(p.Data) != "Data" {
		t.Errorf("Data = %q after changing the datagram, want it to alias the datagram", p.Data)
	}
}

func TestAppendBlockAppends(t *testing.T) {
	prefix := []byte("prefix")
	b := AppendBlock(prefix, BlockPacket{Label: testLabel, Block: 1, Data: []byte{9}})
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("AppendBlock dropped dst: %x", b)
	}
	if _, err := ParseBlock(b[len(prefix):]); err != nil {
		t.Fatal(err)
	}
}
