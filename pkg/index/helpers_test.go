package index

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func bytesReader(b []byte) io.ReaderAt { return bytes.NewReader(b) }

func mkfifo(p string) error { return unix.Mkfifo(p, 0o644) }

// asNobody makes the calling test run as an unprivileged user, which unreadable files need
// (root reads them all). When the test runs as root it copies the test binary where uid 65534
// can run it, runs this one test again there as 65534 (failing if the child fails), and
// returns false: the caller stops. Otherwise (not root, or the child) it returns true.
func asNobody(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return true
	}
	if os.Getenv("LCSYNC_TEST_AS_NOBODY") != "" {
		t.Fatal("the child still runs as root")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "index.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LCSYNC_TEST_AS_NOBODY=1", "TMPDIR=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as uid 65534:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed as uid 65534: %v", err)
	}
	return false
}
