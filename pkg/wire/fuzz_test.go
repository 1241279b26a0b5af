package wire

import (
	"bytes"
	"errors"
	"path"
	"strings"
	"testing"
)

// checkFuzzErr fails t unless err is a "wire: " error wrapping one of the sentinels.
func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotOurs) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrType) {
		t.Fatalf("error %q wraps no sentinel", err)
	}
	if !strings.HasPrefix(err.Error(), "wire: ") {
		t.Fatalf("error %q lacks the wire: prefix", err)
	}
}

func FuzzParseBlock(f *testing.F) {
	f.Add(goodBlock())                                                              // a 4-byte piece at offset 100 of block 7
	f.Add(AppendBlock(nil, BlockPacket{Offset: MaxBlockSize - 1, Data: []byte{1}})) // last byte of the largest block
	f.Add(goodBlock()[:BlockHeaderLen])                                             // header without a piece
	f.Add(edit(goodBlock(), put(16, 0xff, 0xff, 0xff, 0xff)))                       // offset overflows
	f.Add(edit(goodBlock(), put(3, byte(TypeTree))))                                // a tree type byte
	f.Add([]byte{0x6c, 0x63, 2, 3})                                                 // a newer version
	f.Add([]byte("GET / HTTP/1.1\r\n"))                                             // someone else's traffic
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseBlock(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if len(p.Data) == 0 || uint64(p.Offset)+uint64(len(p.Data)) > MaxBlockSize {
			t.Fatalf("accepted a piece of %d bytes at offset %d", len(p.Data), p.Offset)
		}
		if enc := AppendBlock(nil, p); !bytes.Equal(enc, b) {
			t.Fatalf("re-appended %x, parsed %x", enc, b)
		}
	})
}

func FuzzParseTree(f *testing.F) {
	f.Add(goodTree())                                                       // two hashes at level 3
	f.Add(AppendTree(nil, TreePacket{Level: MaxLevel, Hashes: hashes(1)}))  // a top at the highest level
	f.Add(AppendTree(nil, TreePacket{Index: 1<<32 - 1, Hashes: hashes(2)})) // runs past the last leaf
	f.Add(append(goodTree(), 0))                                            // a partial hash
	f.Add(edit(goodTree(), put(14, 1)))                                     // reserved byte set
	f.Add(AppendTree(nil, TreePacket{Level: 200, Hashes: hashes(1)}))       // level out of range
	f.Add(goodTree()[:TreeHeaderLen])                                       // no hash
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseTree(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		n := p.Count()
		if n < 1 || len(p.Hashes) != n*HashLen || p.Level > MaxLevel || uint64(p.Index)+uint64(n) > 1<<(MaxLevel-p.Level) {
			t.Fatalf("accepted level %d index %d with %d hash bytes", p.Level, p.Index, len(p.Hashes))
		}
		if h := p.Hash(n - 1); !bytes.Equal(h[:], b[len(b)-HashLen:]) {
			t.Fatalf("last hash %x is not the datagram's tail", h)
		}
		if enc := AppendTree(nil, p); !bytes.Equal(enc, b) {
			t.Fatalf("re-appended %x, parsed %x", enc, b)
		}
	})
}

func FuzzParseManifestChunk(f *testing.F) {
	f.Add(goodChunk())                                                                                                 // 3 bytes at offset 4 of 10
	f.Add(AppendManifestChunk(nil, ManifestChunk{Total: MaxManifestLen, Offset: MaxManifestLen - 1, Data: []byte{1}})) // the last byte of the largest blob
	f.Add(edit(goodChunk(), put(36, 0, 0, 0, 0)))                                                                      // total zero
	f.Add(edit(goodChunk(), put(40, 0xff, 0xff, 0xff, 0xff)))                                                          // offset past total
	f.Add(goodChunk()[:ManifestChunkHeaderLen])                                                                        // no data
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseManifestChunk(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if c.Total == 0 || c.Total > MaxManifestLen || len(c.Data) == 0 || uint64(c.Offset)+uint64(len(c.Data)) > uint64(c.Total) {
			t.Fatalf("accepted total %d offset %d with %d bytes", c.Total, c.Offset, len(c.Data))
		}
		if enc := AppendManifestChunk(nil, c); !bytes.Equal(enc, b) {
			t.Fatalf("re-appended %x, parsed %x", enc, b)
		}
	})
}

func FuzzUnmarshalManifest(f *testing.F) {
	vector, _ := vectorManifest().MarshalBinary()
	single, _ := vectorSingle().MarshalBinary()
	empty, _ := (&Manifest{PageHeight: 1, Share: "e"}).MarshalBinary()
	f.Add(vector)                                        // every entry type, byte-order sorting
	f.Add(single)                                        // a single-file carousel share
	f.Add(empty)                                         // no entries
	f.Add(edit(vector, put(23, 0xff, 0xff, 0xff, 0xff))) // a huge count in a small blob
	f.Add(append(bytes.Clone(vector), 0))                // a trailing byte
	signed := vectorManifest()
	signed.Publisher = &Publisher{KeyID: [8]byte{1}, Key: [32]byte{2}}
	signedBlob, _ := signed.MarshalBinary()
	f.Add(signedBlob)                                             // a signed share names its publisher
	f.Add(edit(vector, put(40, 0, 8)))                            // a name length that misaligns the rest
	f.Add((&Manifest{PageHeight: 1, Share: "s", Entries: []Entry{ // an entry below a symlink
		{Type: EntrySymlink, Name: "s/l", Target: "x"}, {Type: EntryDir, Name: "s/l/x"}}}).appendValid(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalManifest(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded manifest does not validate: %v", err)
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded manifest does not marshal: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-marshalled %x, decoded %x", enc, b)
		}
		for _, e := range m.Entries {
			if got, ok := m.Lookup(e.Name); !ok || got.Name != e.Name {
				t.Fatalf("Lookup(%q) failed", e.Name)
			}
		}
		if under := m.Under(m.Share); len(under) != len(m.Entries) {
			t.Fatalf("Under(share) = %d entries of %d", len(under), len(m.Entries))
		}
	})
}

// FuzzCheckName compares CheckName with a definition built on path.Clean: a canonical name is
// its own cleaned form, relative, not "." and without ".." at the front.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"share/a", "", "/a", "a/", "a//b", ".", "..", "../a", "a/..", "a/./b", "a\x00", ".a/..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		comps := strings.Split(name, "/")
		want := name != "" && len(name) <= MaxNameLen && !strings.ContainsRune(name, 0) &&
			path.Clean(name) == name && !path.IsAbs(name) && name != "." && comps[0] != ".."
		for _, c := range comps {
			want = want && len(c) <= MaxComponentLen
		}
		if err := CheckName(name); (err == nil) != want {
			t.Fatalf("CheckName(%q) = %v, want canonical %v", name, err, want)
		}
	})
}

func FuzzUnmarshalObject(f *testing.F) {
	good, _ := goodObject().MarshalBinary()
	empty, _ := (&Object{}).MarshalBinary()
	f.Add(good)                                        // every entry type, an incomplete directory
	f.Add(empty)                                       // an empty directory
	f.Add(edit(good, put(8, 0xff, 0xff, 0xff, 0xff)))  // a huge count in a small object
	f.Add(append(bytes.Clone(good), 0))                // a trailing byte
	f.Add(edit(good, put(ObjectHeaderLen+13, 0, 200))) // a name length that misaligns the rest
	paged, _ := EncodeDirectory(bigDir(1500))
	f.Add(paged[0]) // a large directory's pages
	f.Add(paged[1]) // one page
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := UnmarshalObject(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		enc, err := o.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded object does not marshal: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-marshalled %x, decoded %x", enc, b)
		}
		for _, e := range o.Entries {
			if strings.IndexByte(e.Name, '/') >= 0 {
				t.Fatalf("accepted a name with a '/': %q", e.Name)
			}
		}
	})
}

func FuzzUnmarshalTreeManifest(f *testing.F) {
	dir, _ := (&TreeManifest{PageHeight: 4, Generation: 7, Root: ObjectEntry{Entry: Entry{Type: EntryDir, Name: "share"}, ID: [HashLen]byte{1}}}).MarshalBinary()
	file, _ := (&TreeManifest{Carousel: true, PageHeight: 1, Publisher: &Publisher{KeyID: [8]byte{1}},
		Root: ObjectEntry{Entry: Entry{Type: EntryFile, Name: "f", Size: 1, BlockShift: 10, Top: [HashLen]byte{1}}}}).MarshalBinary()
	flat, _ := vectorManifest().MarshalBinary()
	f.Add(dir)                         // a directory share
	f.Add(file)                        // a signed single-file carousel share
	f.Add(flat)                        // a version 1 manifest
	f.Add(append(bytes.Clone(dir), 0)) // a trailing byte
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalTreeManifest(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded manifest does not marshal: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-marshalled %x, decoded %x", enc, b)
		}
		if m.Root.Type != EntryDir && m.Root.Type != EntryFile {
			t.Fatalf("accepted a %s as the share", m.Root.Type)
		}
	})
}

func FuzzParseObjectChunk(f *testing.F) {
	good, _ := goodObject().MarshalBinary()
	chunks, _ := ObjectChunks(good, MinMTU-IPv6UDPOverhead)
	f.Add(chunks[0])
	f.Add(AppendObjectChunk(nil, ManifestChunk{Total: MaxObjectLen + 1, Data: []byte{1}}))
	f.Add(AppendManifestChunk(nil, ManifestChunk{Total: 1, Data: []byte{1}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseObjectChunk(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if c.Total == 0 || c.Total > MaxObjectLen || uint64(c.Offset)+uint64(len(c.Data)) > uint64(c.Total) || len(c.Data) == 0 {
			t.Fatalf("accepted chunk total %d offset %d len %d", c.Total, c.Offset, len(c.Data))
		}
		if !bytes.Equal(AppendObjectChunk(nil, c), b) {
			t.Fatal("re-appended chunk differs")
		}
	})
}
