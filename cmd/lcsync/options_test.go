package main

import "testing"

func TestParseFEC(t *testing.T) {
	for in, want := range map[string]int{"auto": 0, "off": -1, "0": -1, "1": 1, "8": 8} {
		if got, err := parseFEC(in); err != nil || got != want {
			t.Errorf("parseFEC(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"9", "-1", "x", ""} {
		if _, err := parseFEC(in); err == nil {
			t.Errorf("parseFEC(%q) accepted", in)
		}
	}
}

// TestWatchAndRuleOptions: --watch takes an optional mode, and the rule options keep their
// command-line order.
func TestWatchAndRuleOptions(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch", "./a"}, "inotify"},
		{[]string{"--watch=poll", "./a"}, "poll:10s"},
		{[]string{"--watch=poll:2s", "./a"}, "poll:2s"},
		{[]string{"./a", "--watch=inotify"}, "inotify"},
		{[]string{"./a"}, ""},
	} {
		o, err := parseOptions(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := o.watch.String(); got != c.want || len(o.args) != 1 {
			t.Errorf("%q: --watch %q, args %q; want %q and one argument", c.args, got, o.args, c.want)
		}
	}
	o, err := parseOptions([]string{"--include", "*.c", "./a", "--exclude-from", "f", "--exclude", "*"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ruleArg{{"include", "*.c"}, {"exclude-from", "f"}, {"exclude", "*"}}
	if len(o.rules) != len(want) {
		t.Fatalf("rules %v, want %v", o.rules, want)
	}
	for i := range want {
		if o.rules[i] != want[i] {
			t.Errorf("rule %d = %v, want %v", i, o.rules[i], want[i])
		}
	}
}
