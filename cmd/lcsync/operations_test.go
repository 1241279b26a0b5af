package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOperationsUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"json without doctor", []string{"--json", "./a"}, "--json goes with --doctor"},
		{"negative querier wait", []string{"--doctor", "--querier-wait", "-1s"}, "--querier-wait"},
		{"bad log format", []string{"--log-format", "xml", "./a"}, "--log-format"},
		{"bad metrics address", []string{"--metrics", "9142", "./a"}, "HOST:PORT"},
		{"doctor with metrics", []string{"--doctor", "--metrics", "127.0.0.1:9142"}, "--doctor runs alone"},
		{"doctor with hex", []string{"--doctor", "--hex", "./a"}, "--doctor runs alone"},
		{"doctor with a remote name", []string{"--doctor", "--querier-wait", "0", "share"}, "not a local path"},
		{"doctor with two paths", []string{"--doctor", "./a", "./b"}, "at most one SRC"},
		{"metrics with local sync", []string{"--metrics", "127.0.0.1:0", "./a", "./b"}, "not to local sync"},
		{"metrics with hex", []string{"--metrics", "127.0.0.1:0", "--hex", "./a"}, "not to --hex"},
		{"bad completion shell", []string{"--completion", "tcsh"}, "bash, zsh or fish"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

func TestVersionBuildInfo(t *testing.T) {
	code, out, _ := runArgs(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "lcsync ") || !strings.Contains(out, "\nmodule github.com/lcsync/lcsync") ||
		!strings.Contains(out, "\nrevision ") || !strings.Contains(out, "built with go") {
		t.Errorf("--version: exit %d:\n%s", code, out)
	}
}

// logLines logs two messages through newLogger to stderr and returns the lines written.
func logLines(t *testing.T, stderr *os.File, format string) []string {
	t.Helper()
	if err := stderr.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := stderr.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	log := newLogger(stderr, slog.LevelInfo, format)
	log.Info("serving", "files", 3)
	log.Debug("not shown")
	log.Warn("careful", "path", "a b")
	b, err := os.ReadFile(stderr.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%s logger wrote %d lines, want 2: %q", format, len(lines), b)
	}
	return lines
}

// TestJSONLogs checks that the json format writes one JSON object per line with time,
// level and msg, and that the timestamps go when JOURNAL_STREAM names stderr.
func TestJSONLogs(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, line := range logLines(t, f, "json") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				t.Errorf("log line %q lacks %q", line, k)
			}
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	for _, line := range logLines(t, f, "json") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if _, ok := m["time"]; ok {
			t.Errorf("under journald, log line %q has a timestamp", line)
		}
	}
	for _, line := range logLines(t, f, "text") {
		if !strings.HasPrefix(line, "level=") {
			t.Errorf("text log line under journald %q does not start with level=", line)
		}
	}
	t.Setenv("JOURNAL_STREAM", "1:2") // another stream: stderr is not the journal's
	for _, line := range logLines(t, f, "text") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("text log line to a file %q has no timestamp", line)
		}
	}
}

// TestCompletionScripts checks that each shell's script names every option of the table and
// parses; bash's is also run.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			code, script, stderr := runArgs(t, "--completion", shell)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, o := range completionOptions() {
				for _, n := range []string{o.short, o.long} {
					if n == "" {
						continue
					}
					want := n
					if shell == "fish" {
						want = map[bool]string{true: "-l " + strings.TrimPrefix(n, "--"), false: "-s " + strings.TrimPrefix(n, "-")}[strings.HasPrefix(n, "--")]
					}
					if !strings.Contains(script, want) {
						t.Errorf("%s completion lacks %s", shell, want)
					}
				}
			}
			sh, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("SKIP: %s is not installed, so its completion script is not parsed", shell)
			}
			file := filepath.Join(t.TempDir(), "completion")
			if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh, "-n", file).CombinedOutput(); err != nil {
				t.Fatalf("%s -n: %v: %s", shell, err, out)
			}
			if shell != "bash" {
				return
			}
			for words, want := range map[string]string{
				"lcsync --sc":            "--scope",
				"lcsync --scope s":       "site",
				"lcsync --log-format j":  "json",
				"lcsync --completion z":  "zsh",
				"lcsync --fec o":         "off",
				"lcsync -c 1 --querier-": "--querier-wait",
			} {
				probe := fmt.Sprintf("source %s; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _lcsync; echo \"${COMPREPLY[*]}\"", file, words)
				out, err := exec.Command(sh, "-c", probe).CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != want {
					t.Errorf("completing %q: %q, %v; want %q", words, out, err, want)
				}
			}
		})
	}
}
