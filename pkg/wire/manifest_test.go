package wire

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

var someTop = [HashLen]byte{0: 0x70, 31: 0x07}

func TestManifestRoundTrip(t *testing.T) {
	longName := "s/" + strings.Repeat(strings.Repeat("n", MaxComponentLen)+"/", 16)[:MaxNameLen-4] + "/z"
	cases := []struct {
		name string
		m    *Manifest
	}{
		{"vector", vectorManifest()},
		{"single file carousel", vectorSingle()},
		{"no entries", &Manifest{PageHeight: 1, Share: "empty"}},
		{"share directory only", &Manifest{PageHeight: 8, Share: "d", Entries: []Entry{{Type: EntryDir, Mode: 0o700, Name: "d"}}}},
		{"single symlink", &Manifest{PageHeight: 1, Share: "l", Entries: []Entry{{Type: EntrySymlink, Name: "l", Target: "/abs/../target"}}}},
		{"extremes", &Manifest{Carousel: true, PageHeight: 255, Share: strings.Repeat("s", MaxComponentLen), Generation: math.MaxUint64,
			Entries: []Entry{
				{Type: EntryDir, Mode: 0o7777, MTime: math.MinInt64, Name: strings.Repeat("s", MaxComponentLen)},
				{Type: EntryFile, MTime: math.MaxInt64, Name: strings.Repeat("s", MaxComponentLen) + "/2^32 blocks of 1 KiB",
					Size: 1 << 42, BlockShift: 10, Top: someTop},
				{Type: EntryFile, Name: strings.Repeat("s", MaxComponentLen) + "/2^32 blocks of 1 MiB",
					Size: 1 << 52, BlockShift: 20, Top: someTop},
				{Type: EntrySymlink, Name: strings.Repeat("s", MaxComponentLen) + "/longest target",
					Target: strings.Repeat("t", MaxTargetLen)},
			}}},
		{"signed", &Manifest{PageHeight: 4, Share: "s", Generation: 9, Publisher: &Publisher{KeyID: [8]byte{1, 2, 3}, Key: someTop},
			Entries: []Entry{{Type: EntryFile, Name: "s", Size: 1, BlockShift: 14, Top: someTop}}}},
		{"incomplete directories", &Manifest{PageHeight: 4, Share: "s", Entries: []Entry{
			{Type: EntryDir, Mode: 0o755, Name: "s", Incomplete: true},
			{Type: EntryDir, Mode: 0o7777, Name: "s/unreadable", Incomplete: true},
			{Type: EntryDir, Mode: 0o700, Name: "s/z"},
		}}},
		{"longest name", &Manifest{PageHeight: 1, Share: "s", Entries: []Entry{{Type: EntryDir, Name: longName}}}},
		{"byte order puts a.txt before a/", &Manifest{PageHeight: 2, Share: "s", Entries: []Entry{
			{Type: EntryDir, Name: "s/a"},
			{Type: EntryFile, Name: "s/a.txt", BlockShift: 14},
			{Type: EntryFile, Name: "s/a/b", Size: 1, BlockShift: 14, Top: someTop},
			{Type: EntryDir, Name: "s/a0"},
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			blob, err := tc.m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalManifest(blob)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.m.Entries) == 0 {
				tc.m.Entries = []Entry{} // decoded manifests always have a non-nil slice
			}
			if !reflect.DeepEqual(got, tc.m) {
				t.Errorf("round trip changed the manifest:\n got %+v\nwant %+v", got, tc.m)
			}
			appended, err := tc.m.AppendBinary([]byte("xy"))
			if err != nil || !bytes.Equal(appended, append([]byte("xy"), blob...)) {
				t.Errorf("AppendBinary = %x, %v; want the blob after the prefix", appended, err)
			}
			var into Manifest
			if err := into.UnmarshalBinary(blob); err != nil || !reflect.DeepEqual(&into, tc.m) {
				t.Errorf("UnmarshalBinary = %+v, %v", into, err)
			}
		})
	}
	if len(longName) != MaxNameLen {
		t.Fatalf("test setup: long name is %d bytes", len(longName))
	}
}

// TestManifestInvalid breaks a valid manifest one rule at a time. MarshalBinary must refuse
// it, and the same manifest encoded without validation must be refused by UnmarshalManifest,
// so the sender and the receiver enforce the same rules.
func TestManifestInvalid(t *testing.T) {
	entry := func(i int) func(*Manifest) *Entry { return func(m *Manifest) *Entry { return &m.Entries[i] } }
	file, dir, link := entry(1), entry(0), entry(3)
	insert := func(m *Manifest, e Entry) {
		m.Entries = append(m.Entries, e)
		m.SortEntries()
	}
	// dropped marks fields the encoding of that entry type has no room for: the blob
	// carries a valid manifest without them.
	const dropped = "dropped"
	cases := []struct {
		name   string
		mut    func(m *Manifest)
		msg    string
		decMsg string // what UnmarshalManifest says, when the encoding cannot carry the value
	}{
		{"empty share name", func(m *Manifest) { m.Share = "" }, "share name \"\": is empty", ""},
		{"share name with a slash", func(m *Manifest) { m.Share = "share/a" }, "more than one component", ""},
		{"share name dot dot", func(m *Manifest) { m.Share = ".." }, `".." component`, ""},
		{"page height 0", func(m *Manifest) { m.PageHeight = 0 }, "page height is 0", ""},
		{"dot dot name", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/../etc"}) }, `name has a ".." component`, ""},
		{"dot dot escape via share", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/sub/../../x"}) }, `".." component`, ""},
		{"absolute name", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "/share/x"}) }, "name is absolute", ""},
		{"trailing slash", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/x/"}) }, "ends with '/'", ""},
		{"empty component", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share//x"}) }, "empty component", ""},
		{"nul byte in name", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/a\x00b"}) }, "NUL byte", ""},
		{"overlong name", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/" + strings.Repeat("a/", 2046)}) }, "longer than 4096 bytes", ""},
		{"overlong component", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/" + strings.Repeat("a", 256)}) }, "longer than 255", ""},
		{"name outside the share", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "other/x"}) }, `outside the share "share"`, ""},
		{"share name as a prefix only", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "sharex"}) }, "outside the share", ""},
		{"parent of the share", func(m *Manifest) { m.Share = "sub"; m.Entries = m.Entries[:1]; m.Entries[0].Name = "s" }, "outside the share",
			"cannot fit"}, // the decoder sees a name shorter than the share name cannot fit
		{"duplicate name", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/sub"}) }, `entry 5 "share/sub": duplicate name`, ""},
		{"unsorted", func(m *Manifest) { m.Entries[1], m.Entries[2] = m.Entries[2], m.Entries[1] }, `not sorted, follows "share/empty"`, ""},
		{"sorted by component, not by byte", func(m *Manifest) { m.Entries[5], m.Entries[6] = m.Entries[6], m.Entries[5] }, "not sorted", ""},
		{"entry below a symlink", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/link/x"}) }, `below symlink entry "share/link"`, ""},
		{"deep entry below a symlink", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/link/a/b/c"}) }, "below symlink", ""},
		{"entry below a symlink, not adjacent", func(m *Manifest) {
			insert(m, Entry{Type: EntryDir, Name: "share/link-"})
			insert(m, Entry{Type: EntryDir, Name: "share/link.d"})
			insert(m, Entry{Type: EntryFile, Name: "share/link/x", BlockShift: 10})
		}, `entry 6 "share/link/x": below symlink`, ""},
		{"entry below a file", func(m *Manifest) { insert(m, Entry{Type: EntryDir, Name: "share/a.txt/x"}) }, `below file entry "share/a.txt"`, ""},
		{"entries below a single-file share", func(m *Manifest) {
			m.Entries = []Entry{{Type: EntryFile, Name: "share", BlockShift: 10}, {Type: EntryDir, Name: "share/x"}}
		}, "below file", ""},
		{"mode bits outside 07777", func(m *Manifest) { dir(m).Mode = 0o10755 }, "mode 010755 has bits outside 07777", ""},
		{"mode type bits", func(m *Manifest) { file(m).Mode = 0o100644 }, "bits outside 07777", ""},
		{"entry type 0", func(m *Manifest) { dir(m).Type = 0 }, "unknown entry type 0", ""},
		{"entry type 4", func(m *Manifest) { dir(m).Type = 4 }, "unknown entry type 4", ""},
		{"negative size", func(m *Manifest) { file(m).Size = -1 }, "file size -1 is negative", "file size 18446744073709551615 too large"},
		{"block shift 9", func(m *Manifest) { file(m).BlockShift = 9 }, "block shift 9 out of range [10, 20]", ""},
		{"block shift 21", func(m *Manifest) { file(m).BlockShift = 21 }, "block shift 21", ""},
		{"block shift 0", func(m *Manifest) { file(m).BlockShift = 0 }, "block shift 0", ""},
		{"more than 2^32 blocks", func(m *Manifest) { file(m).Size = 1<<42 + 1; file(m).BlockShift = 10 }, "4294967297 blocks of 1024 bytes", ""},
		{"largest size", func(m *Manifest) { file(m).Size = math.MaxInt64 }, "more than 2^32", ""},
		{"empty file with a top", func(m *Manifest) { file(m).Size = 0 }, "empty file has a non-zero top hash", ""},
		{"file without a top", func(m *Manifest) { file(m).Top = [HashLen]byte{} }, "non-empty file has an all-zero top hash", ""},
		{"file with a target", func(m *Manifest) { file(m).Target = "x" }, "file has a symlink target", dropped},
		{"directory with a size", func(m *Manifest) { dir(m).Size = 1 }, "directory has file fields set", dropped},
		{"directory with a block shift", func(m *Manifest) { dir(m).BlockShift = 14 }, "directory has file fields set", dropped},
		{"directory with a top", func(m *Manifest) { dir(m).Top = someTop }, "directory has file fields set", dropped},
		{"directory with a target", func(m *Manifest) { dir(m).Target = "x" }, "directory has a symlink target", dropped},
		{"symlink with a size", func(m *Manifest) { link(m).Size = 1 }, "symlink has file fields set", dropped},
		{"symlink without target", func(m *Manifest) { link(m).Target = "" }, "symlink target is empty", ""},
		{"symlink target too long", func(m *Manifest) { link(m).Target = strings.Repeat("t", MaxTargetLen+1) }, "longer than 4095", ""},
		{"symlink target with nul", func(m *Manifest) { link(m).Target = "a\x00b" }, "symlink target has a NUL byte at offset 1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := vectorManifest()
			tc.mut(m)
			_, err := m.MarshalBinary()
			checkErr(t, err, ErrMalformed, tc.msg)
			if _, err := m.AppendBinary(nil); err == nil {
				t.Error("AppendBinary accepted what MarshalBinary refused")
			}
			blob := m.appendValid(nil)
			decMsg := tc.decMsg
			if decMsg == "" {
				decMsg = tc.msg
			}
			got, err := UnmarshalManifest(blob)
			if decMsg == dropped {
				checkErr(t, err, nil, "")
				if reflect.DeepEqual(got, m) {
					t.Error("the stray field survived encoding")
				}
				return
			}
			checkErr(t, err, ErrMalformed, decMsg)
		})
	}
}

// TestUnmarshalManifestHostile feeds blobs broken at the byte level.
func TestUnmarshalManifestHostile(t *testing.T) {
	good, err := vectorManifest().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Offsets into the vector blob: header 0-8, share name length 8 and name 10-15,
	// generation 15-23, entry count 23-27, then entry 0 (type 27, mode 28, mtime 32,
	// name length 40, name 42-47) and entry 1 (type 47, ..., name 62-73, size 73-81).
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cases := []struct {
		name string
		b    []byte
		err  error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "manifest: 0 bytes, need at least 8"},
		{"tree encoding magic", edit(good, put(0, 'L', 'C', 'M', 'T')), ErrMalformed, `magic "LCMT", want "LCMF"`},
		{"packet magic", edit(good, put(0, 0x6c, 0x63, 1, 1)), ErrMalformed, "magic"},
		{"version 2", edit(good, put(4, 2)), ErrVersion, "unsupported manifest version 2 (the server is newer; upgrade lcsync)"},
		{"version 0", edit(good, put(4, 0)), ErrVersion, ""},
		{"unknown flag", edit(good, put(5, 0x08)), ErrMalformed, "unknown flags 0x08"},
		{"all flags", edit(good, put(5, 0xff)), ErrMalformed, "unknown flags 0xf8"},
		{"signed flag without room for the publisher", edit(good[:ManifestHeaderLen+20], put(5, FlagSigned)), ErrMalformed, "publisher needs 40 bytes"},
		{"incomplete flag without an incomplete directory", edit(good, put(5, FlagIncomplete)), ErrMalformed, "no directory is marked incomplete"},
		{"incomplete mark without the flag", edit(good, put(29, 1)), ErrMalformed, "bits outside 07777"},
		{"reserved byte", edit(good, put(7, 1)), ErrMalformed, "reserved byte"},
		{"page height 0", edit(good, put(6, 0)), ErrMalformed, "page height is 0"},
		{"share name longer than blob", edit(good, put(8, 0xff, 0xff)), ErrMalformed, "share name needs 65535 bytes at offset 10"},
		{"empty share name", append(append([]byte(nil), good[:8]...), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrMalformed, "share name \"\": is empty"},
		{"huge count, tiny blob", edit(good, put(23, 0xff, 0xff, 0xff, 0xff)), ErrMalformed, "4294967295 entries cannot fit"},
		{"count just too big", edit(good, put(23, u32(uint32(len(good)-27)/20+1)...)), ErrMalformed, "cannot fit"},
		{"count one more than present", edit(good, put(23, u32(8)...)), ErrMalformed, "entry 7: type needs 1 bytes"},
		{"count one less than present", edit(good, put(23, u32(6)...)), ErrMalformed, "trailing bytes after 6 entries"},
		{"trailing garbage", append(bytes.Clone(good), 0xde, 0xad), ErrMalformed, "2 trailing bytes after 7 entries"},
		{"trailing zero", append(bytes.Clone(good), 0), ErrMalformed, "1 trailing bytes"},
		{"unknown entry type", edit(good, put(27, 9)), ErrMalformed, `entry 0 "share": unknown entry type 9`},
		{"name longer than blob", edit(good, put(40, 0xff, 0xff)), ErrMalformed, "entry 0: name needs 65535 bytes"},
		{"empty name", edit(good, put(40, 0, 0)), ErrMalformed, ""},
		{"file size high bit", edit(good, put(73, 0x80)), ErrMalformed, "file size 9223372036854775813 too large"},
		{"blob above 64 MiB", make([]byte, MaxManifestLen+1), ErrMalformed, "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := UnmarshalManifest(tc.b)
			checkErr(t, err, tc.err, tc.msg)
			if m != nil {
				t.Error("a manifest came back with the error")
			}
		})
	}
}

// TestUnmarshalManifestTruncated cuts the vector blob at every length: all must fail cleanly.
func TestUnmarshalManifestTruncated(t *testing.T) {
	good, err := vectorManifest().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := UnmarshalManifest(good[:n]); err == nil {
			t.Errorf("length %d of %d: no error", n, len(good))
		} else {
			checkErr(t, err, ErrMalformed, "")
		}
	}
}

// TestUnmarshalManifestBoundedAllocation checks that an entry count that merely fits the
// blob does not make the decoder allocate for every claimed entry before reading them.
func TestUnmarshalManifestBoundedAllocation(t *testing.T) {
	const junk = 1 << 20
	blob := (&Manifest{PageHeight: 1, Share: "s"}).appendValid(nil)
	binary.BigEndian.PutUint32(blob[len(blob)-4:], junk/16) // the most that can fit
	blob = append(blob, bytes.Repeat([]byte{9}, junk)...)   // entry type 9 at once
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := UnmarshalManifest(blob)
	runtime.ReadMemStats(&after)
	checkErr(t, err, ErrMalformed, "unknown entry type 9")
	// The decoder copies the blob once into a string; allow that plus a little.
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(len(blob)+256<<10); got > limit {
		t.Errorf("decoding a failing %d-byte blob allocated %d bytes, want at most %d", len(blob), got, limit)
	}
}

func testTree() *Manifest {
	names := []string{"s", "s/a", "s/a.txt", "s/a/b", "s/a/b/c", "s/a0", "s/ab", "s/b", "s/implicit/x"}
	m := &Manifest{PageHeight: 1, Share: "s"}
	for _, n := range names {
		m.Entries = append(m.Entries, Entry{Type: EntryDir, Name: n})
	}
	m.Entries[2].Type, m.Entries[2].BlockShift = EntryFile, 10
	return m
}

func entryNames(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestLookup(t *testing.T) {
	m := testTree()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		ok   bool
	}{
		{"s", true}, {"s/a", true}, {"s/a.txt", true}, {"s/a/b/c", true}, {"s/implicit/x", true},
		{"s/implicit", false}, {"s/a/", false}, {"", false}, {"s/c", false}, {"t", false}, {"r", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := m.Lookup(tc.name)
			if ok != tc.ok {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tc.name, ok, tc.ok)
			}
			if ok && e.Name != tc.name {
				t.Errorf("Lookup(%q) = %q", tc.name, e.Name)
			}
		})
	}
	if e, _ := m.Lookup("s/a.txt"); e.Type != EntryFile || e.BlockSize() != 1024 {
		t.Errorf("Lookup returned %+v, want the file entry", e)
	}
}

func TestUnder(t *testing.T) {
	m := testTree()
	cases := []struct {
		prefix string
		want   []string
	}{
		{"s", []string{"s", "s/a", "s/a.txt", "s/a/b", "s/a/b/c", "s/a0", "s/ab", "s/b", "s/implicit/x"}},
		{"s/a", []string{"s/a", "s/a/b", "s/a/b/c"}},
		{"s/a/b", []string{"s/a/b", "s/a/b/c"}},
		{"s/a/b/c", []string{"s/a/b/c"}},
		{"s/a.txt", []string{"s/a.txt"}},
		{"s/implicit", []string{"s/implicit/x"}},
		{"s/b", []string{"s/b"}},
		{"s/c", nil},
		{"t", nil},
		{"", nil},
	}
	for _, tc := range cases {
		t.Run(tc.prefix, func(t *testing.T) {
			if got := entryNames(m.Under(tc.prefix)); !slices.Equal(got, tc.want) {
				t.Errorf("Under(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
}

func TestSortEntries(t *testing.T) {
	m := testTree()
	want := entryNames(m.Entries)
	slices.Reverse(m.Entries)
	m.SortEntries()
	if got := entryNames(m.Entries); !slices.Equal(got, want) {
		t.Errorf("SortEntries = %q, want %q", got, want)
	}
}

func TestEntryTypeString(t *testing.T) {
	cases := []struct {
		t    EntryType
		want string
	}{
		{EntryFile, "file"}, {EntryDir, "directory"}, {EntrySymlink, "symlink"}, {0, "entrytype(0)"}, {7, "entrytype(7)"},
	}
	for _, tc := range cases {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("EntryType(%d).String() = %q, want %q", uint8(tc.t), got, tc.want)
		}
	}
}

func TestEntryBlockSize(t *testing.T) {
	cases := []struct {
		name string
		e    Entry
		want int
	}{
		{"16 KiB file", Entry{Type: EntryFile, BlockShift: 14}, 16384},
		{"1 MiB file", Entry{Type: EntryFile, BlockShift: 20}, 1 << 20},
		{"directory", Entry{Type: EntryDir}, 0},
		{"symlink", Entry{Type: EntrySymlink}, 0},
	}
	for _, tc := range cases {
		if got := tc.e.BlockSize(); got != tc.want {
			t.Errorf("%s: BlockSize = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestManifestIncomplete: a directory the sender could not read completely is marked in the
// mode field (bit 16) and announced by flag bit 2, so that a receiver that predates the mark
// refuses the manifest (unknown flag) instead of taking the directory as complete; the mark
// is allowed on directories only, and the flag only with a mark.
func TestManifestIncomplete(t *testing.T) {
	m := &Manifest{PageHeight: 4, Share: "s", Entries: []Entry{
		{Type: EntryDir, Mode: 0o755, Name: "s"},
		{Type: EntryDir, Mode: 0o700, Name: "s/d", Incomplete: true},
	}}
	blob, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if blob[5] != FlagIncomplete {
		t.Errorf("flags %#02x, want %#02x", blob[5], FlagIncomplete)
	}
	// Entry 1 starts after the header (8), share name (2+1), generation (8), count (4) and
	// entry 0 (1+4+8+2+1): it starts at 39, its mode at 40.
	if mode := binary.BigEndian.Uint32(blob[40:]); mode != ModeIncomplete|0o700 {
		t.Errorf("mode on the wire %#o, want %#o", mode, ModeIncomplete|0o700)
	}
	complete := &Manifest{PageHeight: 4, Share: "s", Entries: []Entry{{Type: EntryDir, Mode: 0o755, Name: "s"}}}
	if b, err := complete.MarshalBinary(); err != nil || b[5] != 0 {
		t.Errorf("a complete manifest has flags %#02x (%v)", b[5], err)
	}
	onFile := &Manifest{PageHeight: 4, Share: "s", Entries: []Entry{{Type: EntryFile, Name: "s", BlockShift: 14, Incomplete: true}}}
	if _, err := onFile.MarshalBinary(); err == nil || !strings.Contains(err.Error(), "only a directory") {
		t.Errorf("incomplete file entry: %v", err)
	}
}
