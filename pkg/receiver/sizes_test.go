package receiver_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
)

func TestFetchSizes(t *testing.T) {
	for _, carousel := range []bool{false, true} {
		n := mcasttest.NewNet()
		src := filepath.Join(t.TempDir(), "share")
		sizes := []int{0, 1, 1023, 1024, 1025, 2048 + 5, 3*1024 + 7, 9*1024 - 1, 200*1024 + 3}
		for _, sz := range sizes {
			writeFile(t, filepath.Join(src, "f", strconv.Itoa(sz)), randBytes(t, sz))
		}
		serve(t, n, src, carousel)
		dst := t.TempDir()
		for _, sz := range sizes {
			name := "share/f/" + strconv.Itoa(sz)
			st := fetch(t, n.Conn(0), name, dst+"/", nil)
			sameFile(t, filepath.Join(src, "f", strconv.Itoa(sz)), filepath.Join(dst, strconv.Itoa(sz)))
			if st.Corrupt != 0 || st.Malformed != 0 {
				t.Errorf("carousel=%v size %d: stats %+v", carousel, sz, st)
			}
		}
	}
}
