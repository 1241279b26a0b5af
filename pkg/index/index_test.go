package index

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

func write(t *testing.T, p string, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func TestBuildNamesTypesAndTrees(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "a.txt"), "hello", 0o640)
	write(t, filepath.Join(src, "d", "b"), "bbbb", 0o755|os.ModeSetuid)
	if err := os.MkdirAll(filepath.Join(src, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(src, "d", "link")); err != nil {
		t.Fatal(err)
	}
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		typ  wire.EntryType
		mode uint32
	}{
		{"share", wire.EntryDir, 0o755},
		{"share/a.txt", wire.EntryFile, 0o640},
		{"share/d", wire.EntryDir, 0o755},
		{"share/d/b", wire.EntryFile, 0o4755},
		{"share/d/link", wire.EntrySymlink, 0o777},
		{"share/empty", wire.EntryDir, 0o700},
	}
	if len(ix.Entries()) != len(want) {
		t.Fatalf("entries: %+v", ix.Entries())
	}
	for i, w := range want {
		e := ix.Entries()[i]
		if e.Name != w.name || e.Type != w.typ || e.Mode != w.mode {
			t.Errorf("entry %d = %s %v %o, want %s %v %o", i, e.Name, e.Type, e.Mode, w.name, w.typ, w.mode)
		}
	}
	if ix.Entries()[4].Target != "../outside" {
		t.Errorf("symlink target %q", ix.Entries()[4].Target)
	}
	if len(ix.Files) != 2 || ix.Bytes != 9 {
		t.Fatalf("files %d bytes %d", len(ix.Files), ix.Bytes)
	}
	for _, f := range ix.Files {
		data, _ := os.ReadFile(f.Path())
		tr, _ := merkle.Build(context.Background(), bytesReader(data), int64(len(data)), 1024, 1)
		if f.Tree.Root() != tr.Root() || f.Entry.Top != [32]byte(tr.Top()) || f.Entry.BlockShift != 10 {
			t.Errorf("%s: tree or entry does not match the file", f.Entry.Name)
		}
	}
	m := ix.Manifest(false, 4, 7)
	if _, err := m.MarshalBinary(); err != nil {
		t.Fatalf("manifest does not validate: %v", err)
	}
}

func TestBuildSingleFileAndFollowedArgument(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f.iso"), "data", 0o644)
	ix, err := Build(context.Background(), filepath.Join(dir, "f.iso"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Entries()) != 1 || ix.Entries()[0].Name != "f.iso" || ix.Share != "f.iso" {
		t.Fatalf("entries %+v", ix.Entries())
	}
	// A symlink given as the argument is followed and served under its own name.
	if err := os.Symlink(filepath.Join(dir, "f.iso"), filepath.Join(dir, "current")); err != nil {
		t.Fatal(err)
	}
	ix, err = Build(context.Background(), filepath.Join(dir, "current"), Options{})
	if err != nil || ix.Entries()[0].Name != "current" || ix.Entries()[0].Type != wire.EntryFile {
		t.Fatalf("followed argument: %v %+v", err, ix)
	}
}

func TestBuildRefusesRootAndMissing(t *testing.T) {
	if _, err := Build(context.Background(), "/", Options{}); err == nil {
		t.Error("serving / should be refused")
	}
	if _, err := Build(context.Background(), filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("missing source accepted")
	}
	if _, err := Build(context.Background(), t.TempDir(), Options{BlockSize: 3000}); err == nil {
		t.Error("bad block size accepted")
	}
}

func TestBuildSkipsSpecialFiles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "ok"), "x", 0o644)
	if err := mkfifo(filepath.Join(src, "fifo")); err != nil {
		t.Skip("no fifo support:", err)
	}
	ix, err := Build(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Skipped != 1 || len(ix.Entries()) != 2 {
		t.Fatalf("skipped %d entries %+v", ix.Skipped, ix.Entries())
	}
}

func TestRefreshReusesUnchangedAndSeesChanges(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "same"), "unchanged", 0o644)
	write(t, filepath.Join(src, "edit"), "before", 0o644)
	write(t, filepath.Join(src, "gone"), "bye", 0o644)
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	again, changed, err := Refresh(context.Background(), ix, Options{})
	if err != nil || changed {
		t.Fatalf("refresh of an unchanged share: changed=%v err=%v", changed, err)
	}
	if again.Files[0].Tree != ix.Files[0].Tree {
		t.Error("unchanged file was hashed again instead of reused")
	}
	write(t, filepath.Join(src, "edit"), "after!", 0o644)
	future := time.Now().Add(time.Hour)
	_ = os.Chtimes(filepath.Join(src, "edit"), future, future)
	_ = os.Remove(filepath.Join(src, "gone"))
	write(t, filepath.Join(src, "new"), "fresh", 0o644)
	next, changed, err := Refresh(context.Background(), again, Options{})
	if err != nil || !changed {
		t.Fatalf("refresh after edits: changed=%v err=%v", changed, err)
	}
	names := map[string]*File{}
	for _, f := range next.Files {
		names[f.Entry.Name] = f
	}
	if names["share/gone"] != nil || names["share/new"] == nil || names["share/edit"].Size() != 6 {
		t.Fatalf("refreshed files: %+v", next.Files)
	}
	if names["share/same"].Tree != ix.Files[2].Tree && names["share/same"].Tree.Root() != ix.Files[2].Tree.Root() {
		t.Error("unchanged file tree differs")
	}
	if next.BlockSize != 1024 || names["share/new"].Entry.BlockShift != 10 {
		t.Errorf("refresh lost the block size: %d", next.BlockSize)
	}
}

func TestFileChanged(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	write(t, src, "abc", 0o644)
	ix, err := Build(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := ix.Files[0]
	if c, err := f.Changed(); c || err != nil {
		t.Fatalf("fresh file changed=%v err=%v", c, err)
	}
	write(t, src, "abcd", 0o644)
	if c, _ := f.Changed(); !c {
		t.Error("grown file not seen as changed")
	}
	_ = os.Remove(src)
	if c, err := f.Changed(); !c || err == nil {
		t.Error("deleted file not seen as changed")
	}
}

func TestCancel(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "f"), string(make([]byte, 1<<20)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, src, Options{}); err == nil {
		t.Fatal("cancelled build succeeded")
	}
}
