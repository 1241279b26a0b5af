package localsync

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lcsync/lcsync/merkle"
)

// TestComparePassParallel changes random blocks, in runs that cross the
// compare pass's slabs, of a file many slabs long, with the destination
// longer, shorter or as long as the source, and checks with several workers
// that exactly those blocks are read, written and reported, in every mode.
func TestComparePassParallel(t *testing.T) {
	const bs = 1024
	const blocks = 5*compareSlab/bs + 37 // five slabs and a partial one
	rng := rand.New(rand.NewPCG(7, 9))
	for _, sizeDelta := range []int{0, -bs/2 - 3, 3*bs + 5} {
		for _, mode := range []string{"temp", "inplace", "dry-run"} {
			t.Run(fmt.Sprintf("%s/old%+d", mode, sizeDelta), func(t *testing.T) {
				dir := t.TempDir()
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				size := blocks*bs - 100
				b := data(11, size)
				old := make([]byte, size+sizeDelta)
				copy(old, b)
				if sizeDelta > 0 {
					copy(old[size:], data(12, sizeDelta))
				}
				want := map[int]bool{}
				for range 40 {
					first := rng.IntN(blocks)
					for i := first; i < min(first+1+rng.IntN(3), blocks); i++ {
						if i*bs < len(old) {
							old[i*bs+rng.IntN(min(bs, len(old)-i*bs))]++
							want[i] = true
						}
					}
				}
				// Blocks the old file does not cover in full (the tail) differ
				// too, unless the source's last block is also cut there.
				for i := 0; i < blocks; i++ {
					srcLen := min(bs, size-i*bs)
					oldLen := max(0, min(bs, len(old)-i*bs))
					if srcLen != oldLen {
						want[i] = true
					}
				}
				writeFile(t, src, b, 0o644)
				writeFile(t, dst, old, 0o644)
				var wantBytes int64
				for i := range want {
					wantBytes += int64(min(bs, size-i*bs))
				}
				opt := Options{BlockSize: bs, Workers: 4, Inplace: mode == "inplace", DryRun: mode == "dry-run"}
				st, res := syncT(t, src, dst, opt)
				r := res["dst"]
				if r.Action != ActionUpdate || r.ChangedBlocks != len(want) || r.BytesCopied != wantBytes {
					t.Fatalf("result %+v, want %d blocks changed, %d bytes", r, len(want), wantBytes)
				}
				if st.ComparedBytes != int64(size+min(size, len(old))) {
					t.Fatalf("compared %d bytes, want %d", st.ComparedBytes, size+min(size, len(old)))
				}
				if mode == "dry-run" {
					if st.BytesRead+st.BytesWritten+st.BytesCloned != 0 || !bytes.Equal(readFile(t, dst), old) {
						t.Fatalf("a dry run wrote: %+v", st)
					}
					return
				}
				if st.BytesRead != wantBytes || st.BytesWritten != wantBytes {
					t.Fatalf("stats %+v, want %d bytes read and written", st, wantBytes)
				}
				if !bytes.Equal(readFile(t, dst), b) {
					t.Fatal("copy differs from the source")
				}
				noTemps(t, dir)
			})
		}
	}
}

// TestCompareIdenticalOpensNothing syncs a file onto an identical copy with
// another modification time: the destination keeps its inode and time and no
// temporary file is made.
func TestCompareIdenticalOpensNothing(t *testing.T) {
	for _, inplace := range []bool{false, true} {
		t.Run(fmt.Sprintf("inplace=%v", inplace), func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			b := data(3, 3*compareSlab+5)
			writeFile(t, src, b, 0o644)
			writeFile(t, dst, b, 0o644)
			before, err := os.Stat(dst)
			if err != nil {
				t.Fatal(err)
			}
			st, res := syncT(t, src, dst, Options{Inplace: inplace, Checksum: true})
			if res["dst"].Action != ActionUnchanged || st.BytesWritten+st.BytesCloned != 0 {
				t.Fatalf("%+v, %+v", res["dst"], st)
			}
			after, err := os.Stat(dst)
			if err != nil {
				t.Fatal(err)
			}
			if before.Sys().(*syscall.Stat_t).Ino != after.Sys().(*syscall.Stat_t).Ino || !before.ModTime().Equal(after.ModTime()) {
				t.Fatal("an identical destination was rewritten")
			}
			noTemps(t, dir)
		})
	}
}

// TestCompareSourceShrinks truncates the source after it was opened: the
// sync fails with a clear error and the destination is left as it was.
func TestCompareSourceShrinks(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	b := data(4, 2*compareSlab)
	old := bytes.Clone(b)
	old[0]++
	writeFile(t, src, b, 0o644)
	writeFile(t, dst, old, 0o644)
	s := &syncer{ctx: t.Context(), opt: Options{BlockSize: 4096}, ours: map[devIno]bool{}}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	si, _ := f.Stat()
	g, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	gi, _ := g.Stat()
	if err := os.Truncate(src, compareSlab/2); err != nil {
		t.Fatal(err)
	}
	j := &fileJob{rel: "dst", srcPath: src, src: f, si: si, old: g, oldInfo: gi}
	if j.shape, err = merkle.NewShape(si.Size(), 4096); err != nil {
		t.Fatal(err)
	}
	_, err = s.compare(j, nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("source shrank during the sync")) {
		t.Fatalf("compare = %v, want a source that shrank", err)
	}
	if !bytes.Equal(readFile(t, dst), old) {
		t.Fatal("the destination changed")
	}
}
