package wire

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func goodObject() *Object {
	return &Object{Entries: []ObjectEntry{
		{Entry: Entry{Type: EntryDir, Mode: 0o755, MTime: 5, Name: "a", Incomplete: true}, ID: someTop},
		{Entry: Entry{Type: EntryFile, Mode: 0o644, MTime: -1, Name: "a.txt", Size: 5, BlockShift: 14, Top: someTop}},
		{Entry: Entry{Type: EntryFile, Name: "empty", BlockShift: 10}},
		{Entry: Entry{Type: EntrySymlink, Mode: 0o777, Name: "link", Target: "../x"}},
	}}
}

func TestObjectRoundTrip(t *testing.T) {
	for _, o := range []*Object{goodObject(), {Entries: []ObjectEntry{}}} {
		b, err := o.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalObject(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, o) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, o)
		}
	}
	if e, ok := goodObject().Lookup("a.txt"); !ok || e.Size != 5 {
		t.Errorf("Lookup(a.txt) = %+v, %v", e, ok)
	}
	if _, ok := goodObject().Lookup("a/"); ok {
		t.Error("Lookup found a name that is not there")
	}
}

func TestObjectInvalid(t *testing.T) {
	with := func(f func(o *Object)) *Object { o := goodObject(); f(o); return o }
	cases := []struct {
		name string
		o    *Object
		msg  string
	}{
		{"path as name", with(func(o *Object) { o.Entries[1].Name = "a/b" }), "more than one component"},
		{"dot name", with(func(o *Object) { o.Entries[0].Name = "." }), `"." component`},
		{"unsorted", with(func(o *Object) { o.Entries[0], o.Entries[1] = o.Entries[1], o.Entries[0] }), "not sorted"},
		{"duplicate", with(func(o *Object) { o.Entries[1].Name = "a" }), "duplicate"},
		{"duplicate dir", with(func(o *Object) { o.Entries[1] = o.Entries[0] }), "duplicate"},
		{"directory without id", with(func(o *Object) { o.Entries[0].ID = [HashLen]byte{} }), "zero object id"},
		{"file with id", with(func(o *Object) { o.Entries[1].ID = someTop }), "file has an object id"},
		{"incomplete file", with(func(o *Object) { o.Entries[1].Incomplete = true }), "incomplete"},
		{"zero top", with(func(o *Object) { o.Entries[1].Top = [HashLen]byte{} }), "all-zero top"},
		{"mode bits", with(func(o *Object) { o.Entries[2].Mode = 0o10000 }), "outside 07777"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.o.MarshalBinary()
			checkErr(t, err, ErrMalformed, tc.msg)
		})
	}
}

func TestUnmarshalObjectHostile(t *testing.T) {
	good, err := goodObject().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		b    []byte
		want error
		msg  string
	}{
		{"short", good[:ObjectHeaderLen-1], ErrMalformed, "need at least"},
		{"magic", edit(good, put(0, 'X')), ErrMalformed, "magic"},
		{"version 1", edit(good, put(4, 1)), ErrVersion, "version 1"},
		{"version 3", edit(good, put(4, 3)), ErrVersion, "upgrade lcsync"},
		{"flags", edit(good, put(5, 1)), ErrMalformed, "not zero"},
		{"reserved", edit(good, put(7, 1)), ErrMalformed, "not zero"},
		{"count too large", edit(good, put(8, 0xff, 0xff, 0xff, 0xff)), ErrMalformed, "cannot fit"},
		{"count one more", edit(good, put(11, 5)), ErrMalformed, "needs"},
		{"count one less", edit(good, put(11, 3)), ErrMalformed, "trailing"},
		{"trailing", append(append([]byte(nil), good...), 0), ErrMalformed, "trailing"},
		{"truncated", good[:len(good)-1], ErrMalformed, "needs"},
		{"unknown type", edit(good, put(ObjectHeaderLen, 5)), ErrMalformed, "unknown entry type 5"},
		{"page among entries", edit(good, put(ObjectHeaderLen, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), ErrMalformed, "mixed"},
		{"too long", make([]byte, MaxObjectLen+1), ErrMalformed, "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := UnmarshalObject(tc.b)
			checkErr(t, err, tc.want, tc.msg)
		})
	}
}

func TestObjectTooLarge(t *testing.T) {
	var o Object
	name := strings.Repeat("n", 200)
	for n := ObjectHeaderLen; n <= MaxObjectLen; {
		e := ObjectEntry{Entry: Entry{Type: EntrySymlink, Name: fmt.Sprintf("%s%08d", name, len(o.Entries)), Target: "t"}}
		n += e.encodedLen()
		o.Entries = append(o.Entries, e)
	}
	_, err := o.MarshalBinary()
	checkErr(t, err, ErrMalformed, "more than")
	o.Entries = o.Entries[:len(o.Entries)-1]
	b, err := o.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalObject(b); err != nil {
		t.Fatalf("the largest object (%d bytes) does not decode: %v", len(b), err)
	}
}

func TestTreeManifestRoundTrip(t *testing.T) {
	cases := []*TreeManifest{
		{PageHeight: 4, Generation: 7, Root: ObjectEntry{Entry: Entry{Type: EntryDir, Mode: 0o755, Name: "share", Incomplete: true}, ID: someTop}},
		{Carousel: true, PageHeight: 1, Publisher: &Publisher{KeyID: [8]byte{1}, Key: someTop},
			Root: ObjectEntry{Entry: Entry{Type: EntryFile, Name: "f.iso", Size: 1, BlockShift: 20, Top: someTop}}},
	}
	for _, m := range cases {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > DefaultMaxDatagram-ManifestChunkHeaderLen {
			t.Errorf("a version 2 manifest of %d bytes does not fit one datagram", len(b))
		}
		got, err := UnmarshalTreeManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		if v, err := ManifestVersionOf(b); v != TreeManifestVersion || err != nil {
			t.Errorf("ManifestVersionOf = %d, %v", v, err)
		}
		if _, err := UnmarshalManifest(b); err == nil || !strings.Contains(err.Error(), "unsupported manifest version 2 (the server is newer; upgrade lcsync)") {
			t.Errorf("a flat decoder given version 2 says %v", err)
		}
	}
}

func TestUnmarshalTreeManifestHostile(t *testing.T) {
	m := &TreeManifest{PageHeight: 4, Generation: 7, Root: ObjectEntry{Entry: Entry{Type: EntryDir, Mode: 0o755, Name: "share"}, ID: someTop}}
	good, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	flat, _ := vectorManifest().MarshalBinary()
	cases := []struct {
		name string
		b    []byte
		want error
		msg  string
	}{
		{"short", good[:7], ErrMalformed, "need at least"},
		{"magic", edit(good, put(0, 'X')), ErrMalformed, "magic"},
		{"flat manifest", flat, ErrVersion, "version 1"},
		{"version 3", edit(good, put(4, 3)), ErrVersion, "unsupported manifest version 3 (the server is newer; upgrade lcsync)"},
		{"incomplete flag", edit(good, put(5, FlagIncomplete)), ErrMalformed, "unknown flags"},
		{"page height 0", edit(good, put(6, 0)), ErrMalformed, "page height"},
		{"reserved", edit(good, put(7, 1)), ErrMalformed, "reserved"},
		{"signed without key", edit(good[:8], put(5, FlagSigned)), ErrMalformed, "publisher"},
		{"trailing", append(append([]byte(nil), good...), 0), ErrMalformed, "trailing"},
		{"truncated", good[:len(good)-1], ErrMalformed, "needs"},
		{"root is a path", edit(good, put(16+1+4+8+2, 's', 'h', '/', 'r', 'e')), ErrMalformed, "component"},
		{"root symlink", edit(good, put(16, byte(EntrySymlink))), ErrMalformed, ""},
		{"zero root id", edit(good, put(len(good)-HashLen, make([]byte, HashLen)...)), ErrMalformed, "zero object id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := UnmarshalTreeManifest(tc.b)
			checkErr(t, err, tc.want, tc.msg)
		})
	}
}

func TestObjectChunks(t *testing.T) {
	b, _ := goodObject().MarshalBinary()
	chunks, err := ObjectChunks(b, MinMTU-IPv6UDPOverhead)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, d := range chunks {
		if typ, _ := PeekType(d); typ != TypeObject {
			t.Fatalf("chunk of type %v", typ)
		}
		c, err := ParseObjectChunk(d)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != ObjectID(b) || int(c.Offset) != len(got) {
			t.Fatalf("chunk id %x offset %d", c.ID[:4], c.Offset)
		}
		got = append(got, c.Data...)
	}
	if !bytes.Equal(got, b) {
		t.Error("chunks do not reassemble the object")
	}
	if _, err := ParseManifestChunk(chunks[0]); err == nil {
		t.Error("an object chunk parses as a manifest chunk")
	}
	big := AppendObjectChunk(nil, ManifestChunk{Total: MaxObjectLen + 1, Data: []byte{1}})
	_, err = ParseObjectChunk(big)
	checkErr(t, err, ErrMalformed, "out of range")
}

// splitTree is a share with nested directories, files at several depths, byte-order traps
// ("a.txt" between "a" and "a/b" in a flat manifest) and an incomplete directory.
func splitTree() *Manifest {
	m := &Manifest{PageHeight: 4, Share: "s", Generation: 3}
	add := func(typ EntryType, name string) {
		e := Entry{Type: typ, Name: name, Mode: 0o755, MTime: int64(len(name))}
		switch typ {
		case EntryFile:
			e.Size, e.BlockShift, e.Top = int64(len(name)), 14, [HashLen]byte{0: byte(len(name)), 1: 1}
		case EntrySymlink:
			e.Target = "t"
		}
		m.Entries = append(m.Entries, e)
	}
	add(EntryDir, "s")
	for _, n := range []string{"s/a", "s/a/b", "s/a/b/c", "s/a0", "s/empty", "s/same1", "s/same2"} {
		add(EntryDir, n)
	}
	for _, n := range []string{"s/a.txt", "s/a/b.txt", "s/a/b/c/deep", "s/z", "s/same1/f", "s/same2/f"} {
		add(EntryFile, n)
	}
	add(EntrySymlink, "s/a/link")
	m.SortEntries()
	m.Entries[1].Incomplete = true
	return m
}

func TestSplitFlatten(t *testing.T) {
	m := splitTree()
	tm, objects, err := SplitManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	// s, a, a/b, a/b/c, a0 and empty (both empty: one object), same1 and same2 (one object).
	if len(objects) != 6 {
		t.Errorf("%d objects, want 6 (identical directories share one)", len(objects))
	}
	decoded := map[[HashLen]byte]*Object{}
	for id, b := range objects {
		if ObjectID(b) != id {
			t.Fatal("object keyed by a wrong id")
		}
		o, err := UnmarshalObject(b)
		if err != nil {
			t.Fatal(err)
		}
		decoded[id] = o
	}
	got, used, err := tm.Flatten(decoded, "")
	if err != nil || len(used) != len(objects) {
		t.Fatalf("Flatten used %d of %d objects, %v", len(used), len(objects), err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("flattened:\n got %v\nwant %v", entryNames(got.Entries), entryNames(m.Entries))
	}

	// A walk asks for one level at a time, and a path below a directory only for the objects
	// on the way to it and below it.
	have := map[[HashLen]byte]*Object{}
	rounds := 0
	for {
		var missing [][HashLen]byte
		got, missing, err = tm.Flatten(have, "s/a/b")
		if err != nil {
			t.Fatal(err)
		}
		if got != nil {
			if len(missing) != 4 {
				t.Errorf("the walk used %d objects", len(missing))
			}
			break
		}
		rounds++
		for _, id := range missing {
			have[id] = decoded[id]
		}
	}
	if rounds != 4 || len(have) != 4 {
		t.Errorf("fetching s/a/b took %d rounds and %d objects, want 4 and 4 (s, a, a/b, a/b/c)", rounds, len(have))
	}
	want := []string{"s", "s/a", "s/a/b", "s/a/b/c", "s/a/b/c/deep"} // not s/a's other entries
	if names := entryNames(got.Entries); !reflect.DeepEqual(names, want) {
		t.Errorf("s/a/b flattens to %v", names)
	}
	got, _, err = tm.Flatten(decoded, "s/nothere/x")
	if err != nil || len(got.Entries) != 1 {
		t.Errorf("a missing path flattens to %v, %v; want the share's entry only", got, err)
	}
	if _, _, err := tm.Flatten(decoded, "other/x"); err == nil {
		t.Error("a path outside the share flattens")
	}
}

func TestSplitRefuses(t *testing.T) {
	if _, _, err := SplitManifest(testTree()); err == nil || !strings.Contains(err.Error(), "not below a directory entry") {
		t.Errorf("an entry without its directory: %v", err)
	}
	if _, _, err := SplitManifest(&Manifest{PageHeight: 1, Share: "e"}); err == nil {
		t.Error("a manifest without the share's entry splits")
	}
	tm, objects, err := SplitManifest(vectorSingle())
	if err != nil || len(objects) != 0 || tm.Root.Type != EntryFile {
		t.Errorf("a single file splits into %d objects, %v", len(objects), err)
	}
}

func TestFlattenBoundsDuplicates(t *testing.T) {
	// Three objects naming each other 2,048 times over describe 2^33 entries.
	leaf := Object{}
	for i := range 2048 {
		leaf.Entries = append(leaf.Entries, ObjectEntry{Entry: Entry{Type: EntryDir, Name: fmt.Sprintf("%04d", i)}, ID: someTop})
	}
	objects := map[[HashLen]byte]*Object{someTop: {}}
	id := someTop
	for range 3 {
		o := &Object{}
		for i := range 2048 {
			o.Entries = append(o.Entries, ObjectEntry{Entry: Entry{Type: EntryDir, Name: fmt.Sprintf("%04d", i)}, ID: id})
		}
		b, _ := o.MarshalBinary()
		id = ObjectID(b)
		objects[id] = o
	}
	tm := &TreeManifest{PageHeight: 1, Root: ObjectEntry{Entry: Entry{Type: EntryDir, Name: "s"}, ID: id}}
	_, _, err := tm.flatten(objects, "", nil, 10000)
	checkErr(t, err, ErrMalformed, "more than 10000 entries")
}

// bigDir returns n sorted file entries.
func bigDir(n int) []ObjectEntry {
	es := make([]ObjectEntry, n)
	for i := range es {
		es[i] = ObjectEntry{Entry: Entry{Type: EntryFile, Mode: 0o644, Name: fmt.Sprintf("file-%06d.dat", 2*i), Size: 1, BlockShift: 10, Top: someTop}}
	}
	return es
}

// TestPages: a large directory is split into pages; a walk to one name needs one page; a
// change to one entry changes one page (and the directory's object), an insertion at most two.
func TestPages(t *testing.T) {
	es := bigDir(20000)
	objs, err := EncodeDirectory(es)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 10 || len(objs) > 200 {
		t.Fatalf("%d objects for a directory of 20,000 entries", len(objs))
	}
	decoded := map[[HashLen]byte]*Object{}
	for _, b := range objs {
		o, err := UnmarshalObject(b)
		if err != nil {
			t.Fatal(err)
		}
		decoded[ObjectID(b)] = o
	}
	if !decoded[ObjectID(objs[0])].Paged() {
		t.Fatal("the directory's object is not paged")
	}
	tm := &TreeManifest{PageHeight: 4, Root: ObjectEntry{Entry: Entry{Type: EntryDir, Name: "s"}, ID: ObjectID(objs[0])}}
	m, _, err := tm.Flatten(decoded, "")
	if err != nil || len(m.Entries) != 20001 {
		t.Fatalf("flattened %v entries, %v", m, err)
	}
	have := map[[HashLen]byte]*Object{}
	for {
		m, missing, err := tm.Flatten(have, "s/file-012346.dat")
		if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			if len(have) != 2 || len(m.Entries) != 2 || m.Entries[1].Name != "s/file-012346.dat" {
				t.Errorf("walking to one name: %d objects, entries %v", len(have), entryNames(m.Entries))
			}
			break
		}
		for _, id := range missing {
			have[id] = decoded[id]
		}
	}
	if m, _, _ := tm.Flatten(decoded, "s/file-012347.dat"); m == nil || len(m.Entries) != 1 {
		t.Errorf("a name that is not there: %v", m)
	}

	changed := func(es []ObjectEntry) int {
		t.Helper()
		again, err := EncodeDirectory(es)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range again[1:] {
			if decoded[ObjectID(b)] == nil {
				n++
			}
		}
		return n
	}
	es[9000].Size = 2
	if n := changed(es); n != 1 {
		t.Errorf("changing one entry changed %d pages, want 1", n)
	}
	es[9000].Size = 1
	ins := append(append(append([]ObjectEntry(nil), es[:9000]...), ObjectEntry{Entry: Entry{Type: EntryFile, Name: "file-017999.dat", BlockShift: 10}}), es[9000:]...)
	if n := changed(ins); n < 1 || n > 2 {
		t.Errorf("inserting one entry changed %d pages, want 1 or 2", n)
	}
}

func TestPagesHostile(t *testing.T) {
	es := bigDir(5000)
	objs, err := EncodeDirectory(es)
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[[HashLen]byte]*Object{}
	for _, b := range objs {
		o, _ := UnmarshalObject(b)
		decoded[ObjectID(b)] = o
	}
	dir := decoded[ObjectID(objs[0])]
	walk := func(dir *Object) error {
		b, err := dir.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		objects := map[[HashLen]byte]*Object{ObjectID(b): dir}
		for id, o := range decoded {
			objects[id] = o
		}
		tm := &TreeManifest{PageHeight: 4, Root: ObjectEntry{Entry: Entry{Type: EntryDir, Name: "s"}, ID: ObjectID(b)}}
		_, _, err = tm.Flatten(objects, "")
		return err
	}
	if err := walk(dir); err != nil {
		t.Fatal(err)
	}
	renamed := &Object{Entries: append([]ObjectEntry(nil), dir.Entries...)}
	renamed.Entries[1].Name += "~" // names no entry of its page
	checkErr(t, walk(renamed), ErrMalformed, "starts at")
	swapped := &Object{Entries: append([]ObjectEntry(nil), dir.Entries...)}
	swapped.Entries[0].ID, swapped.Entries[1].ID = swapped.Entries[1].ID, swapped.Entries[0].ID
	checkErr(t, walk(swapped), ErrMalformed, "")
	nested := &Object{Entries: []ObjectEntry{{Entry: Entry{Type: EntryPage, Name: dir.Entries[0].Name}, ID: ObjectID(objs[0])}}}
	checkErr(t, walk(nested), ErrMalformed, "has pages")
}

// TestPagesBeyondOneObject: a directory whose listing exceeds MaxObjectLen is served in pages.
func TestPagesBeyondOneObject(t *testing.T) {
	name := strings.Repeat("n", 240)
	es := make([]ObjectEntry, 80000) // about 20 MB of entries
	for i := range es {
		es[i] = ObjectEntry{Entry: Entry{Type: EntrySymlink, Name: fmt.Sprintf("%s%08d", name, i), Target: "t"}}
	}
	objs, err := EncodeDirectory(es)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range objs {
		total += len(b)
		if len(b) > MaxObjectLen {
			t.Fatalf("an object of %d bytes", len(b))
		}
	}
	if total < MaxObjectLen {
		t.Fatalf("test setup: %d bytes in all", total)
	}
}

// TestFlattenPruned: a pruned directory is listed with nothing below it, and the objects below
// it are neither asked for nor used; the rest of the walk is Flatten's.
func TestFlattenPruned(t *testing.T) {
	tm, objects, err := SplitManifest(splitTree())
	if err != nil {
		t.Fatal(err)
	}
	all := map[[HashLen]byte]*Object{}
	for id, b := range objects {
		o, err := UnmarshalObject(b)
		if err != nil {
			t.Fatal(err)
		}
		all[id] = o
	}
	full, fullIDs, err := tm.Flatten(all, "")
	if err != nil || full == nil {
		t.Fatal(err)
	}
	prune := func(name string) bool { return name == "s/a" }
	// Only the share's object at first: the walk asks for what it needs, a's not among them.
	root := map[[HashLen]byte]*Object{tm.Root.ID: all[tm.Root.ID]}
	_, want, err := tm.FlattenPruned(root, "", prune)
	if err != nil {
		t.Fatal(err)
	}
	var aID [HashLen]byte
	for _, e := range all[tm.Root.ID].Entries {
		if e.Name == "a" {
			aID = e.ID
		}
	}
	if slices.Contains(want, aID) {
		t.Error("the pruned directory's object was asked for")
	}
	m, ids, err := tm.FlattenPruned(all, "", prune)
	if err != nil || m == nil {
		t.Fatalf("pruned walk: %v", err)
	}
	if slices.Contains(ids, aID) || len(ids) >= len(fullIDs) {
		t.Errorf("pruned walk used %d objects (the whole walk %d), a's among them: %v", len(ids), len(fullIDs), slices.Contains(ids, aID))
	}
	var names []string
	for _, e := range m.Entries {
		names = append(names, e.Name)
	}
	for _, e := range full.Entries {
		below := strings.HasPrefix(e.Name, "s/a/")
		if got := slices.Contains(names, e.Name); got == below {
			t.Errorf("%s: listed %v in the pruned walk", e.Name, got)
		}
	}
}
