package main

import (
	"strings"
	"testing"
)

// TestFollowUsageErrors: --follow's arguments and options are checked before anything runs.
func TestFollowUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"one argument", []string{"--follow", "share/"}, "--follow takes a remote directory and a local one"},
		{"no slash", []string{"--follow", "share", "./m"}, "with the slash"},
		{"local source", []string{"--follow", "./a/", "./m"}, "with the slash"},
		{"remote destination", []string{"--follow", "share/", "m"}, "must be a local path"},
		{"dry run", []string{"--follow", "-n", "share/", "./m"}, "--follow applies changes"},
		{"max-delete without follow", []string{"--max-delete", "10", "share/", "./m"}, "need --follow"},
		{"exec without follow", []string{"--exec", "true", "share/", "./m"}, "need --follow"},
		{"force-delete without follow", []string{"--force-delete", "share/", "./m"}, "need --follow"},
		{"max-delete zero", []string{"--follow", "--max-delete", "0", "share/", "./m"}, "--max-delete 0"},
		{"max-delete too big", []string{"--follow", "--max-delete", "101", "share/", "./m"}, "--max-delete 101"},
		{"watch and follow", []string{"--follow", "--watch", "share/", "./m"}, "--watch applies only when serving"},
		{"bad name", []string{"--follow", "share/../x/", "./m"}, "share/../x/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("lcsync %v: status %d, stderr %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
			}
		})
	}
}
