package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

var testID = [HashLen]byte{0: 0x1d, 31: 0xd1}

func goodChunk() []byte {
	return AppendManifestChunk(nil, ManifestChunk{ID: testID, Total: 10, Offset: 4, Data: []byte("abc")})
}

func TestParseManifestChunk(t *testing.T) {
	good := goodChunk()
	cases := []struct {
		name string
		b    []byte
		want ManifestChunk
		err  error
		msg  string
	}{
		{"good", good, ManifestChunk{ID: testID, Total: 10, Offset: 4, Data: []byte("abc")}, nil, ""},
		{"whole blob", AppendManifestChunk(nil, ManifestChunk{Total: 3, Data: []byte("xyz")}),
			ManifestChunk{Total: 3, Data: []byte("xyz")}, nil, ""},
		{"last byte of largest blob", AppendManifestChunk(nil, ManifestChunk{Total: MaxManifestLen, Offset: MaxManifestLen - 1, Data: []byte{1}}),
			ManifestChunk{Total: MaxManifestLen, Offset: MaxManifestLen - 1, Data: []byte{1}}, nil, ""},
		{"empty piece", good[:ManifestChunkHeaderLen], ManifestChunk{}, ErrMalformed, "manifest packet: 44 bytes, need at least 45"},
		{"total zero", edit(good, put(36, 0, 0, 0, 0)), ManifestChunk{}, ErrMalformed, "total length 0 out of range"},
		{"total above 64 MiB", edit(good, put(36, 0x04, 0, 0, 1)), ManifestChunk{}, ErrMalformed, "total length 67108865"},
		{"total max uint32", edit(good, put(36, 0xff, 0xff, 0xff, 0xff)), ManifestChunk{}, ErrMalformed, "out of range"},
		{"piece past total", edit(good, put(40, 0, 0, 0, 8)), ManifestChunk{}, ErrMalformed, "piece [8, 11) ends past the total length 10"},
		{"offset at total", edit(good, put(40, 0, 0, 0, 10)), ManifestChunk{}, ErrMalformed, "ends past"},
		{"offset max uint32", edit(good, put(40, 0xff, 0xff, 0xff, 0xff)), ManifestChunk{}, ErrMalformed, "ends past"},
		{"bad magic", edit(good, put(0, 0)), ManifestChunk{}, ErrNotOurs, ""},
		{"newer version", edit(good, put(2, 2)), ManifestChunk{}, ErrVersion, ""},
		{"block type", edit(good, put(3, byte(TypeBlock))), ManifestChunk{}, ErrType, "got a block packet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseManifestChunk(tc.b)
			checkErr(t, err, tc.err, tc.msg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseManifestChunk = %+v, want %+v", got, tc.want)
			}
			if err == nil {
				if enc := AppendManifestChunk(nil, got); !bytes.Equal(enc, tc.b) {
					t.Errorf("re-appended %x, want %x", enc, tc.b)
				}
			}
		})
	}
}

func TestParseManifestChunkTruncated(t *testing.T) {
	good := goodChunk()
	for n := range len(good) + 1 {
		c, err := ParseManifestChunk(good[:n])
		if n <= ManifestChunkHeaderLen {
			checkErr(t, err, ErrMalformed, "")
			continue
		}
		checkErr(t, err, nil, "")
		if !bytes.Equal(c.Data, good[ManifestChunkHeaderLen:n]) {
			t.Errorf("length %d: Data = %q", n, c.Data)
		}
	}
}

// TestManifestID checks the domain separation against values computed with Python's
// hashlib.blake2s(b"lcsync/v1/manifest" + blob).hexdigest().
func TestManifestID(t *testing.T) {
	cases := []struct {
		name string
		blob string
		want string
	}{
		{"empty", "", "9721e37e85d6f9d3fe306cf7f1bc62f96cef4aca21b529da057732d69d26458d"},
		{"abc", "abc", "89a7c0cb126879f494f7db0cba0c83a291c2ef0410f02d39a5c524082d73028e"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ManifestID([]byte(tc.blob))
			if hex.EncodeToString(got[:]) != tc.want {
				t.Errorf("ManifestID(%q) = %x, want %s", tc.blob, got, tc.want)
			}
		})
	}
}

func TestManifestChunks(t *testing.T) {
	blob := bytes.Repeat([]byte("0123456789"), 100) // 1000 bytes
	cases := []struct {
		name        string
		blob        []byte
		maxDatagram int
		sizes       []int // data bytes per chunk
		fails       bool
	}{
		{"fits one", blob, DefaultMaxDatagram, []int{1000}, false},
		{"exact multiple", blob, ManifestChunkHeaderLen + 250, []int{250, 250, 250, 250}, false},
		{"short last", blob, ManifestChunkHeaderLen + 300, []int{300, 300, 300, 100}, false},
		{"one byte per chunk", blob[:3], ManifestChunkHeaderLen + 1, []int{1, 1, 1}, false},
		{"one byte blob", blob[:1], DefaultMaxDatagram, []int{1}, false},
		{"empty blob", nil, DefaultMaxDatagram, nil, true},
		{"no room for data", blob, ManifestChunkHeaderLen, nil, true},
		{"too big", make([]byte, MaxManifestLen+1), DefaultMaxDatagram, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunks, err := ManifestChunks(tc.blob, tc.maxDatagram)
			if (err != nil) != tc.fails {
				t.Fatalf("error = %v, want failure %v", err, tc.fails)
			}
			if tc.fails {
				return
			}
			id := ManifestID(tc.blob)
			var got []int
			var joined []byte
			for i, b := range chunks {
				if len(b) > tc.maxDatagram {
					t.Errorf("chunk %d is %d bytes, more than %d", i, len(b), tc.maxDatagram)
				}
				c, err := ParseManifestChunk(b)
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if c.ID != id || c.Total != uint32(len(tc.blob)) || c.Offset != uint32(len(joined)) {
					t.Errorf("chunk %d: id %x total %d offset %d, want %x %d %d", i, c.ID, c.Total, c.Offset, id, len(tc.blob), len(joined))
				}
				got = append(got, len(c.Data))
				joined = append(joined, c.Data...)
			}
			if !reflect.DeepEqual(got, tc.sizes) {
				t.Errorf("chunk sizes %v, want %v", got, tc.sizes)
			}
			if !bytes.Equal(joined, tc.blob) {
				t.Error("chunks do not reassemble to the blob")
			}
			// Appending to one chunk must not overwrite the next: they share a backing array.
			if len(chunks) > 1 {
				next := append([]byte(nil), chunks[1]...)
				_ = append(chunks[0], 0xff)
				if !bytes.Equal(chunks[1], next) {
					t.Error("appending to chunk 0 changed chunk 1")
				}
			}
		})
	}
}
