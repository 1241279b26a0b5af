package test

import (
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestSameHost: a receiver on the server's own host works. Its MLD reports reach the server's
// listener through the host itself, and the server's datagrams loop back to it (multicast
// loopback is on); the server is not fooled by its own sockets.
func TestSameHost(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 1})
	src := filepath.Join(t.TempDir(), "local")
	writeFile(t, filepath.Join(src, "f.bin"), 3<<20+17, 41, 0o644)
	writeFile(t, filepath.Join(src, "d", "g.bin"), 70000, 42, 0o600)
	startServer(t, rig.Sender, src)
	dst := filepath.Join(t.TempDir(), "dst")
	st := mustSucceed(t, fetch(rig.Sender, "local/", dst))
	compareTrees(t, src, dst, compareOpts{})
	t.Logf("same-host fetch: %v", st)
}
