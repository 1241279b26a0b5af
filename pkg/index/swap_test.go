package index

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// outsideAndTwin makes a file outside the share (standing for /etc/shadow) and, inside the
// share, a file x of the same size and modification time but other content, as a local user
// who can write into the share can (stat and utimensat need no privilege).
func outsideAndTwin(t *testing.T) (src, secret string, secretData []byte) {
	t.Helper()
	dir := t.TempDir()
	src = filepath.Join(dir, "share")
	secret = filepath.Join(dir, "secret")
	secretData = bytes.Repeat([]byte("SECRET-"), 1000)
	write(t, secret, string(secretData), 0o600)
	write(t, filepath.Join(src, "x"), strings.Repeat("x", len(secretData)), 0o644)
	write(t, filepath.Join(src, "y"), "another file", 0o644)
	st, err := os.Stat(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(src, "x"), st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	return src, secret, secretData
}

// swapForSymlink replaces p by a symlink to target in one rename.
func swapForSymlink(t *testing.T, p, target string) {
	t.Helper()
	tmp := p + ".tmp"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

func fileNamed(ix *Index, name string) *File {
	for _, f := range ix.Files {
		if f.Entry.Name == name {
			return f
		}
	}
	return nil
}

// TestSymlinkSwapNeverFollowed: x, indexed as a regular file, is swapped for a symlink to a
// file outside the share with x's size and modification time. The swap is seen as a change,
// and opening x for serving fails instead of reading the other file.
func TestSymlinkSwapNeverFollowed(t *testing.T) {
	src, secret, secretData := outsideAndTwin(t)
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	f := fileNamed(ix, "share/x")
	swapForSymlink(t, filepath.Join(src, "x"), secret)
	if changed, _ := f.Changed(); !changed {
		t.Error("a symlink swapped in with the same size and mtime is not seen as a change")
	}
	fh, err := f.Open()
	if err == nil {
		b := make([]byte, len(secretData))
		n, _ := fh.ReadAt(b, 0)
		fh.Close()
		t.Fatalf("opened the swapped-in symlink (read %q...)", b[:min(n, 14)])
	}
	t.Logf("open after the swap: %v", err)
	next, changed, err := Refresh(context.Background(), ix, Options{})
	if err != nil || !changed {
		t.Fatalf("refresh: changed %v, err %v", changed, err)
	}
	if fileNamed(next, "share/x") != nil {
		t.Error("the symlink is still indexed as a file")
	}
}

// TestSwapBetweenWalkAndHash: a file swapped for a symlink or a FIFO after the walk saw it and
// before it is hashed is dropped: never followed, and the FIFO never blocks.
func TestSwapBetweenWalkAndHash(t *testing.T) {
	for _, kind := range []string{"symlink", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			src, secret, secretData := outsideAndTwin(t)
			abs, _ := filepath.Abs(src)
			ix := &Index{Share: "share", Source: src, BlockSize: 1024}
			w := walker{ix: ix, opt: Options{BlockSize: 1024, Workers: 2}}
			if err := w.walk(abs); err != nil {
				t.Fatal(err)
			}
			x := filepath.Join(src, "x")
			if kind == "symlink" {
				swapForSymlink(t, x, secret)
			} else {
				if err := os.Remove(x); err != nil {
					t.Fatal(err)
				}
				if err := mkfifo(x); err != nil {
					t.Skip("no fifo support:", err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- hashAll(context.Background(), ix, w.opt, nil) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("hashing hangs on the swapped-in " + kind)
			}
			if f := fileNamed(ix, "share/x"); f != nil {
				t.Fatalf("swapped-in %s still indexed (size %d)", kind, f.Size())
			}
			if fileNamed(ix, "share/y") == nil {
				t.Error("the other file was dropped too")
			}
			_ = secretData
		})
	}
}

// TestDirectorySwapMidWalk: while the share is walked again and again, a directory is
// swapped back and forth with a symlink to a directory outside the share. No walk may list
// what is outside, and none may fail: the directory is skipped when it is not one.
func TestDirectorySwapMidWalk(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "share")
	outside := filepath.Join(dir, "outside")
	write(t, filepath.Join(outside, "shadow"), "secret", 0o600)
	for i := range 50 {
		write(t, filepath.Join(src, "d", "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), "in", 0o644)
	}
	real, link := filepath.Join(src, "d"), filepath.Join(src, "d.link")
	parked := filepath.Join(src, "d.real")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		defer func() { swapped <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// d becomes the symlink, then the directory again.
			_ = os.Rename(real, parked)
			_ = os.Rename(link, real)
			time.Sleep(100 * time.Microsecond)
			_ = os.Rename(real, link)
			_ = os.Rename(parked, real)
			time.Sleep(100 * time.Microsecond)
			n++
		}
	}()
	deadline := time.Now().Add(1500 * time.Millisecond)
	walks := 0
	for time.Now().Before(deadline) {
		ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
		walks++
		if err != nil {
			close(stop)
			<-swapped
			t.Fatalf("walk %d failed: %v", walks, err)
		}
		for _, e := range ix.Entries() {
			if strings.HasSuffix(e.Name, "/shadow") {
				close(stop)
				<-swapped
				t.Fatalf("walk %d listed %s, which is outside the share", walks, e.Name)
			}
		}
	}
	close(stop)
	t.Logf("%d walks during %d swaps", walks, <-swapped)
}

// TestChangedSeesRewriteWithMtimeRestored: a file rewritten in place with its size and
// modification time restored (touch -r, rsync -t --inplace) is seen as changed, by its
// change time, and hashed again by Refresh.
func TestChangedSeesRewriteWithMtimeRestored(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	p := filepath.Join(src, "f")
	write(t, p, "before", 0o644)
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(p, []byte("after!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if changed, err := ix.Files[0].Changed(); !changed || err != nil {
		t.Fatalf("in-place rewrite with mtime restored: changed %v, err %v", changed, err)
	}
	next, changed, err := Refresh(context.Background(), ix, Options{})
	if err != nil || !changed || next.Files[0].Tree.Root() == ix.Files[0].Tree.Root() {
		t.Fatalf("refresh: changed %v, err %v, same root %v", changed, err, next.Files[0].Tree.Root() == ix.Files[0].Tree.Root())
	}
}

// TestFIFOSwapDoesNotBlock: a file swapped for a FIFO after it was indexed is neither opened
// for reading (which would block until a writer came) nor served.
func TestFIFOSwapDoesNotBlock(t *testing.T) {
	src := filepath.Join(t.TempDir(), "share")
	x := filepath.Join(src, "x")
	write(t, x, "", 0o644)
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(x)
	if err := os.Remove(x); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(x); err != nil {
		t.Skip("no fifo support:", err)
	}
	_ = os.Chtimes(x, st.ModTime(), st.ModTime())
	done := make(chan error, 1)
	go func() {
		fh, err := ix.Files[0].Open()
		if err == nil {
			fh.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrChanged) {
			t.Fatalf("open of the swapped-in FIFO: %v, want ErrChanged", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("open blocks on the swapped-in FIFO")
	}
	if changed, _ := ix.Files[0].Changed(); !changed {
		t.Error("FIFO swap not seen as a change")
	}
	next, _, err := Refresh(context.Background(), ix, Options{})
	if err != nil || len(next.Files) != 0 {
		t.Fatalf("refresh: %v, files %d", err, len(next.Files))
	}
}

// TestUnreadableMarksIncomplete: an unreadable directory is listed without its contents and
// marked incomplete, and so is the directory of an unreadable file, so that receivers with
// --delete keep what they have there; directories read in full are not marked.
func TestUnreadableMarksIncomplete(t *testing.T) {
	if !asNobody(t) {
		return
	}
	src := filepath.Join(t.TempDir(), "share")
	write(t, filepath.Join(src, "ok", "a"), "a", 0o644)
	write(t, filepath.Join(src, "locked", "x"), "x", 0o644)
	write(t, filepath.Join(src, "sub", "secret"), "s", 0o000)
	write(t, filepath.Join(src, "sub", "y"), "y", 0o644)
	if err := os.Chmod(filepath.Join(src, "locked"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(src, "locked"), 0o755) })
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range ix.Entries() {
		got[e.Name] = e.Incomplete
	}
	want := map[string]bool{"share": false, "share/ok": false, "share/ok/a": false, "share/locked": true,
		"share/sub": true, "share/sub/y": false}
	for name, inc := range want {
		if g, ok := got[name]; !ok || g != inc {
			t.Errorf("%s: listed %v, incomplete %v; want listed, incomplete %v", name, ok, g, inc)
		}
	}
	if len(got) != len(want) || ix.Unreadable != 2 {
		t.Errorf("entries %v, unreadable %d; want %d entries, 2 unreadable", got, ix.Unreadable, len(want))
	}
	blob, err := ix.Manifest(false, 4, 1).MarshalBinary()
	if err != nil || blob[5]&wire.FlagIncomplete == 0 {
		t.Errorf("manifest flags %#02x (%v), want the incomplete flag", blob[5], err)
	}
}
