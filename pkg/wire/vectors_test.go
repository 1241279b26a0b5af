package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2s"
)

// loadVectors reads testdata/vectors.txt, written by the independent encoder
// testdata/vectors.py, into a map from vector name to bytes.
func loadVectors(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vec := make(map[string][]byte)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("vectors.txt: bad line %q", line)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("vectors.txt: %s: %v", name, err)
		}
		vec[name] = b
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vec
}

// vectorManifest is the manifest that vectors.py encodes as "manifest".
func vectorManifest() *Manifest {
	const mtime = 1700000000123456789
	return &Manifest{
		PageHeight: 4,
		Share:      "share",
		Generation: 7,
		Entries: []Entry{
			{Type: EntryDir, Mode: 0o755, MTime: mtime, Name: "share"},
			{Type: EntryFile, Mode: 0o644, MTime: mtime, Name: "share/a.txt", Size: 5, BlockShift: 14,
				Top: blake2s.Sum256([]byte("\x00hello"))},
			{Type: EntryFile, Mode: 0o600, MTime: -1, Name: "share/empty", BlockShift: 10},
			{Type: EntrySymlink, Mode: 0o777, MTime: mtime, Name: "share/link", Target: "a.txt"},
			{Type: EntryDir, Mode: 0o1777, Name: "share/sub"},
			{Type: EntrySymlink, Mode: 0o777, MTime: mtime, Name: "share/sub.lnk", Target: "sub/x"},
			{Type: EntryFile, Mode: 0o4755, MTime: mtime, Name: "share/sub/x", BlockShift: 20},
		},
	}
}

// vectorSingle is the single-file carousel manifest that vectors.py encodes as
// "manifest-single".
func vectorSingle() *Manifest {
	top := [HashLen]byte(bytes.Repeat([]byte{0xee}, HashLen))
	return &Manifest{
		Carousel:   true,
		PageHeight: 1,
		Share:      "f.iso",
		Generation: 1<<64 - 1,
		Entries:    []Entry{{Type: EntryFile, Mode: 0o644, Name: "f.iso", Size: 1 << 20, BlockShift: 20, Top: top}},
	}
}

func TestVectorBlock(t *testing.T) {
	vec := loadVectors(t)
	want := BlockPacket{Label: Label{1, 2, 3, 4, 5, 6, 7, 8}, Block: 5, Offset: 1024, Data: []byte("hello")}
	got, err := ParseBlock(vec["block"])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseBlock = %+v, want %+v", got, want)
	}
	if enc := AppendBlock(nil, want); !bytes.Equal(enc, vec["block"]) {
		t.Errorf("AppendBlock = %x, want %x", enc, vec["block"])
	}
}

func TestVectorTree(t *testing.T) {
	vec := loadVectors(t)
	hashes := append(bytes.Repeat([]byte{0x11}, HashLen), bytes.Repeat([]byte{0x22}, HashLen)...)
	want := TreePacket{Label: Label{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7}, Level: 1, Index: 2, Hashes: hashes}
	got, err := ParseTree(vec["tree"])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTree = %+v, want %+v", got, want)
	}
	if enc := AppendTree(nil, want); !bytes.Equal(enc, vec["tree"]) {
		t.Errorf("AppendTree = %x, want %x", enc, vec["tree"])
	}
}

func TestVectorManifests(t *testing.T) {
	vec := loadVectors(t)
	for _, tc := range []struct {
		name string
		m    *Manifest
	}{
		{"manifest", vectorManifest()},
		{"manifest-single", vectorSingle()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blob := vec[tc.name]
			got, err := UnmarshalManifest(blob)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.m) {
				t.Errorf("UnmarshalManifest =\n%+v\nwant\n%+v", got, tc.m)
			}
			enc, err := tc.m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, blob) {
				t.Errorf("MarshalBinary =\n%x\nwant\n%x", enc, blob)
			}
		})
	}
}

func TestVectorManifestChunks(t *testing.T) {
	vec := loadVectors(t)
	blob := vec["manifest"]
	if id := ManifestID(blob); id != [HashLen]byte(vec["manifest-id"]) {
		t.Errorf("ManifestID = %x, want %x", id, vec["manifest-id"])
	}
	chunks, err := ManifestChunks(blob, 100)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := 0; ; i++ {
		c, ok := vec[fmt.Sprintf("chunk-100-%d", i)]
		if !ok {
			break
		}
		want = append(want, c)
	}
	if !reflect.DeepEqual(chunks, want) {
		t.Errorf("ManifestChunks(blob, 100) = %x, want %x", chunks, want)
	}
	single, err := ManifestChunks(vec["manifest-single"], DefaultMaxDatagram)
	if err != nil {
		t.Fatal(err)
	}
	if len(single) != 1 || !bytes.Equal(single[0], vec["chunk-1452-0"]) {
		t.Errorf("ManifestChunks(single, 1452) = %x, want [%x]", single, vec["chunk-1452-0"])
	}
}
