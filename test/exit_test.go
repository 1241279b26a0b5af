package test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// testExitCodes checks the documented exit statuses of failures a user meets: a name that is
// not served (1), no server at all (5), a server stopped with SIGTERM (0 or 130) and a server
// without CAP_NET_RAW (6, naming the fix).
func testExitCodes(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "codes")
	writeFile(t, filepath.Join(src, "present"), 1000, 21, 0o644)
	srv := startServer(t, rig.Sender, src)

	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"not-found", []string{"codes/absent", "DST"}, 1, "not found"},
		{"no-server", []string{"--idle-timeout", "2s", "nobody-serves-this/x", "DST"}, 5, "no manifest"},
		{"present", []string{"codes/present", "DST"}, 0, ""},
	}
	series := make([][][]string, len(cases))
	for i, c := range cases {
		args := append([]string(nil), c.args...)
		args[len(args)-1] = filepath.Join(t.TempDir(), "dst")
		series[i] = [][]string{args}
	}
	res := fetchSeries(rig.Receivers[:len(cases)], series)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := res[i][0]
			if r.code != c.wantCode || !strings.Contains(lastError(r.stderr), c.wantErr) {
				t.Errorf("got exit %d, want %d with an error containing %q: %s", r.code, c.wantCode, c.wantErr, r)
			}
		})
	}

	// SIGTERM is how a server is stopped: it must exit by itself (not be killed after the
	// grace period), with 0 (a normal stop) or 130 (interrupted); the two are both in use.
	t.Run("sigterm", func(t *testing.T) {
		if code := srv.stop(); code != 0 && code != 130 {
			t.Errorf("server stopped with SIGTERM: exit %d, want 0 or 130 (-1: it had to be killed):\n%s", code, srv.out)
		}
	})

	t.Run("no-cap-net-raw", func(t *testing.T) {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skipf("SKIP: setpriv (util-linux) is not installed, so CAP_NET_RAW cannot be dropped as root: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := rig.Sender.Command(ctx, setpriv, "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", lcsyncBin, src)
		out, err := cmd.CombinedOutput()
		code := exitCodeOf(err)
		if code != 6 || !strings.Contains(string(out), "CAP_NET_RAW") ||
			!strings.Contains(string(out), "setcap") || !strings.Contains(string(out), "--carousel") {
			t.Errorf("serving without CAP_NET_RAW: exit %d (%v), want 6 and a message naming CAP_NET_RAW, setcap and --carousel:\n%s",
				code, err, out)
		}
	})
}
