package exclude

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// fixture is the tree the rule tables are checked on: directories end in "/".
var fixture = []string{
	"top.txt", ".hidden", "foo", "x.d/", "x.d/f",
	"a/", "a/x.o", "a/y.c", "a/foo/", "a/foo/bar", "a/b/", "a/b/x.o", "a/b/c/", "a/b/c/y.c", "a/b/c/deep.txt",
	"b/", "b/readme",
	"build/", "build/out.bin", "build/obj/", "build/obj/m.o",
	"src/", "src/main.c", "src/x.o", "src/sub/", "src/sub/util.c", "src/sub/util.h", "src/a/", "src/a/b/", "src/a/b/z",
	"logs/", "logs/app.log", "logs/old.log.1", "logs/old.log.2",
}

type ruleCase struct {
	name string
	args []string // rsync-style: --exclude PAT / --include PAT pairs
	want []string // the fixture entries left, in fixture order; nil: all but those in gone
	gone []string
}

var ruleCases = []ruleCase{
	{name: "star-suffix", args: []string{"--exclude", "*.o"}, gone: []string{"a/x.o", "a/b/x.o", "build/obj/m.o", "src/x.o"}},
	{name: "dir-only", args: []string{"--exclude", "foo/"}, gone: []string{"a/foo/", "a/foo/bar"}},
	{name: "name-any-depth", args: []string{"--exclude", "foo"}, gone: []string{"foo", "a/foo/", "a/foo/bar"}},
	{name: "anchored", args: []string{"--exclude", "/a"}, gone: []string{"a/", "a/x.o", "a/y.c", "a/foo/", "a/foo/bar", "a/b/", "a/b/x.o", "a/b/c/", "a/b/c/y.c", "a/b/c/deep.txt"}},
	{name: "inner-slash-trailing-components", args: []string{"--exclude", "a/b"},
		gone: []string{"a/b/", "a/b/x.o", "a/b/c/", "a/b/c/y.c", "a/b/c/deep.txt", "src/a/b/", "src/a/b/z"}},
	{name: "anchored-inner", args: []string{"--exclude", "/a/b"}, gone: []string{"a/b/", "a/b/x.o", "a/b/c/", "a/b/c/y.c", "a/b/c/deep.txt"}},
	{name: "double-star-middle", args: []string{"--exclude", "a/**/y.c"}, gone: []string{"a/b/c/y.c"}},
	{name: "double-star-prefix", args: []string{"--exclude", "**/sub"}, gone: []string{"src/sub/", "src/sub/util.c", "src/sub/util.h"}},
	{name: "double-star-trailing", args: []string{"--exclude", "a/**"},
		gone: []string{"a/x.o", "a/y.c", "a/foo/", "a/foo/bar", "a/b/", "a/b/x.o", "a/b/c/", "a/b/c/y.c", "a/b/c/deep.txt", "src/a/b/", "src/a/b/z"}},
	{name: "triple-star", args: []string{"--exclude", "src/***"},
		gone: []string{"src/", "src/main.c", "src/x.o", "src/sub/", "src/sub/util.c", "src/sub/util.h", "src/a/", "src/a/b/", "src/a/b/z"}},
	{name: "only-c-files", args: []string{"--include", "*/", "--include", "*.c", "--exclude", "*"},
		want: []string{"x.d/", "a/", "a/y.c", "a/foo/", "a/b/", "a/b/c/", "a/b/c/y.c", "b/", "build/", "build/obj/",
			"src/", "src/main.c", "src/sub/", "src/sub/util.c", "src/a/", "src/a/b/", "logs/"}},
	{name: "first-match-wins", args: []string{"--include", "logs/app.log", "--exclude", "logs/*"}, gone: []string{"logs/old.log.1", "logs/old.log.2"}},
	{name: "first-match-wins-reversed", args: []string{"--exclude", "logs/*", "--include", "logs/app.log"}, gone: []string{"logs/app.log", "logs/old.log.1", "logs/old.log.2"}},
	{name: "excluded-dir-hides-includes", args: []string{"--exclude", "build/", "--include", "*.o"}, gone: []string{"build/", "build/out.bin", "build/obj/", "build/obj/m.o"}},
	{name: "question-mark", args: []string{"--exclude", "?.o"}, gone: []string{"a/x.o", "a/b/x.o", "build/obj/m.o", "src/x.o"}},
	{name: "class", args: []string{"--exclude", "[xm].o"}, gone: []string{"a/x.o", "a/b/x.o", "build/obj/m.o", "src/x.o"}},
	{name: "negated-class", args: []string{"--exclude", "[!x]*.o"}, gone: []string{"build/obj/m.o"}},
	{name: "caret-class-range", args: []string{"--exclude", "[^a-l]*.c"}, gone: []string{"a/y.c", "a/b/c/y.c", "src/main.c", "src/sub/util.c"}},
	{name: "posix-class", args: []string{"--exclude", "*[[:digit:]]"}, gone: []string{"logs/old.log.1", "logs/old.log.2"}},
	{name: "dotfiles", args: []string{"--exclude", ".*"}, gone: []string{".hidden"}},
	{name: "star-stops-at-slash", args: []string{"--exclude", "/src/*.c"}, gone: []string{"src/main.c"}},
	{name: "anchored-star-dirs", args: []string{"--exclude", "/*/"},
		want: []string{"top.txt", ".hidden", "foo"}},
	{name: "everything", args: []string{"--exclude", "**"}, want: []string{}},
	{name: "dot-in-dir-name", args: []string{"--exclude", "*.d"}, gone: []string{"x.d/", "x.d/f"}},
	{name: "plus-prefix-in-exclude", args: []string{"--exclude", "+ *.log", "--exclude", "logs/*"}, gone: []string{"logs/old.log.1", "logs/old.log.2"}},
	{name: "bang-clears", args: []string{"--exclude", "*.o", "--exclude", "!", "--exclude", "*.c"}, gone: []string{"a/y.c", "a/b/c/y.c", "src/main.c", "src/sub/util.c"}},
	{name: "literal-no-wildcards", args: []string{"--exclude", "deep.txt"}, gone: []string{"a/b/c/deep.txt"}},
}

// matcherOf builds a Matcher from rsync-style arguments.
func matcherOf(t *testing.T, args []string) *Matcher {
	t.Helper()
	m := &Matcher{}
	for i := 0; i+1 < len(args); i += 2 {
		var err error
		switch args[i] {
		case "--exclude":
			err = m.Exclude(args[i+1])
		case "--include":
			err = m.Include(args[i+1])
		default:
			t.Fatalf("bad table argument %q", args[i])
		}
		if err != nil {
			t.Fatalf("%s %q: %v", args[i], args[i+1], err)
		}
	}
	return m
}

// walk returns the fixture entries m keeps, visiting top-down like a walker that does not
// descend into excluded directories; it also checks Excluded agrees with that walk.
func walk(t *testing.T, m *Matcher) []string {
	t.Helper()
	kept := []string{}
	pruned := map[string]bool{}
	for _, e := range fixture {
		rel, dir := strings.TrimSuffix(e, "/"), strings.HasSuffix(e, "/")
		parentGone := false
		for p := range pruned {
			if strings.HasPrefix(rel, p+"/") {
				parentGone = true
			}
		}
		out := parentGone || m.Match(rel, dir)
		if got := m.Excluded(rel, dir); got != out {
			t.Errorf("Excluded(%q) = %v, but a walk says %v", rel, got, out)
		}
		if out {
			if dir {
				pruned[rel] = true
			}
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

func (c ruleCase) expected() []string {
	if c.want != nil {
		return c.want
	}
	gone := map[string]bool{}
	for _, g := range c.gone {
		gone[g] = true
	}
	var out []string
	for _, e := range fixture {
		if !gone[e] {
			out = append(out, e)
		}
	}
	return out
}

// TestRules checks each table case against its expected result and, when rsync is
// installed, against what rsync itself transfers with the same arguments.
func TestRules(t *testing.T) {
	rsync, err := exec.LookPath("rsync")
	if err != nil {
		t.Run("AgainstRsync", func(t *testing.T) {
			t.Skip("rsync is not installed (bash scripts/deps.sh rsync): the tables are checked against their written expectations only, not against rsync")
		})
	}
	var tree string
	if rsync != "" {
		tree = t.TempDir()
		for _, e := range fixture {
			p := filepath.Join(tree, "src", e)
			if strings.HasSuffix(e, "/") {
				if err := os.MkdirAll(p, 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(tree, "dst"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range ruleCases {
		t.Run(c.name, func(t *testing.T) {
			got := walk(t, matcherOf(t, c.args))
			if want := c.expected(); !reflect.DeepEqual(got, want) {
				t.Errorf("kept %q\nwant %q", got, want)
			}
			if rsync == "" {
				return
			}
			args := append([]string{"-rn", "--out-format=%n"}, c.args...)
			args = append(args, filepath.Join(tree, "src")+"/", filepath.Join(tree, "dst")+"/")
			out, err := exec.Command(rsync, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("rsync %q: %v\n%s", args, err, out)
			}
			var theirs []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if l != "" && l != "./" {
					theirs = append(theirs, l)
				}
			}
			mine := append([]string(nil), got...)
			sort.Strings(mine)
			sort.Strings(theirs)
			if !reflect.DeepEqual(mine, theirs) && !(len(mine) == 0 && len(theirs) == 0) {
				t.Errorf("lcsync keeps %q\nrsync keeps  %q", mine, theirs)
			}
		})
	}
}
