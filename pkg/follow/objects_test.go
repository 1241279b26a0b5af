package follow

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/wire"
)

// keptTree returns a two-level tree: its manifest header and objects.
func keptTree(t *testing.T) (*wire.TreeManifest, map[[wire.HashLen]byte]*wire.Object) {
	t.Helper()
	m := &wire.Manifest{Share: "share", Generation: 7, PageHeight: 4, Entries: []wire.Entry{
		{Name: "share", Type: wire.EntryDir, Mode: 0o755},
		{Name: "share/a", Type: wire.EntryFile, Mode: 0o644, Size: 5, BlockShift: 10, Top: [32]byte{1}},
		{Name: "share/d", Type: wire.EntryDir, Mode: 0o755, MTime: 12345},
		{Name: "share/d/b", Type: wire.EntryFile, Mode: 0o644, Size: 9, BlockShift: 10, Top: [32]byte{2}},
	}}
	tm, blobs, err := wire.SplitManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[[wire.HashLen]byte]*wire.Object{}
	for id, b := range blobs {
		o, err := wire.UnmarshalObject(b)
		if err != nil {
			t.Fatal(err)
		}
		objs[id] = o
	}
	return tm, objs
}

// TestObjectsRoundTrip: what saveObjects records, loadObjects reads back, and it walks to the
// manifest applied, for the generation recorded only.
func TestObjectsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if k, err := loadObjects(root); err != nil || k.tree != nil || k.objects != nil {
		t.Fatalf("no file: %+v, %v", k, err)
	}
	tm, objs := keptTree(t)
	if err := saveObjects(root, tm, objs); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, objectsTemp)); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	k, err := loadObjects(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.objects) != len(objs) || k.tree.Root != tm.Root || k.tree.Generation != 7 {
		t.Fatalf("read back %d objects, root %+v", len(k.objects), k.tree.Root)
	}
	m := k.applied(7, "share", nil)
	if m == nil || len(m.Entries) != 4 || m.Entries[3].Name != "share/d/b" {
		t.Fatalf("applied: %+v", m)
	}
	if m := k.applied(8, "share", nil); m != nil {
		t.Error("a record of generation 7 taken for generation 8")
	}
	if m := k.applied(7, "share/d", nil); m == nil || len(m.Entries) != 3 {
		t.Errorf("applied below share/d: %+v", m)
	}
}

// TestObjectsChecked: a damaged objects file is refused or, where the damage still decodes,
// cannot stand for the objects it replaced: each object is kept by its own hash.
func TestObjectsChecked(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tm, objs := keptTree(t)
	if err := saveObjects(root, tm, objs); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, ObjectsName))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte(nil), good...), 0),
		"bad magic":      append([]byte("LCFX"), good[4:]...),
		"newer version":  append(append([]byte("LCFO"), 2), good[5:]...),
		"empty":          {},
		"no header":      []byte("LCFO\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"),
	} {
		if err := os.WriteFile(filepath.Join(dir, ObjectsName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if k, err := loadObjects(root); err == nil {
			t.Errorf("%s: accepted (%d objects)", name, len(k.objects))
		}
	}
	// A byte of the last object's last entry changed (a file's top hash): it still decodes,
	// under another id, and the record no longer walks to a manifest.
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0x40
	if err := os.WriteFile(filepath.Join(dir, ObjectsName), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := loadObjects(root)
	if err != nil {
		t.Fatalf("a changed top hash: %v", err)
	}
	missing := 0
	for id := range objs {
		if k.objects[id] == nil {
			missing++
		}
	}
	if missing != 1 || k.applied(7, "share", nil) != nil {
		t.Errorf("a damaged object: %d of the originals missing (want 1), applied %v", missing, k.applied(7, "share", nil) != nil)
	}
}

// TestObjectsNamesAreKept: the objects file and its temporary are kept names, as the state.
func TestObjectsNamesAreKept(t *testing.T) {
	if ObjectsName != destfs.KeptName("lcsync-follow", 2) || objectsTemp != destfs.KeptName("lcsync-follow", 3) {
		t.Errorf("ObjectsName %q and objectsTemp %q are not destfs.KeptName(\"lcsync-follow\", 2 and 3)", ObjectsName, objectsTemp)
	}
	if !destfs.IsTemp(ObjectsName) {
		t.Errorf("%s is not a temporary-looking name: --delete would remove it", ObjectsName)
	}
}
