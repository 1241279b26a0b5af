package receiver_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

func TestFetchDirectory(t *testing.T) {
	for _, carousel := range []bool{false, true} {
		n := mcasttest.NewNet()
		src := filepath.Join(t.TempDir(), "share")
		makeTree(t, src)
		serve(t, n, src, carousel)
		dst := t.TempDir()
		// Contents of share/ into dst, with -p -t.
		fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.Perms, c.Times = true, true })
		want, got := listing(t, src), listing(t, dst)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("carousel=%v trees differ:\nwant\n%s\ngot\n%s", carousel, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
		// share/sub (no slash) into an existing dir: dst2/sub.
		dst2 := t.TempDir()
		fetch(t, n.Conn(0), "share/sub", dst2, nil)
		sameFile(t, filepath.Join(src, "sub", "deeper", "c.bin"), filepath.Join(dst2, "sub", "deeper", "c.bin"))
		// --delete removes extraneous entries.
		writeFile(t, filepath.Join(dst, "extra"), []byte("x"))
		writeFile(t, filepath.Join(dst, "sub", "extra2"), []byte("x"))
		st := fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.Perms, c.Times, c.Delete = true, true, true })
		if st.Deleted != 2 {
			t.Errorf("deleted %d, want 2", st.Deleted)
		}
		if got := listing(t, dst); strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Fatalf("after --delete trees differ:\n%s", strings.Join(got, "\n"))
		}
	}
}

// TestFetchManyFilesThroughStream: a fresh directory of many small files comes through its
// directory stream (a handful of joins, not one per file); files with a local copy below it
// still go through the tree walk.
func TestFetchManyFilesThroughStream(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	for i := range 300 {
		writeFile(t, filepath.Join(src, "d"+strconv.Itoa(i%7), "f"+strconv.Itoa(i)), randBytes(t, 1+i*37%5000))
	}
	writeFile(t, filepath.Join(src, "empty"), nil)
	serve(t, n, src, false)
	dst := t.TempDir()
	// A few files exist locally, one of them changed.
	for _, i := range []int{3, 10} {
		b, _ := os.ReadFile(filepath.Join(src, "d"+strconv.Itoa(i%7), "f"+strconv.Itoa(i)))
		if i == 10 {
			b[0] ^= 1
		}
		writeFile(t, filepath.Join(dst, "d"+strconv.Itoa(i%7), "f"+strconv.Itoa(i)), b)
	}
	st := fetch(t, n.Conn(0), "share/", dst, nil)
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

func TestFetchDryRun(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	makeTree(t, src)
	serve(t, n, src, false)
	dst := filepath.Join(t.TempDir(), "out")
	var results []receiver.FileResult
	fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) {
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
