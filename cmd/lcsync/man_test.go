package main

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// manPagePath is lcsync.1, relative to this package's directory (where go test runs).
const manPagePath = "../../lcsync.1"

// manOptionToken matches an option name in text: "-x" or "--long", at the start of the text or
// after a space or an opening bracket, so that "BLAKE2s-256" or "mid-cycle" do not count.
var manOptionToken = regexp.MustCompile(`(?:^|[\s(\[,=])(--?[A-Za-z][A-Za-z0-9-]*)`)

// manRoffEscapes are the escapes lcsync.1 uses, with what they stand for in plain text.
var manRoffEscapes = strings.NewReplacer(
	`\-`, "-", `\&`, "", `\e`, `\`, `\fB`, "", `\fI`, "", `\fR`, "", `\fP`, "", `\c`, "", `\%`, "",
)

// manUnescape turns one roff line into plain text: escapes resolved, the macro name and the
// quotes around macro arguments removed.
func manUnescape(line string) string {
	if strings.HasPrefix(line, ".") {
		if i := strings.IndexByte(line, ' '); i > 0 {
			line = strings.ReplaceAll(line[i+1:], `"`, "")
		} else {
			line = ""
		}
	}
	return manRoffEscapes.Replace(line)
}

// manTokens returns the option names ("-x", "--long") in plain text.
func manTokens(text string) []string {
	var out []string
	for _, m := range manOptionToken.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// manPage is lcsync.1 split into sections.
type manPage struct {
	order    []string            // section names in page order
	sections map[string][]string // raw lines of each section, without its .SH line
}

func readManPage(t *testing.T) manPage {
	t.Helper()
	b, err := os.ReadFile(manPagePath)
	if err != nil {
		t.Fatalf("reading the man page: %v", err)
	}
	p := manPage{sections: map[string][]string{}}
	cur := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, `.\"`) {
			continue // comment
		}
		if name, ok := strings.CutPrefix(line, ".SH "); ok {
			cur = strings.Trim(name, `"`)
			p.order = append(p.order, cur)
			continue
		}
		p.sections[cur] = append(p.sections[cur], line)
	}
	return p
}

// section returns the raw lines of a section, failing the test when it is missing.
func (p manPage) section(t *testing.T, name string) []string {
	t.Helper()
	lines, ok := p.sections[name]
	if !ok {
		t.Fatalf("lcsync.1 has no %s section (sections: %q)", name, p.order)
	}
	return lines
}

// manTags returns, unescaped, the tag line of every .TP item in lines.
func manTags(lines []string) []string {
	var tags []string
	for i, line := range lines {
		if strings.HasPrefix(line, ".TP") && i+1 < len(lines) {
			tags = append(tags, manUnescape(lines[i+1]))
		}
	}
	return tags
}

// helpOption is one option line of the --help text.
type helpOption struct {
	line  string   // the whole line, for messages
	names []string // "-c", "--channels"
	arg   string   // "N", or "" for a switch
}

// helpOptionLine splits an option line of --help into its names ("-c, --channels") and its
// upper-case argument ("N"), if any.
var helpOptionLine = regexp.MustCompile(`^  (--?[A-Za-z][A-Za-z0-9-]*(?:, --?[A-Za-z][A-Za-z0-9-]*)*)(?: ([A-Z]+))?(?: |$)`)

// helpOptions runs writeHelp and parses its option lines ("  -c, --channels N   text").
func helpOptions(t *testing.T) []helpOption {
	t.Helper()
	var buf bytes.Buffer
	writeHelp(&buf)
	var opts []helpOption
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		m := helpOptionLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("--help option line not in the form \"  -x, --long ARG  text\": %q", line)
		}
		opts = append(opts, helpOption{line: line, names: manTokens(m[1]), arg: m[2]})
	}
	if len(opts) != len(optionDocs) {
		t.Fatalf("--help shows %d option lines, optionDocs has %d entries", len(opts), len(optionDocs))
	}
	return opts
}

// TestManDocumentsEveryOption checks that every option of --help has an item in the OPTIONS
// section of lcsync.1 whose tag names it, with the same argument.
func TestManDocumentsEveryOption(t *testing.T) {
	page := readManPage(t)
	tags := manTags(page.section(t, "OPTIONS"))
	for _, o := range helpOptions(t) {
		t.Run(o.names[len(o.names)-1], func(t *testing.T) {
			for _, tag := range tags {
				toks := manTokens(tag)
				if !slices.Contains(toks, o.names[0]) {
					continue
				}
				for _, n := range o.names {
					if !slices.Contains(toks, n) {
						t.Errorf("lcsync.1 OPTIONS item %q lacks %s (--help: %q)", tag, n, o.line)
					}
				}
				if o.arg != "" && !slices.Contains(strings.Fields(tag), o.arg) {
					t.Errorf("lcsync.1 OPTIONS item %q lacks the argument %s (--help: %q)", tag, o.arg, o.line)
				}
				return
			}
			t.Errorf("lcsync.1 OPTIONS has no item for %s (--help: %q)", strings.Join(o.names, ", "), o.line)
		})
	}
}

// TestManMentionsOnlyRealOptions checks the reverse: every option named in the OPTIONS tags and
// every long option named anywhere in lcsync.1 exists in optionDocs.
func TestManMentionsOnlyRealOptions(t *testing.T) {
	known := map[string]bool{}
	for _, o := range helpOptions(t) {
		for _, n := range o.names {
			known[n] = true
		}
	}
	page := readManPage(t)
	for _, tag := range manTags(page.section(t, "OPTIONS")) {
		for _, tok := range manTokens(tag) {
			if !known[tok] {
				t.Errorf("lcsync.1 OPTIONS documents %s (%q), which is not in optionDocs", tok, tag)
			}
		}
	}
	for _, name := range page.order {
		for _, line := range page.sections[name] {
			for _, tok := range manTokens(manUnescape(line)) {
				if strings.HasPrefix(tok, "--") && !known[tok] {
					t.Errorf("lcsync.1 %s mentions %s, which is not in optionDocs: %q", name, tok, line)
				}
			}
		}
	}
}

// exitCodes parses exit.go and returns every exit* constant with its value.
func exitCodes(t *testing.T) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "exit.go", nil, 0)
	if err != nil {
		t.Fatalf("parsing exit.go: %v", err)
	}
	codes := map[string]int{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "exit") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.INT {
					t.Fatalf("exit.go: %s is not an integer literal", name.Name)
				}
				v, err := strconv.Atoi(lit.Value)
				if err != nil {
					t.Fatalf("exit.go: %s = %s: %v", name.Name, lit.Value, err)
				}
				codes[name.Name] = v
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("exit.go: no exit* constants found")
	}
	return codes
}

// TestManExitStatus checks that EXIT STATUS has an item for every exit code constant and none
// for a code that does not exist, and that the --help summary lists every code.
func TestManExitStatus(t *testing.T) {
	codes := exitCodes(t)
	page := readManPage(t)
	documented := map[int]bool{}
	for _, tag := range manTags(page.section(t, "EXIT STATUS")) {
		v, err := strconv.Atoi(strings.TrimSpace(tag))
		if err != nil {
			t.Errorf("EXIT STATUS item %q is not a number", tag)
			continue
		}
		documented[v] = true
	}
	var help bytes.Buffer
	writeHelp(&help)
	_, summary, ok := strings.Cut(help.String(), "Exit status:")
	if !ok {
		t.Fatal("--help has no 'Exit status:' summary")
	}
	values := map[int]bool{}
	for name, v := range codes {
		values[v] = true
		t.Run(name, func(t *testing.T) {
			if !documented[v] {
				t.Errorf("lcsync.1 EXIT STATUS has no item for %s = %d", name, v)
			}
			if !regexp.MustCompile(`\b` + strconv.Itoa(v) + `\b`).MatchString(summary) {
				t.Errorf("--help exit status summary does not list %s = %d", name, v)
			}
		})
	}
	for v := range documented {
		if !values[v] {
			t.Errorf("lcsync.1 EXIT STATUS documents %d, which is no exit code in exit.go", v)
		}
	}
}

// TestManSections checks that the page has every section the project promises, in order.
func TestManSections(t *testing.T) {
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "ARGUMENTS", "NAMES", "MODES", "OPTIONS",
		"TREE DUMP FORMAT", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "NETWORK NOTES",
		"SECURITY", "SEE ALSO", "BUGS"}
	got := readManPage(t).order
	if !slices.Equal(got, want) {
		t.Errorf("lcsync.1 sections:\n got %q\nwant %q", got, want)
	}
}

// TestManMacros checks that every request line is a man(7) macro or a basic roff request, so a
// typo such as ".Bb" cannot silently swallow a line.
func TestManMacros(t *testing.T) {
	allowed := map[string]bool{}
	for m := range strings.FieldsSeq("TH SH SS TP IP PP LP P RS RE B I BR BI IB RB RI IR SM SB EX EE nf fi br sp nh hy ad na") {
		allowed[m] = true
	}
	b, err := os.ReadFile(manPagePath)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, ".") || strings.HasPrefix(line, `.\"`) {
			if strings.HasPrefix(line, "'") {
				t.Errorf("lcsync.1:%d starts with ' (a roff control character): %q", i+1, line)
			}
			continue
		}
		name, _, _ := strings.Cut(line[1:], " ")
		if !allowed[name] {
			t.Errorf("lcsync.1:%d: unexpected request .%s: %q", i+1, name, line)
		}
	}
}

// manDumpFields maps the placeholders of the TREE DUMP FORMAT block to what they stand for.
var manDumpFields = map[string]string{
	"PATH": `\S+`, "BYTES": `[0-9]+`, "N": `[0-9]+`, "L": `[0-9]+`, "K": `[0-9]+`, "I": `[0-9]+`,
	"COUNT": `[1-9][0-9]*`, "HASH": `[0-9a-f]{64}`,
}

// manDumpTemplate returns the format block of TREE DUMP FORMAT as one regexp per line: the
// literal words stay and each italic placeholder becomes the pattern of manDumpFields.
func manDumpTemplate(t *testing.T) []*regexp.Regexp {
	t.Helper()
	lines := readManPage(t).section(t, "TREE DUMP FORMAT")
	start := slices.Index(lines, ".EX")
	end := slices.Index(lines, ".EE")
	if start < 0 || end < start {
		t.Fatal("TREE DUMP FORMAT has no .EX/.EE format block")
	}
	placeholder := regexp.MustCompile(`\\fI([^\\]+)\\fP`)
	var out []*regexp.Regexp
	for _, line := range lines[start+1 : end] {
		if line == `\&...` {
			continue
		}
		var re strings.Builder
		re.WriteString("^")
		last := 0
		for _, m := range placeholder.FindAllStringSubmatchIndex(line, -1) {
			field, ok := manDumpFields[line[m[2]:m[3]]]
			if !ok {
				t.Fatalf("TREE DUMP FORMAT: unknown placeholder %q in %q", line[m[2]:m[3]], line)
			}
			re.WriteString(regexp.QuoteMeta(manRoffEscapes.Replace(line[last:m[0]])) + field)
			last = m[1]
		}
		re.WriteString(regexp.QuoteMeta(manRoffEscapes.Replace(line[last:])) + "$")
		out = append(out, regexp.MustCompile(re.String()))
	}
	return out
}

// TestManTreeDumpFormat runs --hex on a three-block file and checks every output line against
// the format documented in TREE DUMP FORMAT: the six header lines in order, then level and node
// lines.
func TestManTreeDumpFormat(t *testing.T) {
	tmpl := manDumpTemplate(t)
	if len(tmpl) != 8 {
		t.Fatalf("TREE DUMP FORMAT block has %d line templates, want 8 (6 header, level, node)", len(tmpl))
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 40000), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--hex", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("lcsync --hex exited %d: %s", code, stderr.String())
	}
	out := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(out) < 6 {
		t.Fatalf("--hex printed %d lines:\n%s", len(out), stdout.String())
	}
	for i, line := range out {
		switch {
		case i < 6 && !tmpl[i].MatchString(line):
			t.Errorf("--hex line %d %q does not match the documented %q", i+1, line, tmpl[i])
		case i >= 6 && !tmpl[6].MatchString(line) && !tmpl[7].MatchString(line):
			t.Errorf("--hex line %d %q matches neither %q nor %q", i+1, line, tmpl[6], tmpl[7])
		}
	}
}

// TestManHexExample checks that the --hex example in EXAMPLES is exactly what lcsync prints
// for it: a 40000-byte file of zeros named ./zeros.
func TestManHexExample(t *testing.T) {
	lines := readManPage(t).section(t, "EXAMPLES")
	start := slices.Index(lines, `$ lcsync \-\-hex ./zeros`)
	if start < 0 {
		t.Fatal("EXAMPLES has no `lcsync --hex ./zeros` example")
	}
	end := start + slices.Index(lines[start:], ".EE")
	var want strings.Builder
	for _, line := range lines[start+1 : end] {
		want.WriteString(manUnescape(line) + "\n")
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("zeros", make([]byte, 40000), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--hex", "./zeros"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("lcsync --hex exited %d: %s", code, stderr.String())
	}
	if stdout.String() != want.String() {
		t.Errorf("EXAMPLES shows:\n%s\nlcsync --hex ./zeros prints:\n%s", want.String(), stdout.String())
	}
}

// TestManRenders formats the page with groff and fails on any warning.
func TestManRenders(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff is not installed (apt-get install groff-base), so the page's rendering is not checked")
	}
	cmd := exec.CommandContext(t.Context(), groff, "-man", "-Tutf8", "-ww", "-z", manPagePath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("groff -man -ww lcsync.1: %v\n%s", err, stderr.String())
	}
}
