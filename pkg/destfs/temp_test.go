package destfs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTempName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string // the part of name kept
	}{
		{"f", "f"},
		{"", ""},
		{strings.Repeat("a", 238), strings.Repeat("a", 238)},
		{strings.Repeat("a", 239), strings.Repeat("a", 238)},
		{strings.Repeat("a", 255), strings.Repeat("a", 238)},
		{strings.Repeat("é", 127) + "x", strings.Repeat("é", 119)},       // 238 falls between two characters
		{"a" + strings.Repeat("é", 127), "a" + strings.Repeat("é", 118)}, // 1 + 2*118 = 237
	} {
		got := TempName(tc.name)
		if len(got) > NameMax {
			t.Errorf("TempName(%d bytes) = %d bytes", len(tc.name), len(got))
		}
		want := "." + tc.prefix + tempTag
		if !strings.HasPrefix(got, want) || len(got) != len(want)+8 || !utf8.ValidString(got) {
			t.Errorf("TempName(%.20q, %d bytes) = %.30q (%d bytes), want %.30q + 8 hex digits", tc.name, len(tc.name), got, len(got), want)
		}
		if !IsTemp(got) {
			t.Errorf("IsTemp(%.30q) = false", got)
		}
	}
	if a, b := TempName("f"), TempName("f"); a == b {
		t.Error("two temporary names alike")
	}
	for name, want := range map[string]bool{"f": false, ".f": false, "f.lcsync-12345678": false, ".f.lcsync-12345678": true} {
		if IsTemp(name) != want {
			t.Errorf("IsTemp(%q) = %v", name, !want)
		}
	}
}

func TestCreateTemp(t *testing.T) {
	// Clashes are retried with another name; other errors end the attempt.
	tries := 0
	name, err := CreateTemp("f", func(tmp string) error {
		if tries++; tries < 3 {
			return fs.ErrExist
		}
		return nil
	})
	if err != nil || tries != 3 || !IsTemp(name) {
		t.Errorf("after two clashes: %q, %v after %d tries", name, err, tries)
	}
	tries = 0
	boom := errors.New("boom")
	if _, err := CreateTemp("f", func(string) error { tries++; return boom }); !errors.Is(err, boom) || tries != 1 {
		t.Errorf("failure: %v after %d tries", err, tries)
	}
	tries = 0
	if _, err := CreateTemp("f", func(string) error { tries++; return fs.ErrExist }); !errors.Is(err, fs.ErrExist) || tries != tempTries {
		t.Errorf("endless clashes: %v after %d tries", err, tries)
	}
}

func TestOpenTemp(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	long := strings.Repeat("n", NameMax)
	f, tmp, err := OpenTemp(root, long, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := root.Lstat(tmp)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("temporary file %q: %v, %v", tmp, fi, err)
	}
	// A link planted under the name it would take is not followed: O_EXCL fails on it.
	if err := root.Symlink("/etc/passwd", ".x.lcsync-00000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := root.OpenFile(".x.lcsync-00000000", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL through a link: %v", err)
	}
}
