package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no arguments", nil, "missing arguments"},
		{"too many", []string{"./a", "./b", "./c"}, "too many arguments"},
		{"unknown option", []string{"--frobnicate", "./a"}, "unknown option"},
		{"missing value", []string{"./a", "--blocksz"}, "needs a value"},
		{"bad block size", []string{"--blocksz", "3000", "./a", "./b"}, "power of two"},
		{"block size too small", []string{"--blocksz=512", "./a", "./b"}, "power of two"},
		{"bad port", []string{"--port", "70000", "./a"}, "--port"},
		{"bad mtu", []string{"--mtu", "1000", "./a"}, "--mtu"},
		{"bad rate", []string{"--bwlimit", "fast", "./a"}, "--bwlimit"},
		{"bad channels", []string{"-c", "0", "share/x", "./x"}, "--channels"},
		{"mld and carousel", []string{"--mld", "--carousel", "./a"}, "exclude"},
		{"remote without destination", []string{"share/x"}, "needs a local destination"},
		{"remote destination", []string{"./a", "share/x"}, "must be a local path"},
		{"hex of remote", []string{"--hex", "share/x"}, "not a local path"},
		{"hex with two args", []string{"--hex", "./a", "./b"}, "exactly one"},
		{"bad loglevel", []string{"--loglevel", "loud", "./a"}, "--loglevel"},
		{"bad delay", []string{"--delay", "-3", "./a"}, "negative"},
		{"bad scope", []string{"--scope", "galaxy", "./nonexistent-dir-for-test"}, "scope"},
		{"bad exclude pattern", []string{"--exclude", "[abc", "./a"}, "character class"},
		{"empty include", []string{"--include=", "./a"}, "empty pattern"},
		{"bad exclude on fetch", []string{"--exclude", "[abc", "share/x", "./x"}, "character class"},
		{"bad exclude on follow", []string{"--exclude", "[abc", "--follow", "share/", "./x"}, "character class"},
		{"exclude on local sync", []string{"./a", "./b", "--exclude", "*.o"}, "not to local sync"},
		{"watch on fetch", []string{"--watch", "share/x", "./x"}, "only when serving"},
		{"bad watch mode", []string{"--watch=fanotify", "./a"}, "--watch=poll:INTERVAL"},
		{"bad poll interval", []string{"--watch=poll:1ms", "./a"}, "100ms to 24h"},
		{"settle without watch", []string{"--settle", "1s", "./a"}, "need --watch"},
		{"allow-shrink without watch", []string{"--allow-shrink", "./a"}, "need --watch"},
		{"max-delay below settle", []string{"--watch", "--settle", "2s", "--max-delay", "1s", "./a"}, "--max-delay"},
		{"settle zero", []string{"--watch", "--settle", "0s", "./a"}, "--settle"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || !strings.HasPrefix(stderr, "lcsync: ") {
				t.Errorf("stderr %q does not say %q", stderr, tc.want)
			}
		})
	}
}

// TestExcludeFromErrors: an unreadable --exclude-from file is a local I/O error naming the
// file; a bad rule inside one is a usage error naming the line.
func TestExcludeFromErrors(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runArgs(t, "--exclude-from", filepath.Join(dir, "missing"), "./a")
	if code != exitIO || !strings.Contains(stderr, "missing") {
		t.Errorf("missing rules file: exit %d, stderr %q; want %d naming the file", code, stderr, exitIO)
	}
	bad := filepath.Join(dir, "rules")
	if err := os.WriteFile(bad, []byte("# ok\n*.o\n[x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runArgs(t, "--exclude-from", bad, "./a")
	if code != exitUsage || !strings.Contains(stderr, "rules:3:") {
		t.Errorf("bad rule on line 3: exit %d, stderr %q; want %d naming rules:3", code, stderr, exitUsage)
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := runArgs(t, "--help")
	if code != 0 || !strings.Contains(out, "usage: lcsync") || !strings.Contains(out, "--bwlimit") {
		t.Errorf("--help: exit %d, output %q", code, out)
	}
	code, out, _ = runArgs(t, "-h")
	if code != 0 || !strings.Contains(out, "usage:") {
		t.Errorf("-h: exit %d", code)
	}
	code, out, _ = runArgs(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "lcsync ") {
		t.Errorf("--version: exit %d, output %q", code, out)
	}
}

func TestOptionParsing(t *testing.T) {
	o, err := parseOptions([]string{"./src", "-avn", "--blocksz=4096", "./dst", "--delete"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.archive || !o.verbose || !o.dryRun || !o.recursive || !o.perms || !o.times || !o.delete ||
		o.blockSize != 4096 || strings.Join(o.args, " ") != "./src ./dst" {
		t.Errorf("parsed %+v", o)
	}
	o, err = parseOptions([]string{"-q", "--", "-weird", "./x"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.quiet || strings.Join(o.args, " ") != "-weird ./x" {
		t.Errorf("-- handling: %+v", o.args)
	}
	o, err = parseOptions([]string{"--delay", "250", "--bwlimit", "1.5G", "./x"})
	if err != nil || o.delay.Microseconds() != 250 || o.bwlimit != "1.5G" {
		t.Errorf("delay/bwlimit: %v %+v", err, o)
	}
	if r, _ := parseRate("800M"); r != 800e6 {
		t.Errorf("parseRate(800M) = %v", r)
	}
}

func TestIsLocal(t *testing.T) {
	for arg, want := range map[string]bool{
		"/srv": true, "./x": true, "../x": true, ".": true, "..": true,
		"share": false, "share/x": false, ".hidden": false, "~/x": false, "x/./y": false,
	} {
		if isLocal(arg) != want {
			t.Errorf("isLocal(%q) = %v", arg, !want)
		}
	}
}

func TestHexAndLocalSync(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("lcsync"), 1000)
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runArgs(t, "--hex", "--blocksz", "1024", filepath.Join(src, "sub", "f"))
	if code != 0 || !strings.Contains(out, "blocks 6\n") || !strings.Contains(out, "levels 4\n") {
		t.Fatalf("--hex: exit %d, out %q, err %q", code, out, stderr)
	}
	dst := filepath.Join(dir, "dst")
	code, out, stderr = runArgs(t, "-a", "--stats", src+"/", dst)
	if code != 0 || !strings.Contains(out, "blocks") {
		t.Fatalf("sync: exit %d, out %q, err %q", code, out, stderr)
	}
	got, err := os.ReadFile(filepath.Join(dst, "sub", "f"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("copy differs: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "sub", "f")); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want -rw-r-----", fi.Mode())
	}
	// Dry run prints and changes nothing.
	if err := os.WriteFile(filepath.Join(src, "sub", "f"), append(data, 'x'), 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runArgs(t, "-a", "-n", src+"/", dst)
	if code != 0 || !strings.Contains(out, "update") {
		t.Fatalf("dry run: exit %d, out %q", code, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "sub", "f")); len(got) != len(data) {
		t.Error("dry run changed the destination")
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runArgs(t, filepath.Join(dir, "missing"), filepath.Join(dir, "out"))
	if code != exitIO || !strings.Contains(stderr, "missing") {
		t.Errorf("missing source: exit %d, stderr %q", code, stderr)
	}
	code, _, _ = runArgs(t, "--hex", filepath.Join(dir, "missing"))
	if code != exitIO {
		t.Errorf("--hex on a missing file: exit %d", code)
	}
	code, _, _ = runArgs(t, "--hex", dir)
	if code != exitUsage {
		t.Errorf("--hex on a directory: exit %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{f, filepath.Join(dir, "g")}, &out, &errb); code != exitInterrupted {
		t.Errorf("interrupted: exit %d, stderr %q", code, errb.String())
	}
}

func TestChecksumOption(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want bool
	}{
		{"default", []string{"./a", "./b"}, false},
		{"long", []string{"--checksum", "./a", "./b"}, true},
		{"after the arguments", []string{"./a", "./b", "--checksum"}, true},
		{"ignore-times", []string{"--ignore-times", "./a", "./b"}, true},
		{"short -I", []string{"-I", "./a", "./b"}, true},
		{"bundled", []string{"-aIn", "./a", "./b"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOptions(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if o.checksum != tc.want || strings.Join(o.args, " ") != "./a ./b" {
				t.Errorf("checksum %v, args %q; want %v", o.checksum, o.args, tc.want)
			}
		})
	}
	code, out, _ := runArgs(t, "--help")
	if code != 0 || !strings.Contains(out, "  --checksum ") || !strings.Contains(out, "  -I, --ignore-times ") {
		t.Errorf("--help does not list --checksum and -I, --ignore-times: exit %d, %q", code, out)
	}
}

// TestQuickCheckAndChecksum syncs a file whose destination differs in content
// but has the same size and mtime: the default quick check leaves it and
// --stats counts it, --checksum updates it.
func TestQuickCheckAndChecksum(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	mtime := time.Date(2022, 2, 2, 2, 2, 2, 222, time.UTC)
	for p, content := range map[string]string{src: "new content", dst: "old content"} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, time.Time{}, mtime); err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := runArgs(t, "-a", "--stats", src, dst)
	if code != 0 || !strings.Contains(out, "unchanged 1, quick-checked 1)") || !strings.Contains(out, "compared 0\n") {
		t.Fatalf("quick check: exit %d, out %q, err %q", code, out, stderr)
	}
	if got, _ := os.ReadFile(dst); string(got) != "old content" {
		t.Fatalf("quick check rewrote the destination: %q", got)
	}
	code, out, stderr = runArgs(t, "-a", "--checksum", "--stats", src, dst)
	if code != 0 || !strings.Contains(out, "updated 1, unchanged 0, quick-checked 0)") {
		t.Fatalf("--checksum: exit %d, out %q, err %q", code, out, stderr)
	}
	if got, _ := os.ReadFile(dst); string(got) != "new content" {
		t.Fatalf("--checksum did not update the destination: %q", got)
	}
}
