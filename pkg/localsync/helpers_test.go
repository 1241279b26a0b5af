package localsync

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// data returns size deterministic pseudo-random bytes for seed.
func data(seed uint64, size int) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x6c63))
	b := make([]byte, size)
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// writeFile writes b to p with mode, and gives it a modification time
// derived from b. So files written with different contents have different
// times, as in real life, and the quick check (size and mtime) never skips a
// file a test changed: Linux stamps writes with a clock that ticks only every
// few milliseconds, so two files written back to back often share one.
// Files written with the same contents get the same time.
func writeFile(t *testing.T, p string, b []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Time{}, contentTime(b)); err != nil {
		t.Fatal(err)
	}
}

// contentTime is a modification time between 2020 and 2030, to the
// nanosecond, derived from the SHA-256 of b.
func contentTime(b []byte) time.Time {
	sum := sha256.Sum256(b)
	const span = uint64(10 * 365 * 24 * time.Hour)
	return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(binary.LittleEndian.Uint64(sum[:8]) % span))
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// results collects the FileResults of a sync by path.
type results map[string]FileResult

func (r results) onFile(fr FileResult) { r[fr.Path] = fr }

// syncT runs Sync with OnFile collecting results and fails the test on error.
func syncT(t *testing.T, src, dst string, opt Options) (Stats, results) {
	t.Helper()
	res := results{}
	opt.OnFile = res.onFile
	st, err := Sync(context.Background(), src, dst, opt)
	if err != nil {
		t.Fatalf("Sync(%s, %s): %v", src, dst, err)
	}
	return st, res
}

// listing describes every entry under root, one line each: type, mode,
// size, mtime, link target and content hash. With mtimes false, directory
// and file times are left out.
func listing(t *testing.T, root string, withTimes bool) []string {
	t.Helper()
	var out []string
	if _, err := os.Lstat(root); err != nil {
		return []string{"missing: " + err.Error()}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		switch {
		case fi.Mode().IsRegular():
			sum := sha256.Sum256(readFile(t, p))
			line += fmt.Sprintf(" %d %s", fi.Size(), hex.EncodeToString(sum[:8]))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		if withTimes {
			line += " " + fi.ModTime().UTC().Format("2006-01-02T15:04:05.000000000")
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// contentListing is listing without modes and times, and without the root
// line, for comparing a copy with its source.
func contentListing(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, l := range listing(t, root, false) {
		f := strings.Fields(l)
		if f[0] == "." {
			continue
		}
		kind := f[1][:1]
		out = append(out, strings.Join(append([]string{f[0], kind}, f[2:]...), " "))
	}
	return out
}

func equalLists(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s differ:\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// noTemps fails if any temporary file is left under root.
func noTemps(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".lcsync-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// errorsIsAny reports whether err wraps any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
