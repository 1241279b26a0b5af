package exclude

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on rules, so that a hostile or mistaken --exclude-from file costs bounded memory.
const (
	// MaxRules is the most rules a Matcher holds.
	MaxRules = 100000
	// MaxPattern is the longest pattern accepted, in bytes (rsync's MAXPATHLEN).
	MaxPattern = 4096
)

// rule is one parsed include or exclude rule.
type rule struct {
	text     string // as given, for messages
	include  bool
	pattern  string // without the anchoring '/' and the trailing '/'
	dirOnly  bool   // a trailing '/': directories only
	lastName bool   // no '/' and no "**": matched against the last component
	where    int    // how the pattern is matched against the path, see wildmatchAt
	dirStar3 bool   // ends in "/***": also matches the directory itself
}

// Matcher holds an ordered list of include and exclude rules. The zero value and a nil
// *Matcher have no rules (they still exclude lcsync's temporary files). A Matcher is not
// safe for concurrent changes, but once built it may be used from any number of goroutines.
type Matcher struct {
	rules []rule
}

// Exclude appends an exclude rule, as rsync's --exclude: PAT may start with "- " or "+ " to
// say which kind of rule it is, and "!" alone clears the rules given so far.
func (m *Matcher) Exclude(pat string) error { return m.add(pat, false) }

// Include appends an include rule, as rsync's --include (the same prefixes apply).
func (m *Matcher) Include(pat string) error { return m.add(pat, true) }

// ReadRules appends the rules of an --exclude-from file: one pattern a line, exclude rules
// unless prefixed with "+ "; empty lines and lines starting with '#' or ';' are ignored; a
// line "!" clears the rules so far. name is used in error messages.
func (m *Matcher) ReadRules(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxPattern+16)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSuffix(sc.Text(), "\r")
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if err := m.add(t, false); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s: a line is longer than %d bytes", name, MaxPattern)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Len returns the number of rules.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return len(m.rules)
}

func (m *Matcher) add(text string, include bool) error {
	pat := text
	switch {
	case pat == "!":
		m.rules = nil
		return nil
	case strings.HasPrefix(pat, "- "):
		include, pat = false, pat[2:]
	case strings.HasPrefix(pat, "+ "):
		include, pat = true, pat[2:]
	}
	if pat == "" {
		return fmt.Errorf("exclude: empty pattern in %q", text)
	}
	if len(pat) > MaxPattern {
		return fmt.Errorf("exclude: pattern longer than %d bytes", MaxPattern)
	}
	if strings.IndexByte(pat, 0) >= 0 {
		return fmt.Errorf("exclude: pattern %q contains a NUL byte", text)
	}
	if len(m.rules) >= MaxRules {
		return fmt.Errorf("exclude: more than %d rules", MaxRules)
	}
	r := rule{text: text, include: include}
	if len(pat) > 1 && pat[len(pat)-1] == '/' {
		r.dirOnly = true
		pat = pat[:len(pat)-1]
	}
	slashes := strings.Count(pat, "/")
	anchored := pat[0] == '/'
	if anchored {
		pat = pat[1:]
	}
	wild := strings.ContainsAny(pat, "*?[")
	if !wild {
		// rsync compares a pattern without wildcards literally: backslashes are not quotes.
		pat = strings.ReplaceAll(pat, `\`, `\\`)
	} else if err := checkPattern(pat); err != nil {
		return fmt.Errorf("exclude: pattern %q: %w", text, err)
	}
	star2 := strings.Contains(pat, "**")
	r.dirStar3 = strings.HasSuffix(pat, "***")
	switch {
	case slashes == 0 && !star2:
		r.lastName = true
	case !anchored && slashes > 0 && !star2:
		r.where = slashes + 1 // the last components
	case !anchored && star2 && !strings.HasPrefix(pat, "**"):
		r.where = -1 // at every level
	}
	r.pattern = pat
	m.rules = append(m.rules, r)
	return nil
}

// matches reports whether rule r matches path rel (dir: rel is a directory).
func (r *rule) matches(rel string, dir bool) bool {
	if r.dirOnly && !dir {
		return false
	}
	text := rel
	if r.lastName {
		if i := lastSlash(text); i >= 0 {
			text = text[i+1:]
		}
	}
	if dir && r.dirStar3 {
		text += "/" // so that "dir/***" matches dir itself, as in rsync
	}
	return wildmatchAt(r.pattern, text, r.where)
}

// Match reports whether the rules exclude rel itself (dir: rel is a directory), without
// looking at its parent directories: for walkers that do not descend into an excluded
// directory. The share root ("") is never excluded; lcsync's temporary files always are.
func (m *Matcher) Match(rel string, dir bool) bool {
	if rel == "" {
		return false
	}
	if !dir && IsTemp(base(rel)) {
		return true
	}
	if m == nil {
		return false
	}
	for i := range m.rules {
		if m.rules[i].matches(rel, dir) {
			return !m.rules[i].include
		}
	}
	return false
}

// Excluded reports whether rel is excluded, either itself or because a directory above it
// is: what a receiver holding a flat list of names asks of each of them.
func (m *Matcher) Excluded(rel string, dir bool) bool {
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && m.Match(rel[:i], true) {
			return true
		}
	}
	return m.Match(rel, dir)
}

func base(rel string) string {
	if i := lastSlash(rel); i >= 0 {
		return rel[i+1:]
	}
	return rel
}

// IsTemp reports whether a file name (one component) is one of lcsync's temporary files:
// ".NAME.lcsync-" followed by eight hexadecimal digits.
func IsTemp(name string) bool {
	const tag = ".lcsync-"
	n := len(name)
	if n < 1+1+len(tag)+8 || name[0] != '.' || name[n-8-len(tag):n-8] != tag {
		return false
	}
	for _, c := range []byte(name[n-8:]) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
