package test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// content returns deterministic bytes for a file: a random pattern (from seed) with every
// 1 KiB stamped with its offset, so no two blocks of any block size repeat within a file or
// across files with different seeds.
type content struct {
	seed    uint64
	pattern []byte
}

const patternLen = 1 << 20

func newContent(seed uint64) *content {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	p := make([]byte, patternLen)
	_, _ = rand.NewChaCha8(key).Read(p)
	return &content{seed: seed, pattern: p}
}

// chunk fills b with the bytes at offset off (off must be a multiple of 1 KiB).
func (c *content) chunk(b []byte, off int64) {
	for i := 0; i < len(b); {
		n := copy(b[i:], c.pattern[(off+int64(i))%patternLen:])
		i += n
	}
	for i := 0; i+16 <= len(b); i += 1024 {
		binary.LittleEndian.PutUint64(b[i:], uint64(off)+uint64(i))
		binary.LittleEndian.PutUint64(b[i+8:], c.seed)
	}
}

// writeFile creates path with size bytes of seeded content and the given mode.
func writeFile(t testing.TB, path string, size int64, seed uint64, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	c := newContent(seed)
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		b := buf[:min(int64(len(buf)), size-off)]
		c.chunk(b, off)
		if _, err := f.Write(b); err != nil {
			f.Close()
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// setMtime sets the modification (and access) time of path, not following a symlink.
func setMtime(t testing.TB, path string, mt time.Time) {
	t.Helper()
	ts := unix.NsecToTimespec(mt.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatalf("setting the mtime of %s: %v", path, err)
	}
}

// compareOpts says what compareTrees checks besides types, contents and symlink targets.
type compareOpts struct {
	modes bool // permission bits (with setuid, setgid and sticky) of files and directories
	times bool // modification times of files, directories and symlinks, to the nanosecond
	root  bool // also compare the roots' own modes and times
	// noSetid expects regular files without their setuid and setgid bits: a fetch carries no
	// owner, so it clears them (lcsync.1, -p).
	noSetid bool
}

// compareTrees reports (as test errors) every difference between the tree at src and the one
// at dst: missing or extra entries, types, contents, symlink targets and, as asked, modes and
// times. src and dst may also be single files.
func compareTrees(t testing.TB, src, dst string, o compareOpts) {
	t.Helper()
	var diffs []string
	seen := map[string]bool{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		seen[rel] = true
		diffs = append(diffs, compareEntry(rel, p, filepath.Join(dst, rel), o)...)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", src, err)
	}
	err = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		if !seen[rel] {
			diffs = append(diffs, fmt.Sprintf("%s: extra entry in the destination", rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dst, err)
	}
	for i, d := range diffs {
		if i == 20 {
			t.Errorf("... and %d more differences", len(diffs)-i)
			break
		}
		t.Errorf("%s vs %s: %s", src, dst, d)
	}
}

func compareEntry(rel, src, dst string, o compareOpts) []string {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, rel+": "+fmt.Sprintf(format, args...)) }
	si, err := os.Lstat(src)
	if err != nil {
		add("source: %v", err)
		return diffs
	}
	di, err := os.Lstat(dst)
	if err != nil {
		add("missing in the destination: %v", err)
		return diffs
	}
	if si.Mode().Type() != di.Mode().Type() {
		add("type %v, want %v", di.Mode().Type(), si.Mode().Type())
		return diffs
	}
	isRoot := rel == "."
	switch {
	case si.Mode()&fs.ModeSymlink != 0:
		st, _ := os.Readlink(src)
		dt, err := os.Readlink(dst)
		if err != nil || st != dt {
			add("symlink target %q (%v), want %q", dt, err, st)
		}
	case si.Mode().IsRegular():
		if si.Size() != di.Size() {
			add("size %d, want %d", di.Size(), si.Size())
		} else if off, err := firstDifference(src, dst); err != nil {
			add("comparing contents: %v", err)
		} else if off >= 0 {
			add("contents differ from byte %d (block %d of 16 KiB, %d of 1 KiB)", off, off>>14, off>>10)
		}
	}
	want := si.Mode()
	if o.noSetid && want.IsRegular() {
		want &^= fs.ModeSetuid | fs.ModeSetgid
	}
	if o.modes && si.Mode()&fs.ModeSymlink == 0 && (!isRoot || o.root) && want != di.Mode() {
		add("mode %v, want %v", di.Mode(), want)
	}
	if o.times && (!isRoot || o.root) && !si.ModTime().Equal(di.ModTime()) {
		add("mtime %v, want %v", di.ModTime().Format(time.RFC3339Nano), si.ModTime().Format(time.RFC3339Nano))
	}
	return diffs
}

// firstDifference returns the offset of the first byte where the files differ, or -1.
func firstDifference(a, b string) (int64, error) {
	fa, err := os.Open(a)
	if err != nil {
		return 0, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return 0, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); ; {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if i := mismatch(ba[:na], bb[:nb]); i >= 0 {
			return off + int64(i), nil
		}
		off += int64(na)
		endA := errors.Is(ea, io.EOF) || errors.Is(ea, io.ErrUnexpectedEOF)
		endB := errors.Is(eb, io.EOF) || errors.Is(eb, io.ErrUnexpectedEOF)
		switch {
		case ea != nil && !endA:
			return 0, ea
		case eb != nil && !endB:
			return 0, eb
		case endA || endB:
			return -1, nil
		}
	}
}

// mismatch returns the first index where a and b differ (a shorter slice differs at its end),
// or -1.
func mismatch(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// listDir returns the names in dir, for checks that nothing appeared where it should not.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}
