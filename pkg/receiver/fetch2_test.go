package receiver_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/receiver"
)

// TestFetchDelta: a local copy with a few scattered blocks changed gets exactly those blocks.
func TestFetchDelta(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 300*1024+17)
	writeFile(t, filepath.Join(src, "big"), data)
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "big")
	local := append([]byte(nil), data...)
	changed := []int{3, 77, 150, 299}
	for _, b := range changed {
		local[b*1024+5] ^= 0xff
	}
	writeFile(t, dst, local)
	st := fetch(t, n.receiver(0), "share/big", dst, nil)
	sameFile(t, filepath.Join(src, "big"), dst)
	if st.Needed != int64(len(changed)) || st.Reused != int64(301-len(changed)) {
		t.Errorf("needed %d reused %d, want %d and %d (stats %+v)", st.Needed, st.Reused, len(changed), 301-len(changed), st)
	}
	// Only the changed blocks' pieces should have arrived (plus tree pages).
	if st.WastedBytes != 0 {
		t.Errorf("wasted %d bytes on a sparse delta", st.WastedBytes)
	}
	// Same again: nothing to do.
	st = fetch(t, n.receiver(0), "share/big", dst, nil)
	if st.Unchanged != 1 || st.Needed != 0 {
		t.Errorf("second fetch: %+v", st)
	}
}

// TestFetchUnrelatedCopy: a local copy with nothing in common with the file is not walked
// down to its last tree pages (pages whose nodes all differ are fetched whole), and a copy
// whose first half differs still reuses its second half.
func TestFetchUnrelatedCopy(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 1024*1024) // 1024 blocks of 1 KiB: pages at levels 10, 6 and 2
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)

	dst := filepath.Join(t.TempDir(), "f")
	writeFile(t, dst, randBytes(t, len(data)))
	st := fetch(t, n.receiver(0), "share/f", dst, nil)
	sameFile(t, filepath.Join(src, "f"), dst)
	// The top page and its 16 children; the 256 pages below them are not needed.
	if st.Needed != 1024 || st.Joins > 40 {
		t.Errorf("unrelated copy: needed %d blocks with %d joins (stats %+v)", st.Needed, st.Joins, st)
	}

	half := append(randBytes(t, len(data)/2), data[len(data)/2:]...)
	writeFile(t, dst, half)
	st = fetch(t, n.receiver(0), "share/f", dst, nil)
	sameFile(t, filepath.Join(src, "f"), dst)
	if st.Needed != 512 || st.Reused != 512 {
		t.Errorf("half-changed copy: needed %d reused %d, want 512 and 512 (stats %+v)", st.Needed, st.Reused, st)
	}
}

// TestFetchShorterLonger: local copies shorter or longer than the source.
func TestFetchShorterLonger(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 64*1024+100)
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)
	for _, local := range [][]byte{data[:10*1024], data[:30*1024+5], append(append([]byte(nil), data...), randBytes(t, 5000)...),
		data[:1], randBytes(t, 1024), randBytes(t, 900)} {
		dst := filepath.Join(t.TempDir(), "f")
		writeFile(t, dst, local)
		fetch(t, n.receiver(0), "share/f", dst, nil)
		sameFile(t, filepath.Join(src, "f"), dst)
	}
}

func makeTree(t *testing.T, root string) {
	writeFile(t, filepath.Join(root, "a.txt"), []byte("hello\n"))
	writeFile(t, filepath.Join(root, "sub", "b.bin"), randBytes(t, 5000))
	writeFile(t, filepath.Join(root, "sub", "deeper", "c.bin"), randBytes(t, 40000))
	writeFile(t, filepath.Join(root, "sub", "same1"), []byte(strings.Repeat("x", 3000)))
	writeFile(t, filepath.Join(root, "sub", "same2"), []byte(strings.Repeat("x", 3000)))
	writeFile(t, filepath.Join(root, "empty"), nil)
	if err := os.MkdirAll(filepath.Join(root, "emptydir", "nested"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/b.bin", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "outside")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "sub", "b.bin"), 0o751); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "a.txt"), mt, mt); err != nil {
		t.Fatal(err)
	}
}

// listing describes a tree: type, mode (when perms), size, content and link targets.
func listing(t *testing.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, _ := d.Info()
		line := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " " + string(rune(len(b))) + " " + fmtInt(len(b)) + " " + fmtInt(int(crc(b)))
			if rel == "a.txt" {
				line += " " + fi.ModTime().UTC().String()
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

func TestFetchDirectory(t *testing.T) {
	for _, carousel := range []bool{false, true} {
		n := newFakeNet()
		src := filepath.Join(t.TempDir(), "share")
		makeTree(t, src)
		serve(t, n, src, carousel)
		dst := t.TempDir()
		// Contents of share/ into dst, with -p -t.
		fetch(t, n.receiver(0), "share/", dst, func(c *receiver.Config) { c.Perms, c.Times = true, true })
		want, got := listing(t, src), listing(t, dst)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("carousel=%v trees differ:\nwant\n%s\ngot\n%s", carousel, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
		// share/sub (no slash) into an existing dir: dst2/sub.
		dst2 := t.TempDir()
		fetch(t, n.receiver(0), "share/sub", dst2, nil)
		sameFile(t, filepath.Join(src, "sub", "deeper", "c.bin"), filepath.Join(dst2, "sub", "deeper", "c.bin"))
		// --delete removes extraneous entries.
		writeFile(t, filepath.Join(dst, "extra"), []byte("x"))
		writeFile(t, filepath.Join(dst, "sub", "extra2"), []byte("x"))
		st := fetch(t, n.receiver(0), "share/", dst, func(c *receiver.Config) { c.Perms, c.Times, c.Delete = true, true, true })
		if st.Deleted != 2 {
			t.Errorf("deleted %d, want 2", st.Deleted)
		}
		if got := listing(t, dst); strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("after --delete trees differ:\n%s", strings.Join(got, "\n"))
		}
	}
}

func TestFetchManyReceiversWithLoss(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	writeFile(t, filepath.Join(src, "f"), randBytes(t, 500*1024+3))
	serve(t, n, src, false)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 30 * time.Millisecond) // late joiners
			dst := filepath.Join(t.TempDir(), "f")
			st := fetch(t, n.receiver(0.05), "share/f", dst, nil)
			sameFile(t, filepath.Join(src, "f"), dst)
			t.Logf("receiver %d: %+v", i, st)
		}()
	}
	wg.Wait()
}

func TestFetchDryRun(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	makeTree(t, src)
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "out")
	var results []receiver.FileResult
	fetch(t, n.receiver(0), "share/", dst, func(c *receiver.Config) {
		c.DryRun = true
		c.OnFile = func(r receiver.FileResult) { results = append(results, r) }
	})
	if _, err := os.Lstat(dst); !os.IsNotExist(err) {
		t.Fatalf("dry run created %s: %v", dst, err)
	}
	if len(results) == 0 {
		t.Fatal("dry run reported nothing")
	}
}

func TestFetchNotFound(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	makeTree(t, src)
	serve(t, n, src, false)
	_, err := receiver.Fetch(t.Context(), receiver.Config{Name: "share/nope", Dest: t.TempDir(), Transport: n.receiver(0), IdleTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchNoServer(t *testing.T) {
	n := newFakeNet()
	_, err := receiver.Fetch(t.Context(), receiver.Config{Name: "share/x", Dest: t.TempDir(), Transport: n.receiver(0), IdleTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no manifest") {
		t.Fatalf("err = %v", err)
	}
}

// TestSenderSendsAboutOneCycle: with receivers that join together and leave when done, the
// sender puts each block on the link about once, whatever the number of receivers.
func TestSenderSendsAboutOneCycle(t *testing.T) {
	for _, receivers := range []int{1, 4} {
		n := newFakeNet()
		src := filepath.Join(t.TempDir(), "share")
		const blocks = 600
		writeFile(t, filepath.Join(src, "f"), randBytes(t, blocks*1024))
		snd := serveRate(t, n, src, false, 20e6) // ~0.25 s per cycle, so the receivers overlap
		var wg sync.WaitGroup
		for range receivers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dst := filepath.Join(t.TempDir(), "f")
				fetch(t, n.receiver(0), "share/f", dst, nil)
				sameFile(t, filepath.Join(src, "f"), dst)
			}()
		}
		wg.Wait()
		time.Sleep(100 * time.Millisecond) // let the sender notice the leaves
		st := snd.Stats()
		// One cycle: the leaf hashes (600/44 packets), 600 block packets, a few manifest chunks.
		if st.BlockPackets > 2*blocks {
			t.Errorf("%d receivers: sent %d block packets for %d blocks (stats %+v)", receivers, st.BlockPackets, blocks, st)
		}
		t.Logf("%d receivers: %d block packets, %d fast leaves, %d dup joins", receivers, st.BlockPackets, st.FastLeaves, st.DupJoins)
	}
}

// TestFetchManyFilesThroughStream: a fresh directory of many small files comes through its
// directory stream (a handful of joins, not one per file); files with a local copy below it
// still go through the tree walk.
func TestFetchManyFilesThroughStream(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	for i := range 300 {
		writeFile(t, filepath.Join(src, "d"+fmtInt(i%7), "f"+fmtInt(i)), randBytes(t, 1+i*37%5000))
	}
	writeFile(t, filepath.Join(src, "empty"), nil)
	serve(t, n, src, false)
	dst := t.TempDir()
	// A few files exist locally, one of them changed.
	for _, i := range []int{3, 10} {
		b, _ := os.ReadFile(filepath.Join(src, "d"+fmtInt(i%7), "f"+fmtInt(i)))
		if i == 10 {
			b[0] ^= 1
		}
		writeFile(t, filepath.Join(dst, "d"+fmtInt(i%7), "f"+fmtInt(i)), b)
	}
	st := fetch(t, n.receiver(0), "share/", dst, nil)
	want, got := listing(t, src), listing(t, dst)
	if strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("trees differ")
	}
	if st.Joins > 20 {
		t.Errorf("%d joins for 300 files: the directory stream was not used", st.Joins)
	}
	if st.Files+st.Unchanged != 301 {
		t.Errorf("files %d unchanged %d", st.Files, st.Unchanged)
	}
	t.Logf("stats %+v", st)
}

// TestDeltaSharedByReceivers: receivers holding the same outdated copy walk the same pages and
// fetch the same blocks at about the same time; the sender's gather window makes them share
// the sends, so the changed blocks go out about once, not once per receiver.
func TestDeltaSharedByReceivers(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 2000*1024)
	writeFile(t, filepath.Join(src, "f"), data)
	snd := serve(t, n, src, false)
	old := append([]byte(nil), data...)
	changed := []int{5, 300, 301, 777, 1500, 1999}
	for _, b := range changed {
		old[b*1024] ^= 0xff
	}
	var dsts []string
	for range 4 {
		dst := filepath.Join(t.TempDir(), "f")
		writeFile(t, dst, old)
		dsts = append(dsts, dst)
	}
	var wg sync.WaitGroup
	for _, dst := range dsts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := fetch(t, n.receiver(0), "share/f", dst, nil)
			if st.Needed != int64(len(changed)) {
				t.Errorf("needed %d blocks, want %d", st.Needed, len(changed))
			}
		}()
	}
	wg.Wait()
	for _, dst := range dsts {
		sameFile(t, filepath.Join(src, "f"), dst)
	}
	st := snd.Stats()
	t.Logf("4 receivers, %d changed blocks: %d block packets, %d tree packets, %d activations", len(changed), st.BlockPackets, st.TreePackets, st.Activations)
	if st.BlockPackets > uint64(2*len(changed)) {
		t.Errorf("%d block packets for %d changed blocks shared by 4 receivers", st.BlockPackets, len(changed))
	}
}

// TestFetchDeltaSameTimes: a local copy with the source's size and modification time is
// hashed without being written out (it looks unchanged), then its reused blocks are copied
// and checked; one with another time is written into the temporary file as it is hashed.
// Both end up exact.
func TestFetchDeltaSameTimes(t *testing.T) {
	n := newFakeNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 200*1024+3)
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)
	fi, err := os.Stat(filepath.Join(src, "f"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sameTime := range []bool{true, false} {
		dst := filepath.Join(t.TempDir(), "f")
		local := append([]byte(nil), data...)
		local[100*1024+9] ^= 1
		writeFile(t, dst, local)
		if sameTime {
			if err := os.Chtimes(dst, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}
		st := fetch(t, n.receiver(0), "share/f", dst, nil)
		sameFile(t, filepath.Join(src, "f"), dst)
		if st.Needed != 1 || st.Reused != 200 {
			t.Errorf("same time %v: needed %d reused %d, want 1 and 200", sameTime, st.Needed, st.Reused)
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".f.lcsync-*"))
		if len(left) != 0 {
			t.Errorf("same time %v: temporary files left: %v", sameTime, left)
		}
	}
}
