package localsync

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSyncArgumentErrors(t *testing.T) {
	d := t.TempDir()
	file := filepath.Join(d, "file")
	writeFile(t, file, []byte("x"), 0o644)
	writeFile(t, filepath.Join(d, "dir", "f"), []byte("x"), 0o644)
	tests := []struct {
		name     string
		src, dst string
		opt      Options
		is       error  // errors.Is target
		path     string // must appear in the message
	}{
		{"empty source", "", d, Options{}, ErrUsage, ""},
		{"empty destination", file, "", Options{}, ErrUsage, ""},
		{"bad block size", file, filepath.Join(d, "o"), Options{BlockSize: 3000}, ErrUsage, ""},
		{"missing source", filepath.Join(d, "nope"), filepath.Join(d, "o"), Options{}, fs.ErrNotExist, filepath.Join(d, "nope")},
		{"source under a file", filepath.Join(file, "x"), filepath.Join(d, "o"), Options{}, syscall.ENOTDIR, filepath.Join(file, "x")},
		{"file with a trailing slash", file + "/", filepath.Join(d, "o"), Options{}, syscall.ENOTDIR, file},
		{"destination parent missing", file, filepath.Join(d, "no", "such", "out"), Options{}, fs.ErrNotExist, filepath.Join(d, "no", "such")},
		{"directory parent missing", filepath.Join(d, "dir"), filepath.Join(d, "no", "out"), Options{}, fs.ErrNotExist, filepath.Join(d, "no", "out")},
		{"destination under a file", file, filepath.Join(file, "out"), Options{}, syscall.ENOTDIR, filepath.Join(file, "out")},
		{"directory onto a file", filepath.Join(d, "dir"), file, Options{}, ErrUsage, file},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Sync(context.Background(), tc.src, tc.dst, tc.opt)
			if !errors.Is(err, tc.is) {
				t.Fatalf("Sync = %v, want an error wrapping %v", err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), "localsync: ") || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("error %q lacks the prefix or the path %q", err, tc.path)
			}
			if tc.is != ErrUsage {
				var e *Error
				if !errors.As(err, &e) || e.Path == "" || e.Op == "" {
					t.Fatalf("error %v is not an *Error with a path", err)
				}
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(d, "o")); err == nil {
		t.Fatal("a failed sync created its destination")
	}
}

// TestSyncUnreadableSource makes one source file unreadable; the others
// are still synced and the error names the file.
func TestSyncUnreadableSource(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("SKIPPED LOUDLY: running as root, which reads any file it can make: see TestSyncUnreadableSysfsSource")
	}
	d := t.TempDir()
	src, dst := filepath.Join(d, "src"), filepath.Join(d, "dst")
	writeFile(t, filepath.Join(src, "ok"), []byte("ok"), 0o644)
	writeFile(t, filepath.Join(src, "secret"), []byte("no"), 0o000)
	st, err := Sync(context.Background(), src+"/", dst, Options{})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), filepath.Join(src, "secret")) {
		t.Fatalf("Sync = %v, want a permission error naming the file", err)
	}
	if st.Errors != 1 || string(readFile(t, filepath.Join(dst, "ok"))) != "ok" {
		t.Fatalf("stats %+v: the readable file was not synced", st)
	}
}

// TestSyncUnreadableSysfsSource syncs a write-only sysfs attribute, a
// regular file that even root cannot open for reading, and expects a
// permission error naming it and nothing written.
func TestSyncUnreadableSysfsSource(t *testing.T) {
	candidates, _ := filepath.Glob("/sys/bus/*/drivers_probe")
	candidates = append([]string{"/sys/bus/pci/rescan"}, candidates...)
	var src string
	for _, c := range candidates {
		if fi, err := os.Lstat(c); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o444 == 0 {
			src = c
			break
		}
	}
	if src == "" {
		t.Skip("SKIPPED LOUDLY: no write-only sysfs attribute found to serve as an unreadable source")
	}
	d := t.TempDir()
	dst := filepath.Join(d, "out")
	_, err := Sync(context.Background(), src, dst, Options{})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), src) {
		t.Fatalf("Sync(%s) = %v, want a permission error naming it", src, err)
	}
	if ents, _ := os.ReadDir(d); len(ents) != 0 {
		t.Fatalf("left %v behind", ents)
	}
}

// makeReadOnly makes directory p unwritable even for root (the immutable
// attribute), or with chmod for other users; it skips the test when neither
// works.
func makeReadOnly(t *testing.T, p string) {
	t.Helper()
	if os.Geteuid() != 0 {
		must(t, os.Chmod(p, 0o555))
		t.Cleanup(func() { os.Chmod(p, 0o755) })
		return
	}
	const immutable = 0x10 // FS_IMMUTABLE_FL
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|immutable))
	}
	if err != nil {
		t.Skipf("SKIPPED LOUDLY: running as root and cannot set the immutable attribute on %s (%v): no way to make a read-only destination", p, err)
	}
	t.Cleanup(func() {
		f, err := os.Open(p)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
			t.Errorf("clearing the immutable attribute of %s: %v", p, err)
		}
	})
}

// TestSyncReadOnlyDestination syncs into a tree one directory of which
// cannot be written: that entry fails with a permission error naming it, the
// rest is synced, and nothing is left behind.
func TestSyncReadOnlyDestination(t *testing.T) {
	d := t.TempDir()
	src, dst := filepath.Join(d, "src"), filepath.Join(d, "dst")
	writeFile(t, filepath.Join(src, "ok", "f"), []byte("new"), 0o644)
	writeFile(t, filepath.Join(src, "ro", "f"), []byte("new"), 0o644)
	writeFile(t, filepath.Join(src, "ro", "g"), []byte("new"), 0o644)
	writeFile(t, filepath.Join(dst, "ro", "f"), []byte("old"), 0o644)
	makeReadOnly(t, filepath.Join(dst, "ro"))

	res := results{}
	st, err := Sync(context.Background(), src+"/", dst, Options{OnFile: res.onFile})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), filepath.Join(dst, "ro")) {
		t.Fatalf("Sync = %v, want a permission error naming the directory", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not an *Error", err)
	}
	if st.Errors != 2 || res["ro/f"].Action != ActionError || res["ro/g"].Action != ActionError {
		t.Fatalf("stats %+v, results %v", st, res)
	}
	if string(readFile(t, filepath.Join(dst, "ok", "f"))) != "new" || string(readFile(t, filepath.Join(dst, "ro", "f"))) != "old" {
		t.Fatal("wrong contents after a partial failure")
	}
	noTemps(t, dst)
}
