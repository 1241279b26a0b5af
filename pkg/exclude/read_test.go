package exclude

import (
	"strings"
	"testing"
)

func TestReadRules(t *testing.T) {
	file := "# build output\n; also a comment\n\n+ keep.o\r\n- *.o\ncache/\n"
	m := &Matcher{}
	if err := m.ReadRules(strings.NewReader(file), "rules"); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 {
		t.Fatalf("%d rules, want 3", m.Len())
	}
	for _, c := range []struct {
		rel  string
		dir  bool
		want bool
	}{
		{"keep.o", false, false},
		{"d/keep.o", false, false},
		{"d/other.o", false, true},
		{"d/cache", true, true},
		{"d/cache", false, false},
		{"d/cache/x", false, true},
		{"# build output", false, false},
	} {
		if got := m.Excluded(c.rel, c.dir); got != c.want {
			t.Errorf("Excluded(%q, dir=%v) = %v, want %v", c.rel, c.dir, got, c.want)
		}
	}
}

func TestBadRules(t *testing.T) {
	for _, c := range []struct{ pat, want string }{
		{"[abc", "character class"},
		{"*[[:nope:]]", "character class"},
		{`x*\`, "trailing backslash"},
		{"", "empty pattern"},
		{"- ", "empty pattern"},
		{strings.Repeat("a", MaxPattern+1), "longer than"},
	} {
		err := (&Matcher{}).Exclude(c.pat)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Exclude(%.20q) = %v, want an error mentioning %q", c.pat, err, c.want)
		}
	}
	long := "*.o\n" + strings.Repeat("x", MaxPattern+100) + "\n"
	err := (&Matcher{}).ReadRules(strings.NewReader(long), "big")
	if err == nil || !strings.Contains(err.Error(), "big") {
		t.Errorf("ReadRules with an overlong line = %v, want an error naming the file", err)
	}
	err = (&Matcher{}).ReadRules(strings.NewReader("ok\n[bad\n"), "f")
	if err == nil || !strings.Contains(err.Error(), "f:2:") {
		t.Errorf("ReadRules with a bad second line = %v, want an error at f:2", err)
	}
}

// TestTempFilesAlwaysExcluded: lcsync's temporary names are excluded with no rules, even
// by a nil Matcher and even against an include rule, and only those names.
func TestTempFilesAlwaysExcluded(t *testing.T) {
	var none *Matcher
	inc := &Matcher{}
	if err := inc.Include("*"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel  string
		want bool
	}{
		{".f.txt.lcsync-0123abcd", true},
		{"d/.big.iso.lcsync-ffffffff", true},
		{".f.lcsync-0123abc", false},     // seven digits
		{".f.lcsync-0123ABCD", false},    // not lower-case hex
		{"f.txt.lcsync-0123abcd", false}, // not hidden
		{"..lcsync-0123abcd", false},     // no name
		{"plain", false},
	} {
		for _, m := range []*Matcher{none, inc} {
			if got := m.Excluded(c.rel, false); got != c.want {
				t.Errorf("Excluded(%q) with %d rules = %v, want %v", c.rel, m.Len(), got, c.want)
			}
		}
	}
	if none.Excluded("", true) || none.Excluded("d", true) {
		t.Error("a nil Matcher excluded a directory")
	}
}

// FuzzRules: no pattern and path panic or hang, and a pattern always matches itself
// literally when it has no special characters.
func FuzzRules(f *testing.F) {
	f.Add("a/**/b[!x]*", "a/c/b")
	f.Add("[[:alpha:]-z]?", "q")
	f.Fuzz(func(t *testing.T, pat, rel string) {
		m := &Matcher{}
		if m.Exclude(pat) != nil {
			return
		}
		m.Excluded(rel, false)
		m.Excluded(rel, true)
	})
}
