package wire

import "testing"

func TestPeekType(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want Type
		err  error
		msg  string
	}{
		{"manifest", []byte{0x6c, 0x63, 1, 1}, TypeManifest, nil, ""},
		{"tree", []byte{0x6c, 0x63, 1, 2, 0xff}, TypeTree, nil, ""},
		{"block", []byte{0x6c, 0x63, 1, 3}, TypeBlock, nil, ""},
		{"empty", nil, 0, ErrMalformed, "0 bytes, need at least 4"},
		{"magic only", []byte{0x6c, 0x63}, 0, ErrMalformed, "2 bytes"},
		{"first byte only", []byte{0x6c}, 0, ErrMalformed, "1 bytes"},
		{"wrong first byte short", []byte{0x00}, 0, ErrNotOurs, "magic"},
		{"wrong first byte", []byte{0x00, 0x63, 1, 3}, 0, ErrNotOurs, ""},
		{"wrong second byte", []byte{0x6c, 0x64, 1, 3}, 0, ErrNotOurs, ""},
		{"version 0", []byte{0x6c, 0x63, 0, 3}, 0, ErrVersion, "version 0"},
		{"version 2", []byte{0x6c, 0x63, 2, 3}, 0, ErrVersion, "version 2"},
		{"type 0", []byte{0x6c, 0x63, 1, 0}, 0, ErrType, "type 0"},
		{"type 4 (end)", []byte{0x6c, 0x63, 1, 4}, TypeEnd, nil, ""},
		{"type 5 (parity)", []byte{0x6c, 0x63, 1, 5}, TypeParity, nil, ""},
		{"type 6 (statement)", []byte{0x6c, 0x63, 1, 6}, TypeStatement, nil, ""},
		{"type 7 (object)", []byte{0x6c, 0x63, 1, 7}, TypeObject, nil, ""},
		{"type 8", []byte{0x6c, 0x63, 1, 8}, 0, ErrType, "type 8"},
		{"type 255", []byte{0x6c, 0x63, 1, 255}, 0, ErrType, "type 255"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PeekType(tc.b)
			checkErr(t, err, tc.err, tc.msg)
			if got != tc.want {
				t.Errorf("PeekType = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	cases := []struct {
		t    Type
		want string
	}{
		{TypeManifest, "manifest"},
		{TypeTree, "tree"},
		{TypeBlock, "block"},
		{TypeEnd, "end"},
		{TypeParity, "parity"},
		{TypeStatement, "statement"},
		{0, "type(0)"},
		{200, "type(200)"},
	}
	for _, tc := range cases {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tc.t), got, tc.want)
		}
	}
}

func TestMaxDatagram(t *testing.T) {
	cases := []struct {
		name  string
		mtu   int
		want  int
		fails bool
	}{
		{"default", DefaultMTU, 1452, false},
		{"ipv6 minimum", 1280, 1232, false},
		{"jumbo", 9000, 8952, false},
		{"largest", 65535, 65487, false},
		{"below ipv6 minimum", 1279, 0, true},
		{"zero", 0, 0, true},
		{"negative", -1500, 0, true},
		{"above udp maximum", 65536, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MaxDatagram(tc.mtu)
			if (err != nil) != tc.fails {
				t.Fatalf("MaxDatagram(%d) error = %v, want failure %v", tc.mtu, err, tc.fails)
			}
			if got != tc.want {
				t.Errorf("MaxDatagram(%d) = %d, want %d", tc.mtu, got, tc.want)
			}
		})
	}
	if DefaultMaxDatagram != 1452 {
		t.Errorf("DefaultMaxDatagram = %d, want 1452", DefaultMaxDatagram)
	}
}

func TestPayloads(t *testing.T) {
	cases := []struct {
		name                  string
		max                   int
		block, hashes, chunks int
	}{
		{"default", 1452, 1432, 44, 1408},
		{"ipv6 minimum", 1232, 1212, 37, 1188},
		{"header only", 20, 0, 0, 0},
		{"one hash", 52, 32, 1, 8},
		{"negative", -5, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := BlockPayload(tc.max); got != tc.block {
				t.Errorf("BlockPayload(%d) = %d, want %d", tc.max, got, tc.block)
			}
			if got := TreeHashes(tc.max); got != tc.hashes {
				t.Errorf("TreeHashes(%d) = %d, want %d", tc.max, got, tc.hashes)
			}
			if got := ManifestChunkPayload(tc.max); got != tc.chunks {
				t.Errorf("ManifestChunkPayload(%d) = %d, want %d", tc.max, got, tc.chunks)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	var h [HashLen]byte
	for i := range h {
		h[i] = byte(i + 0xf0)
	}
	l := LabelOf(h)
	if want := (Label{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7}); l != want {
		t.Errorf("LabelOf = %v, want %v", l, want)
	}
	if got := l.String(); got != "f0f1f2f3f4f5f6f7" {
		t.Errorf("Label.String() = %q", got)
	}
}
