package test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/follow"
	"github.com/lcsync/lcsync/pkg/netnstest"
)

// followBound is how long a change may take to reach the follower's copy in these tests
// (the target is far lower; this only keeps a slow CI machine from failing them).
const followBound = 10 * time.Second

// TestFollow runs `lcsync --watch` on the server and `lcsync --follow` on a receiver, and
// checks that the mirror follows creations, changes, a rename (by content: no data
// received), deletions and the delete guard; that a restarted follower keeps its generation;
// and that SIGTERM stops it with exit status 0 and no temporary file, even mid-transfer.
func TestFollow(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	ns := rig.Receivers[0]
	src := filepath.Join(t.TempDir(), "live")
	big := int64(3 << 20)
	writeFile(t, filepath.Join(src, "big.bin"), big, 1, 0o644)
	writeFile(t, filepath.Join(src, "a.bin"), 20000, 2, 0o644)
	writeFile(t, filepath.Join(src, "d", "b.bin"), 5000, 3, 0o600)
	writeFile(t, filepath.Join(src, "d", "c.bin"), 7000, 4, 0o644)
	writeFile(t, filepath.Join(src, "e.bin"), 3000, 5, 0o644)
	writeFile(t, filepath.Join(src, "f.bin"), 1000, 6, 0o644)
	// --allow-shrink: the server's own guard must not hide the follower's.
	startServer(t, rig.Sender, "--watch", "--allow-shrink", src)
	dst := filepath.Join(t.TempDir(), "mirror")
	execLog := filepath.Join(t.TempDir(), "exec.log")
	args := []string{"-a", "--stats", "--exec", `echo "$LCSYNC_SHARE $LCSYNC_GENERATION $LCSYNC_DEST" >> ` + execLog,
		"--follow", "live/", dst}
	fl := startFollower(t, ns, args...)
	waitMirror(t, src, dst, "the first pass")

	change := func(what string, fn func()) {
		t.Helper()
		fn()
		d := waitMirror(t, src, dst, what)
		t.Logf("%s: the follower's copy matched %v after the change", what, d.Round(time.Millisecond))
	}
	change("create", func() { writeFile(t, filepath.Join(src, "new.bin"), 30000, 7, 0o644) })
	change("modify", func() { writeFile(t, filepath.Join(src, "a.bin"), 20000, 8, 0o644) })
	// A file rewritten within a second of its last change is "hot" for the server's
	// debouncer (published once quiet for 1 s): space the rewrites as the workload
	// does, to measure the path from a write to the mirror.
	for i := range 3 {
		time.Sleep(1100 * time.Millisecond)
		change(fmt.Sprintf("rewrite 4 KiB #%d", i), func() { writeFile(t, filepath.Join(src, "small.bin"), 4096, uint64(20+i), 0o644) })
	}
	change("chmod", func() {
		if err := os.Chmod(filepath.Join(src, "e.bin"), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	before := fl.out.String()
	change("rename", func() {
		if err := os.Rename(filepath.Join(src, "big.bin"), filepath.Join(src, "d", "moved.bin")); err != nil {
			t.Fatal(err)
		}
	})
	checkRenamedN(t, fl, before, 1)
	change("delete", func() {
		if err := os.Remove(filepath.Join(src, "e.bin")); err != nil {
			t.Fatal(err)
		}
	})
	compareMirror(t, src, dst)

	// The delete guard: 4 of the 7 files go at once; the follower refuses the generation and
	// applies the next one that passes.
	gone := []string{"a.bin", "d/b.bin", "d/c.bin", "f.bin"}
	for _, n := range gone {
		if err := os.Remove(filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	waitFollowerOutput(t, fl, "would delete 4 of the 7 files")
	for _, n := range gone {
		if _, err := os.Lstat(filepath.Join(dst, n)); err != nil {
			t.Errorf("%s was deleted despite --max-delete: %v", n, err)
		}
	}
	change("restore after the guard", func() {
		for i, n := range gone {
			writeFile(t, filepath.Join(src, n), 2000, uint64(40+i), 0o644)
		}
	})

	// SIGTERM: exit status 0, no temporary file, the generation recorded.
	stopAt := time.Now()
	if code := fl.stop(); code != 0 {
		t.Errorf("follower stopped by SIGTERM exited with status %d", code)
	}
	noTempFiles(t, dst)
	state, err := os.ReadFile(filepath.Join(dst, follow.StateName))
	if err != nil || !bytes.Contains(state, []byte("generation ")) {
		t.Fatalf("no generation recorded in %s: %v %q", follow.StateName, err, state)
	}

	// Restarted, it finds its generation recorded and applies nothing until a change.
	t.Logf("SIGTERM: the follower exited in %v", time.Since(stopAt).Round(time.Millisecond))
	startAt := time.Now()
	fl = startFollower(t, ns, args...)
	waitFollowerOutput(t, fl, "the mirror is up to date")
	t.Logf("restarted: up to date in %v", time.Since(startAt).Round(time.Millisecond))
	if strings.Contains(fl.out.String(), "msg=applied") {
		t.Errorf("the restarted follower applied a generation again:\n%s", fl.out)
	}
	change("after a restart", func() { writeFile(t, filepath.Join(src, "later.bin"), 9000, 50, 0o644) })

	// SIGHUP re-checks DST: a local change is repaired without a new generation.
	writeFile(t, filepath.Join(dst, "later.bin"), 9000, 51, 0o644)
	if err := fl.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d := waitMirror(t, src, dst, "SIGHUP")
	t.Logf("SIGHUP: the local change was repaired in %v", d.Round(time.Millisecond))

	// Idle, a follower reads nothing and wakes for nothing.
	cpu0 := cpuTime(t, fl.cmd.Process.Pid)
	time.Sleep(2 * time.Second)
	idle := cpuTime(t, fl.cmd.Process.Pid) - cpu0
	t.Logf("idle follower: %v of CPU in 2s", idle)
	if idle > 100*time.Millisecond {
		t.Errorf("an idle follower used %v of CPU in 2s", idle)
	}

	// SIGTERM mid-transfer leaves no temporary file.
	writeFile(t, filepath.Join(src, "huge.bin"), 48<<20, 60, 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for !hasTempFile(dst) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !hasTempFile(dst) {
		t.Logf("no temporary file seen within 5s of writing huge.bin: SIGTERM comes between passes")
	}
	if code := fl.stop(); code != 0 {
		t.Errorf("follower stopped by SIGTERM mid-transfer exited with status %d", code)
	}
	noTempFiles(t, dst)

	logged, err := os.ReadFile(execLog)
	if err != nil {
		t.Fatalf("--exec never ran: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
	abs, _ := filepath.Abs(dst)
	if len(lines) < 8 || !strings.HasPrefix(lines[0], "live ") || !strings.HasSuffix(lines[0], " "+abs) {
		t.Errorf("--exec ran %d times, first with %q; want at least 8, with the share, generation and destination", len(lines), lines[0])
	}
}

// followerFile reports whether name is one of the files a follower keeps in its mirror.
func followerFile(name string) bool { return name == follow.StateName || name == follow.ObjectsName }

// compareMirror compares the trees with modes and times, the follower's own files aside.
func compareMirror(t *testing.T, src, dst string) {
	t.Helper()
	r := &recorder{TB: t}
	compareTrees(r, src, dst, compareOpts{modes: true, times: true})
	for _, e := range r.errs {
		if !strings.Contains(e, follow.StateName+": extra entry") && !strings.Contains(e, follow.ObjectsName+": extra entry") {
			t.Error(e)
		}
	}
}

// startFollower runs `lcsync ARGS...` (a --follow) in ns and waits until it has started.
// It is stopped with SIGTERM when the test ends.
func startFollower(t *testing.T, ns *netnstest.NS, args ...string) *server {
	t.Helper()
	return startProcess(t, ns, "follower", "following", followBound, args)
}

// waitFollowerOutput waits until the process's output contains want.
func waitFollowerOutput(t *testing.T, s *server, want string) {
	t.Helper()
	deadline := time.Now().Add(followBound)
	for !strings.Contains(s.out.String(), want) {
		select {
		case <-s.done:
			t.Fatalf("lcsync exited (status %d) before printing %q:\n%s", s.code, want, s.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lcsync did not print %q within %v:\n%s", want, followBound, s.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMirror waits until dst holds what src holds (types, contents, permission bits) and
// returns how long that took.
func waitMirror(t *testing.T, src, dst, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		want, err1 := snapshot(src)
		got, err2 := snapshot(dst)
		if err1 == nil && err2 == nil && slices.Equal(want, got) {
			return time.Since(start)
		}
		if time.Since(start) > followBound {
			t.Fatalf("%s: the follower's copy did not match the source within %v:\nsource %q\nmirror %q", what, followBound, want, got)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// snapshot lists a tree: one line per entry with its type, permission bits and a hash of
// its contents; the follower's state file is left out.
func snapshot(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if followerFile(d.Name()) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		if rel != "." {
			out = append(out, line)
		}
		return nil
	})
	return out, err
}

// hasTempFile reports whether a temporary file of lcsync is in the tree at root.
func hasTempFile(root string) bool {
	found := false
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !followerFile(d.Name()) && destfs.IsTemp(d.Name()) {
			found = true
		}
		return nil
	})
	return found
}

func noTempFiles(t *testing.T, root string) {
	t.Helper()
	if hasTempFile(root) {
		t.Errorf("temporary files left in %s", root)
	}
}

// TestFollowSigned follows a signed share with --trust: every generation's manifest is
// vetted (and moves this host's high-water mark); a follower trusting another key applies
// nothing and says why.
func TestFollowSigned(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	alice, alicePub := keygen(t, "alice.key")
	_, malloryPub := keygen(t, "mallory.key")
	src := filepath.Join(t.TempDir(), "signed")
	writeFile(t, filepath.Join(src, "a.bin"), 50000, 1, 0o644)
	startServer(t, rig.Sender, "--watch", "--sign", alice, "--state", t.TempDir(), src)
	dst, state := filepath.Join(t.TempDir(), "mirror"), t.TempDir()
	const metricsAddr = "127.0.0.1:9145"
	startFollower(t, rig.Receivers[0], "-a", "--trust", alicePub, "--state", state, "--metrics", metricsAddr, "--follow", "signed/", dst)
	wrong := startFollower(t, rig.Receivers[1], "--trust", malloryPub, "--state", t.TempDir(), "--follow", "signed/",
		filepath.Join(t.TempDir(), "wrong"))
	waitMirror(t, src, dst, "the first pass")
	writeFile(t, filepath.Join(src, "b.bin"), 7000, 2, 0o644)
	d := waitMirror(t, src, dst, "a signed change")
	t.Logf("signed change: the follower's copy matched %v after the change", d.Round(time.Millisecond))
	// The lag runs from the statement's issue time (whole seconds, so up to 1 s more).
	var body string
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if body, err = scrape(rig.Receivers[0], metricsAddr); err == nil && metric(body, "lcsync_follow_generations_applied_total") >= 2 {
			break
		}
	}
	if lag := metric(body, "lcsync_follow_lag_seconds"); metric(body, "lcsync_follow_lag_signed") != 1 || lag < 0 || lag > 10 ||
		metric(body, "lcsync_follow_generations_applied_total") < 2 {
		t.Errorf("a signed follower's metrics: lag %v s; %v", lag, grepLcsync(body))
	} else {
		t.Logf("signed lag: %v s", lag)
	}
	marks, err := filepath.Glob(filepath.Join(state, "*"))
	if err != nil || len(marks) == 0 {
		t.Errorf("no high-water mark recorded in --state %s: %v", state, err)
	}
	waitFollowerOutput(t, wrong, "signed by an unknown key")
	if strings.Contains(wrong.out.String(), "msg=applied") {
		t.Errorf("a follower trusting another key applied a generation:\n%s", wrong.out)
	}
}

// cpuTime returns the user and system CPU time process pid used so far (proc(5): utime and
// stime, in clock ticks of 1/100 s on Linux).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), ") ") // the command name may hold spaces
	f := strings.Fields(rest)
	var utime, stime int64
	if len(f) < 13 {
		t.Fatalf("short /proc/%d/stat: %q", pid, b)
	}
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
