package test

import (
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestServeAsUser: `lcsync --user nobody SRC` opens its sockets as root, then runs as nobody
// with no capability left, and receivers still fetch. A share only root may read is then out
// of the server's reach.
func TestServeAsUser(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	if os.Geteuid() != 0 {
		t.Skip("SKIP: --user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("SKIP: no user nobody:", err)
	}
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // t.TempDir makes both 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(base, "share")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "public"), 300_000, 1, 0o644)
	writeFile(t, filepath.Join(src, "rootonly"), 1000, 2, 0o600)

	s := startServer(t, rig.Sender, "--user", "nobody", src)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:[ \t]*(.*)$`).FindStringSubmatch(string(status))
		if m == nil {
			t.Fatalf("no %s in /proc/PID/status:\n%s", name, status)
		}
		return strings.Join(strings.Fields(m[1]), " ")
	}
	u := nobody.Uid
	if got := field("Uid"); got != strings.Repeat(u+" ", 3)+u {
		t.Errorf("Uid: %s, want %s four times", got, u)
	}
	if got := field("Gid"); got != strings.Repeat(nobody.Gid+" ", 3)+nobody.Gid {
		t.Errorf("Gid: %s, want %s four times", got, nobody.Gid)
	}
	if got := field("Groups"); got != "" {
		t.Errorf("supplementary groups kept: %q", got)
	}
	for _, c := range []string{"CapEff", "CapPrm", "CapAmb"} {
		if got := field(c); strings.Trim(got, "0") != "" {
			t.Errorf("%s = %s, want none", c, got)
		}
	}
	if !strings.Contains(s.out.String(), "rootonly") {
		t.Errorf("the server did not say it cannot read rootonly:\n%s", s.out)
	}

	dst := filepath.Join(t.TempDir(), "dst")
	r := fetch(rig.Receivers[0], "share/public", dst)
	mustSucceed(t, r)
	compareTrees(t, filepath.Join(src, "public"), dst, compareOpts{})
}
