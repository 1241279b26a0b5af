package test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParseStats checks the --stats parser on the lines cmd/lcsync prints, and that it refuses
// output without them.
func TestParseStats(t *testing.T) {
	full := `create    /tmp/x (3 of 64 blocks, 48.0 KiB)
files 1 fetched, 2 unchanged, 3 other entries, 4 deleted
blocks 64: 5 received (80.0 KiB), 59 reused from the local copy
datagrams 123 (160.1 KiB), duplicates 6, wasted 1.2 KiB, tree 2.0 KiB, corrupt 7, malformed 8, foreign 9, kernel drops 10
channels joined 11, rejoined 12; 1.50s, 53.3 KiB/s
`
	cases := []struct {
		name    string
		out     string
		want    fetchStats
		wantErr bool
	}{
		{name: "full", out: full, want: fetchStats{Files: 1, Unchanged: 2, Other: 3, Deleted: 4, Blocks: 64,
			Received: 5, Reused: 59, Datagrams: 123, Duplicates: 6, Corrupt: 7, Malformed: 8, Foreign: 9,
			KernelDrops: 10, Joins: 11, Rejoins: 12, Seconds: 1.5}},
		{name: "empty", out: "", wantErr: true},
		{name: "missing-blocks-line", out: strings.Replace(full, "blocks 64", "bloks 64", 1), wantErr: true},
		{name: "error-only", out: "lcsync: receiver: timed out\n", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStats(c.out)
			if (err != nil) != c.wantErr {
				t.Fatalf("parseStats error %v, want error %v", err, c.wantErr)
			}
			if !c.wantErr && got != c.want {
				t.Fatalf("parseStats = %+v, want %+v", got, c.want)
			}
		})
	}
}

// recorder is a testing.TB that records errors instead of failing, to test compareTrees.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// TestCompareTreesFindsDifferences checks that the tree comparison used by every network test
// notices each kind of difference, and none between identical trees.
func TestCompareTreesFindsDifferences(t *testing.T) {
	fixture := []treeEntry{
		{name: "", mode: 0o755, dir: true},
		{name: "f", mode: 0o644, size: 5000},
		{name: "s", mode: 0o755 | fs.ModeSetuid, size: 10},
		{name: "d", mode: 0o751, dir: true},
		{name: "d/g", mode: 0o600, size: 20000},
		{name: "l", target: "f"},
	}
	cases := []struct {
		name   string
		mutate func(t *testing.T, dst string)
		opts   compareOpts
		want   string // a substring of the reported difference; "" for none
	}{
		{name: "identical", mutate: func(*testing.T, string) {}, opts: compareOpts{modes: true, times: true, root: true}},
		{name: "content", want: "contents differ from byte 17000", mutate: func(t *testing.T, dst string) {
			flipByte(t, filepath.Join(dst, "d/g"), 17000)
		}},
		{name: "size", want: "size 4999", mutate: func(t *testing.T, dst string) {
			if err := os.Truncate(filepath.Join(dst, "f"), 4999); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "missing", want: "missing in the destination", mutate: func(t *testing.T, dst string) {
			if err := os.Remove(filepath.Join(dst, "d/g")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "extra", want: "extra entry", mutate: func(t *testing.T, dst string) {
			if err := os.WriteFile(filepath.Join(dst, "d/extra"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlink-target", want: "symlink target", mutate: func(t *testing.T, dst string) {
			if err := os.Remove(filepath.Join(dst, "l")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("d", filepath.Join(dst, "l")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "type", want: "type", mutate: func(t *testing.T, dst string) {
			if err := os.Remove(filepath.Join(dst, "l")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, "l"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "mode", want: "mode", opts: compareOpts{modes: true}, mutate: func(t *testing.T, dst string) {
			if err := os.Chmod(filepath.Join(dst, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "setid-cleared", opts: compareOpts{modes: true, noSetid: true}, mutate: func(t *testing.T, dst string) {
			if err := os.Chmod(filepath.Join(dst, "s"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "setid-kept", want: "mode", opts: compareOpts{modes: true, noSetid: true}, mutate: func(*testing.T, string) {}},
		{name: "mode-ignored", opts: compareOpts{}, mutate: func(t *testing.T, dst string) {
			if err := os.Chmod(filepath.Join(dst, "f"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "mtime", want: "mtime", opts: compareOpts{times: true}, mutate: func(t *testing.T, dst string) {
			setMtime(t, filepath.Join(dst, "l"), time.Unix(1, 1))
		}},
		{name: "root-mtime", want: "mtime", opts: compareOpts{times: true, root: true}, mutate: func(t *testing.T, dst string) {
			setMtime(t, dst, time.Unix(1, 2))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
			makeTree(t, src, fixture)
			makeTree(t, dst, fixture)
			c.mutate(t, dst)
			r := &recorder{TB: t}
			compareTrees(r, src, dst, c.opts)
			got := strings.Join(r.errs, "\n")
			switch {
			case c.want == "" && got != "":
				t.Fatalf("differences reported between identical trees:\n%s", got)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Fatalf("reported %q, want a difference mentioning %q", got, c.want)
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
