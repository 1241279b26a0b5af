package receiver_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
)

// TestFetchDelta: a local copy with a few scattered blocks changed gets exactly those blocks.
func TestFetchDelta(t *testing.T) {
	n := mcasttest.NewNet()
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
	st := fetch(t, n.Conn(0), "share/big", dst, nil)
	sameFile(t, filepath.Join(src, "big"), dst)
	if st.Needed != int64(len(changed)) || st.Reused != int64(301-len(changed)) {
		t.Errorf("needed %d reused %d, want %d and %d (stats %+v)", st.Needed, st.Reused, len(changed), 301-len(changed), st)
	}
	// Only the changed blocks' pieces should have arrived (plus tree pages).
	if st.WastedBytes != 0 {
		t.Errorf("wasted %d bytes on a sparse delta", st.WastedBytes)
	}
	// Same again: nothing to do.
	st = fetch(t, n.Conn(0), "share/big", dst, nil)
	if st.Unchanged != 1 || st.Needed != 0 {
		t.Errorf("second fetch: %+v", st)
	}
}

// TestFetchUnrelatedCopy: a local copy with nothing in common with the file is not walked
// down to its last tree pages (pages whose nodes all differ are fetched whole), and a copy
// whose first half differs still reuses its second half.
func TestFetchUnrelatedCopy(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 1024*1024) // 1024 blocks of 1 KiB: pages at levels 10, 6 and 2
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)

	dst := filepath.Join(t.TempDir(), "f")
	writeFile(t, dst, randBytes(t, len(data)))
	st := fetch(t, n.Conn(0), "share/f", dst, nil)
	sameFile(t, filepath.Join(src, "f"), dst)
	// The top page and its 16 children; the 256 pages below them are not needed.
	if st.Needed != 1024 || st.Joins > 40 {
		t.Errorf("unrelated copy: needed %d blocks with %d joins (stats %+v)", st.Needed, st.Joins, st)
	}

	half := append(randBytes(t, len(data)/2), data[len(data)/2:]...)
	writeFile(t, dst, half)
	st = fetch(t, n.Conn(0), "share/f", dst, nil)
	sameFile(t, filepath.Join(src, "f"), dst)
	if st.Needed != 512 || st.Reused != 512 {
		t.Errorf("half-changed copy: needed %d reused %d, want 512 and 512 (stats %+v)", st.Needed, st.Reused, st)
	}
}

// TestFetchShorterLonger: local copies shorter or longer than the source.
func TestFetchShorterLonger(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 64*1024+100)
	writeFile(t, filepath.Join(src, "f"), data)
	serve(t, n, src, false)
	for _, local := range [][]byte{data[:10*1024], data[:30*1024+5], append(append([]byte(nil), data...), randBytes(t, 5000)...),
		data[:1], randBytes(t, 1024), randBytes(t, 900)} {
		dst := filepath.Join(t.TempDir(), "f")
		writeFile(t, dst, local)
		fetch(t, n.Conn(0), "share/f", dst, nil)
		sameFile(t, filepath.Join(src, "f"), dst)
	}
}

// TestFetchDeltaSameTimes: a local copy with the source's size and modification time is
// hashed without being written out (it looks unchanged), then its reused blocks are copied
// and checked; one with another time is written into the temporary file as it is hashed.
// Both end up exact.
func TestFetchDeltaSameTimes(t *testing.T) {
	n := mcasttest.NewNet()
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
		st := fetch(t, n.Conn(0), "share/f", dst, nil)
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
