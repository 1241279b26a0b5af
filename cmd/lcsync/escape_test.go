package main

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain/name.txt", "plain/name.txt"},
		{"with space", "with space"},
		{"naïve/日本語", "naïve/日本語"},
		{"\x1b]0;owned\x07", `\#033]0;owned\#007`},
		{"a\nb\rc\td", `a\#012b\#015c\#011d`},
		{"del\x7f", `del\#177`},
		{"c1\u009b31m", `c1\#302\#23331m`},
		{"bidi\u202etxt.exe", `bidi\#342\#200\#256txt.exe`},
		{"bad\xff\xfeutf8", `bad\#377\#376utf8`},
		{`back\slash`, `back\slash`},
		{`fake\#033`, `fake\#134#033`},
		{"", ""},
	} {
		got := escapeName(tc.in)
		if got != tc.want {
			t.Errorf("escapeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Errorf("escapeName(%q) = %q still holds control bytes or invalid UTF-8", tc.in, got)
		}
	}
	if got, want := escapeMessage("one \x1b[2J\ntwo"), "one \\#033[2J\ntwo"; got != want {
		t.Errorf("escapeMessage = %q, want %q (newlines between joined errors kept)", got, want)
	}
}

// FuzzEscapeName: whatever the input, the output is valid UTF-8 with no control character.
func FuzzEscapeName(f *testing.F) {
	f.Add("\x1b[31mred")
	f.Add("\xff\\#x")
	f.Fuzz(func(t *testing.T, s string) {
		got := escapeName(s)
		if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 }) {
			t.Fatalf("escapeName(%q) = %q", s, got)
		}
	})
}

// TestLocalSyncEscapesNames: a file name carrying a terminal escape is printed escaped by -v.
func TestLocalSyncEscapesNames(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(src+"/evil\x1b]0;pwned\x07name", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runArgs(t, "-v", src+"/", dst+"/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `evil\#033]0;pwned\#007name`) {
		t.Errorf("-v output %q does not escape the name", out)
	}
}
