package localsync

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSyncFileSizeEdges copies files of every edge size to a new
// destination, re-syncs them (nothing written), then changes one byte of the
// last block (one block copied).
func TestSyncFileSizeEdges(t *testing.T) {
	for _, bs := range []int{1024, 16384} {
		sizes := []int{0, 1, bs - 1, bs, bs + 1}
		for k := 1; k <= 9; k++ {
			sizes = append(sizes, k*bs-bs/3)
		}
		for _, size := range sizes {
			t.Run(fmt.Sprintf("bs%d/size%d", bs, size), func(t *testing.T) {
				dir := t.TempDir()
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				b := data(uint64(size), size)
				writeFile(t, src, b, 0o644)
				blocks := (size + bs - 1) / bs

				st, res := syncT(t, src, dst, Options{BlockSize: bs})
				r := res["dst"]
				if r.Action != ActionCreate || r.Blocks != blocks || r.ChangedBlocks != blocks || r.BytesCopied != int64(size) {
					t.Fatalf("create: %+v", r)
				}
				if st.Created != 1 || st.BytesRead != int64(size) || st.BytesWritten != int64(size) || st.BytesCloned != 0 {
					t.Fatalf("create stats: %+v", st)
				}
				if !bytes.Equal(readFile(t, dst), b) {
					t.Fatal("copy differs")
				}

				st, res = syncT(t, src, dst, Options{BlockSize: bs})
				if r := res["dst"]; r.Action != ActionUnchanged || r.ChangedBlocks != 0 {
					t.Fatalf("resync: %+v", r)
				}
				if st.Unchanged != 1 || st.BytesRead != 0 || st.BytesWritten != 0 || st.BytesCloned != 0 || st.ComparedBytes != 2*int64(size) {
					t.Fatalf("resync stats: %+v", st)
				}
				if size == 0 {
					return
				}
				b[size-1] ^= 0xff
				writeFile(t, src, b, 0o644)
				st, res = syncT(t, src, dst, Options{BlockSize: bs})
				lastLen := size - (blocks-1)*bs
				if r := res["dst"]; r.Action != ActionUpdate || r.ChangedBlocks != 1 || r.BytesCopied != int64(lastLen) {
					t.Fatalf("update: %+v", r)
				}
				if st.BytesRead != int64(lastLen) || st.BytesWritten != int64(lastLen) || st.BytesCloned != int64(size-lastLen) {
					t.Fatalf("update stats: %+v", st)
				}
				if !bytes.Equal(readFile(t, dst), b) {
					t.Fatal("updated copy differs")
				}
				noTemps(t, dir)
			})
		}
	}
}

// TestSyncChangedBlocksExact modifies k blocks of a 100-block file and checks
// that exactly those are read from the source, in both write modes.
func TestSyncChangedBlocksExact(t *testing.T) {
	const bs = 4096
	const blocks = 100
	tests := []struct {
		name    string
		changed []int
	}{
		{"none", nil},
		{"first", []int{0}},
		{"last", []int{99}},
		{"two apart", []int{3, 70}},
		{"adjacent run", []int{10, 11, 12, 13}},
		{"scattered", []int{1, 5, 9, 33, 34, 60, 98}},
		{"every other", func() (l []int) {
			for i := 0; i < blocks; i += 2 {
				l = append(l, i)
			}
			return l
		}()},
		{"all", func() (l []int) {
			for i := range blocks {
				l = append(l, i)
			}
			return l
		}()},
	}
	for _, inplace := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("inplace=%v/%s", inplace, tc.name), func(t *testing.T) {
				dir := t.TempDir()
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				old := data(1, blocks*bs)
				writeFile(t, dst, old, 0o644)
				b := bytes.Clone(old)
				for _, i := range tc.changed {
					b[i*bs+(i*37)%bs]++
				}
				writeFile(t, src, b, 0o644)
				var ino uint64
				if fi, err := os.Stat(dst); err == nil {
					ino = fi.Sys().(*syscall.Stat_t).Ino
				}
				st, res := syncT(t, src, dst, Options{BlockSize: bs, Inplace: inplace})
				k := int64(len(tc.changed))
				if r := res["dst"]; r.ChangedBlocks != int(k) || r.Blocks != blocks || r.BytesCopied != k*bs {
					t.Fatalf("result %+v, want %d changed blocks", r, k)
				}
				if st.ChangedBlocks != k || st.BytesRead != k*bs || st.BytesWritten != k*bs {
					t.Fatalf("stats %+v, want %d blocks read and written", st, k)
				}
				wantCloned := (blocks - k) * bs
				if inplace || k == 0 {
					wantCloned = 0
				}
				if st.BytesCloned != wantCloned {
					t.Fatalf("cloned %d bytes, want %d", st.BytesCloned, wantCloned)
				}
				if !bytes.Equal(readFile(t, dst), b) {
					t.Fatal("copy differs")
				}
				fi, err := os.Stat(dst)
				if err != nil {
					t.Fatal(err)
				}
				sameInode := fi.Sys().(*syscall.Stat_t).Ino == ino
				if want := inplace || k == 0; sameInode != want {
					t.Fatalf("same inode = %v, want %v", sameInode, want)
				}
				noTemps(t, dir)
			})
		}
	}
}

func TestSyncGrowShrink(t *testing.T) {
	const bs = 1024
	base := data(2, 10*bs)
	tests := []struct {
		name    string
		src     []byte
		changed int
	}{
		{"grow by one byte", append(bytes.Clone(base), 1), 1},
		{"grow by three blocks", append(bytes.Clone(base), data(3, 3*bs)...), 3},
		{"grow from mid-block", append(bytes.Clone(base), data(4, 5*bs/2)...), 3},
		{"shrink to whole blocks", base[:6*bs], 0},
		{"shrink mid-block", base[:6*bs+10], 1},
		{"shrink to one byte", base[:1], 1},
		{"shrink to empty", nil, 0},
	}
	for _, inplace := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("inplace=%v/%s", inplace, tc.name), func(t *testing.T) {
				dir := t.TempDir()
				src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
				writeFile(t, dst, base, 0o644)
				writeFile(t, src, tc.src, 0o644)
				st, res := syncT(t, src, dst, Options{BlockSize: bs, Inplace: inplace})
				if r := res["dst"]; r.Action != ActionUpdate || r.ChangedBlocks != tc.changed {
					t.Fatalf("result %+v, want update of %d blocks", r, tc.changed)
				}
				if want := int64(len(tc.src)) - int64(st.BytesCloned); !inplace && st.BytesRead != want {
					t.Fatalf("read %d bytes, want %d", st.BytesRead, want)
				}
				if got := readFile(t, dst); !bytes.Equal(got, tc.src) {
					t.Fatalf("copy has %d bytes, want %d (or differs)", len(got), len(tc.src))
				}
			})
		}
	}
}

// TestSyncLargeFile copies 64 MiB, then changes 10 scattered blocks.
func TestSyncLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 64 MiB sync in -short mode")
	}
	const size = 64 << 20
	const bs = 16 << 10
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "big"), filepath.Join(dir, "copy")
	b := data(5, size)
	writeFile(t, src, b, 0o644)
	st, _ := syncT(t, src, dst, Options{})
	if st.BytesWritten != size || st.ChangedBlocks != size/bs {
		t.Fatalf("first copy: %+v", st)
	}
	for i := 0; i < 10; i++ {
		b[(i*397+11)%(size/bs)*bs+i]++
	}
	writeFile(t, src, b, 0o644)
	st, _ = syncT(t, src, dst, Options{})
	if st.ChangedBlocks != 10 || st.BytesRead != 10*bs || st.BytesCloned != size-10*bs {
		t.Fatalf("update: %+v", st)
	}
	if !bytes.Equal(readFile(t, dst), b) {
		t.Fatal("copy differs")
	}
}
