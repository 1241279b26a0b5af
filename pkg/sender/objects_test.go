package sender

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/watch"
	"github.com/lcsync/lcsync/pkg/wire"
)

// objectGroups returns the object channels of s's table.
func objectGroups(s *Sender) map[string]bool {
	out := map[string]bool{}
	for g, r := range s.tab.groups {
		if r.kind == mcast.KindObject {
			out[g.String()] = true
		}
	}
	return out
}

// TestObjectChannels: every directory's tree object is answered on its channel, one cycle of
// chunks that reassemble to the object, then an end packet; after a one-file change the new
// object channels are those of the directories from the file to the root, no others, and the
// previous generation's objects are answered for one more generation.
func TestObjectChannels(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	for _, d := range []string{"a/b", "c", "d/e"} {
		writeTestFile(t, filepath.Join(src, d, "x"), d)
	}
	ix, err := index.Build(context.Background(), src, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordNet{}
	s, err := New(Config{Index: ix, Transport: rec, Trigger: nullNet{}})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Gather = 0
	before := objectGroups(s)
	if len(before) != 6 { // share, a, a/b, c, d, d/e
		t.Fatalf("%d object channels for 6 directories", len(before))
	}
	tm, err := ix.TreeManifest(false, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := mcast.ObjectGroup(s.cfg.Scope, tm.Root.ID)
	s.activate(actKey{1, g}, host(1), time.Now(), false)
	for range 20 {
		s.round(ctx)
		if err := s.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var object []byte
	ends := 0
	rec.mu.Lock()
	for _, d := range rec.sent {
		switch typ, _ := wire.PeekType(d); typ {
		case wire.TypeObject:
			c, err := wire.ParseObjectChunk(d)
			if err != nil || c.ID != tm.Root.ID {
				t.Fatalf("object chunk %v for %x", err, c.ID[:4])
			}
			if int(c.Offset) == len(object) {
				object = append(object, c.Data...)
			}
		case wire.TypeEnd:
			ends++
		}
	}
	rec.mu.Unlock()
	if wire.ObjectID(object) != tm.Root.ID {
		t.Fatalf("the chunks sent (%d bytes) do not make the root object", len(object))
	}
	o, err := wire.UnmarshalObject(object)
	if err != nil || len(o.Entries) != 3 {
		t.Fatalf("root object: %v, %+v", err, o)
	}
	if ends != 1 {
		t.Errorf("%d end packets, want 1", ends)
	}
	if st := s.Stats(); st.ObjectPackets == 0 {
		t.Error("Stats.ObjectPackets not counted")
	}

	writeTestFile(t, filepath.Join(src, "a/b/x"), "changed")
	r, err := index.Update(ctx, ix, []watch.Change{{Rel: "a/b/x"}}, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.applyRefresh(refreshResult{ix: r.Index, changed: true})
	after := objectGroups(s)
	var added int
	for g := range after {
		if !before[g] {
			added++
		}
	}
	// The previous generation's objects are still answered, for walks that began on it.
	if len(after) != 9 || added != 3 || !after[g.String()] {
		t.Errorf("after a change in share/a/b: %d object channels, %d new, the old root's kept %v; want 9, 3 (a/b, a, share), true",
			len(after), added, after[g.String()])
	}
	writeTestFile(t, filepath.Join(src, "c/x"), "changed too")
	r, err = index.Update(ctx, r.Index, []watch.Change{{Rel: "c/x"}}, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.applyRefresh(refreshResult{ix: r.Index, changed: true})
	if n := len(objectGroups(s)); n != 8 || objectGroups(s)[g.String()] {
		t.Errorf("two generations on: %d object channels (want 8: 6 and the 2 the last change replaced), the first root kept %v",
			n, objectGroups(s)[g.String()])
	}
}
