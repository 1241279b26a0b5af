package receiver_test

import (
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
)

// TestFetchFromStoredTrees: a server that keeps only the upper levels of its trees in memory
// (the rest in its leaf store and group index) serves a whole file, a scattered delta (tree
// pages and one-block channels below the resident levels) and an unrelated copy exactly as
// one holding every tree whole.
func TestFetchFromStoredTrees(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	data := randBytes(t, 1000*1024+17) // 1001 blocks; resident from level 6 (16 nodes)
	writeFile(t, filepath.Join(src, "big"), data)
	s := serveWith(t, n, src, serveOpts{resident: 16})
	if groups, _ := s.Groups(); groups < 2*1001 {
		t.Fatalf("the server answers %d groups, fewer than the tree's nodes", groups)
	}

	dst := filepath.Join(t.TempDir(), "big")
	st := fetch(t, n.Conn(0), "share/big", dst, nil)
	sameFile(t, filepath.Join(src, "big"), dst)
	if st.Needed != 1001 {
		t.Errorf("whole fetch: needed %d (stats %+v)", st.Needed, st)
	}

	local := append([]byte(nil), data...)
	changed := []int{3, 77, 150, 299, 640, 1000}
	for _, b := range changed {
		local[b*1024+5] ^= 0xff
	}
	writeFile(t, dst, local)
	st = fetch(t, n.Conn(0), "share/big", dst, nil)
	sameFile(t, filepath.Join(src, "big"), dst)
	if st.Needed != int64(len(changed)) || st.Reused != int64(1001-len(changed)) {
		t.Errorf("delta: needed %d reused %d, want %d and %d (stats %+v)", st.Needed, st.Reused, len(changed), 1001-len(changed), st)
	}

	writeFile(t, dst, randBytes(t, len(data)))
	fetch(t, n.Conn(0), "share/big", dst, nil)
	sameFile(t, filepath.Join(src, "big"), dst)
}
