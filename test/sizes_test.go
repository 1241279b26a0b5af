package test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// sizeCase is one file of the sizes matrix.
type sizeCase struct {
	name string
	size int64
}

// bigFileSize is the large file of the matrix: more than 100 MiB, with a short last block.
const bigFileSize = 100<<20 + 12345

// sizeCases are the sizes around the block boundaries for block size bs: empty, one byte,
// bs-1, bs, bs+1, an exact multiple, and 1 to 9 blocks with a short last block.
func sizeCases(bs int64, big bool) []sizeCase {
	cs := []sizeCase{
		{"empty", 0},
		{"one-byte", 1},
		{"bs-1", bs - 1},
		{"bs", bs},
		{"bs+1", bs + 1},
		{"4bs", 4 * bs},
	}
	for k := int64(1); k <= 9; k++ {
		cs = append(cs, sizeCase{fmt.Sprintf("%d-blocks-short", k), (k-1)*bs + bs/3 + 7*k})
	}
	if big {
		cs = append(cs, sizeCase{"big", bigFileSize})
	}
	return cs
}

// testSizes serves the sizes matrix for block size bs as one share and fetches it file by
// file on one receiver, then as a directory on every receiver at once.
func testSizes(t *testing.T, rig *netnstest.Rig, bs int64, big bool) {
	share := "sizes" + strconv.FormatInt(bs>>10, 10) + "k"
	src := filepath.Join(t.TempDir(), share)
	cases := sizeCases(bs, big)
	for i, c := range cases {
		writeFile(t, filepath.Join(src, c.name), c.size, uint64(i+1), 0o644)
	}
	startServer(t, rig.Sender, "--blocksz", strconv.FormatInt(bs, 10), src)

	// File by file: the receivers share the cases out and each fetches its part in turn, all
	// receivers at once, so the matrix takes a quarter of the time (back-to-back fetches from
	// one host wait for a rejoin of the manifest channel).
	t.Run("file", func(t *testing.T) {
		dst := t.TempDir()
		n := len(rig.Receivers)
		series := make([][][]string, n)
		for i, c := range cases {
			series[i%n] = append(series[i%n], []string{share + "/" + c.name, filepath.Join(dst, c.name)})
		}
		res := fetchSeries(rig.Receivers, series)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				st := mustSucceed(t, res[i%n][i/n])
				compareTrees(t, filepath.Join(src, c.name), filepath.Join(dst, c.name), compareOpts{})
				blocks := (c.size + bs - 1) / bs
				if st.Files != 1 || st.Blocks != blocks || st.Received != blocks || st.Reused != 0 {
					t.Errorf("stats: %v; want 1 file fetched, %d blocks all received", st, blocks)
				}
			})
		}
	})

	t.Run("dir-all-receivers", func(t *testing.T) {
		dsts := make([]string, len(rig.Receivers))
		for i := range dsts {
			dsts[i] = filepath.Join(t.TempDir(), "dst")
		}
		res := fetchEach(rig.Receivers, func(i int) []string { return []string{share + "/", dsts[i]} })
		var blocks int64
		for _, c := range cases {
			blocks += (c.size + bs - 1) / bs
		}
		for i, r := range res {
			t.Run(fmt.Sprintf("r%d", i+1), func(t *testing.T) {
				st := mustSucceed(t, r)
				compareTrees(t, src, dsts[i], compareOpts{})
				if st.Files != int64(len(cases)) || st.Blocks != blocks || st.Received != blocks {
					t.Errorf("stats: %v; want %d files and %d blocks received", st, len(cases), blocks)
				}
			})
		}
	})
}
