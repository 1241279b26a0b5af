package test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// nobody is the owner of the hostile setuid files: any unprivileged user who can write into a
// served or copied tree.
const nobody = 65534

// setidFixture makes, under dir, a setuid and a setgid program owned by nobody (as a user
// who can write into a share would make them) and a plain file.
func setidFixture(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []struct {
		name string
		mode fs.FileMode
	}{{"suid", 0o755 | fs.ModeSetuid}, {"sgid", 0o755 | fs.ModeSetgid}, {"plain", 0o644}} {
		p := filepath.Join(dir, f.name)
		writeFile(t, p, 5000, 81, 0o644)
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // after chown, which clears the bits
			t.Fatal(err)
		}
	}
}

// checkNoSetidEscalation fails the test for any file under dst that is setuid to a user or
// setgid to a group other than its source's: a setuid program owned by root that was owned by
// nobody in the source is a root exploit handed to whoever wrote the share (review H7).
func checkNoSetidEscalation(t *testing.T, src, dst string) {
	t.Helper()
	for _, name := range []string{"suid", "sgid", "plain"} {
		si, err := os.Stat(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		di, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		ss, ds := si.Sys().(*syscall.Stat_t), di.Sys().(*syscall.Stat_t)
		if di.Mode()&fs.ModeSetuid != 0 && ds.Uid != ss.Uid {
			t.Errorf("BUG: %s arrived setuid (%v) owned by uid %d; the source's owner was %d (review H7)", name, di.Mode(), ds.Uid, ss.Uid)
		}
		if di.Mode()&fs.ModeSetgid != 0 && ds.Gid != ss.Gid {
			t.Errorf("BUG: %s arrived setgid (%v) with gid %d; the source's group was %d (review H7)", name, di.Mode(), ds.Gid, ss.Gid)
		}
		if di.Mode().Perm() != si.Mode().Perm() {
			t.Errorf("%s: permissions %v, want %v", name, di.Mode().Perm(), si.Mode().Perm())
		}
	}
}

// TestHostileSetuidFetch: a served setuid program owned by nobody, fetched with -a by root,
// must not arrive setuid root. The manifest carries no owner, so the bits go.
func TestHostileSetuidFetch(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	src := filepath.Join(t.TempDir(), "setid")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	setidFixture(t, src)
	startServer(t, rig.Sender, src)
	dst := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "-a", "setid/", dst))
	checkNoSetidEscalation(t, src, dst)
	for _, name := range []string{"suid", "sgid"} {
		if fi, err := os.Stat(filepath.Join(dst, name)); err == nil && fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			t.Errorf("%s: mode %v; the manifest carries no owner, so the set-id bits must be cleared", name, fi.Mode())
		}
	}
}

// TestHostileSetuidLocal: local sync as root. With -a (which implies -o and -g, as in rsync)
// ownership is kept, and with it the set-id bits; with -p alone the copy belongs to root, so
// the bits are cleared.
func TestHostileSetuidLocal(t *testing.T) {
	netnstest.Require(t) // root, for chown
	src := filepath.Join(t.TempDir(), "setid")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	setidFixture(t, src)
	for _, tc := range []struct {
		name      string
		args      []string
		keepOwner bool
	}{
		{"archive", []string{"-a"}, true},
		{"perms-only", []string{"-rp"}, false},
		{"perms-owner", []string{"-rp", "-o", "-g"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, lcsyncBin, append(tc.args, src+"/", dst)...).CombinedOutput()
			if err != nil {
				t.Fatalf("lcsync %v: %v\n%s", tc.args, err, out)
			}
			checkNoSetidEscalation(t, src, dst)
			for _, name := range []string{"suid", "sgid", "plain"} {
				si, _ := os.Stat(filepath.Join(src, name))
				di, err := os.Stat(filepath.Join(dst, name))
				if err != nil {
					t.Fatal(err)
				}
				ds := di.Sys().(*syscall.Stat_t)
				switch {
				case tc.keepOwner && (ds.Uid != nobody || ds.Gid != nobody):
					t.Errorf("%s: owner %d:%d, want %d:%d kept", name, ds.Uid, ds.Gid, nobody, nobody)
				case tc.keepOwner && di.Mode() != si.Mode():
					t.Errorf("%s: mode %v, want %v (ownership kept, so the bits may stay)", name, di.Mode(), si.Mode())
				case !tc.keepOwner && ds.Uid != 0:
					t.Errorf("%s: owner %d, want root's copy", name, ds.Uid)
				}
			}
		})
	}
}
