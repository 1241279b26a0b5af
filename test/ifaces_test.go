package test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestInterfacesComeAndGo runs a server with the default interfaces (no --iface) in a
// namespace with one link, to receiver A. A second link, to receiver B, is added after the
// server started, with DAD on at the server's end (its link-local address is tentative for
// about a second after the link is up): the server picks it up and B fetches over it. Then,
// while A and B fetch at once, A's link is deleted: the server logs it once, logs no storm of
// send errors, keeps running, and B's fetch completes.
func TestInterfacesComeAndGo(t *testing.T) {
	netnstest.Require(t, "ip", "sysctl")
	s := netnstest.New(t, "lcis")
	a := netnstest.New(t, "lcia")
	b := netnstest.New(t, "lcib")
	linkPair(t, s, "eth0", a, false)
	src := filepath.Join(t.TempDir(), "share")
	writeFile(t, filepath.Join(src, "big"), 16<<20, 61, 0o644)
	writeFile(t, filepath.Join(src, "d", "small"), 70000, 62, 0o644)
	srv := startServer(t, s, "--bwlimit", "80M", src)

	linkPair(t, s, "eth1", b, true)
	if !waitOutput(srv, "iface=eth1", 15*time.Second) {
		t.Fatalf("the server did not pick up eth1 within 15 s:\n%s", srv.out)
	}
	if out := s.MustRun("ip", "-6", "addr", "show", "dev", "eth1"); strings.Contains(out, "tentative") {
		t.Errorf("eth1 picked up while its address is tentative:\n%s", out)
	}
	dst := filepath.Join(t.TempDir(), "b1")
	mustSucceed(t, fetch(b, "share/", dst))
	compareTrees(t, src, dst, compareOpts{})

	b2 := filepath.Join(t.TempDir(), "b2")
	fa := startFetch(a, "share/big", filepath.Join(t.TempDir(), "a"))
	fb := startFetch(b, "share/big", b2)
	time.Sleep(time.Second)
	if !fa.running() || !fb.running() {
		t.Fatalf("a fetch ended before the link went away:\n%s\n%s", fa.wait(), fb.wait())
	}
	s.MustRun("ip", "link", "del", "eth0")
	rb := fb.wait()
	mustSucceed(t, rb)
	compareTrees(t, filepath.Join(src, "big"), b2, compareOpts{})
	_ = fa.signal(syscall.SIGINT) // A lost its link; it would wait for its idle timeout
	fa.wait()
	if !waitOutput(srv, "interface gone", 5*time.Second) {
		t.Fatalf("no 'interface gone' line:\n%s", srv.out)
	}
	out := srv.out.String()
	if n := strings.Count(out, "interface gone"); n != 1 {
		t.Errorf("%d 'interface gone' lines, want 1", n)
	}
	if n := strings.Count(out, "send failed"); n > 1 {
		t.Errorf("%d 'send failed' lines for one lost link, want at most 1", n)
	}
	if n := strings.Count(out, "level=WARN") + strings.Count(out, "level=ERROR"); n > 2 {
		t.Errorf("%d warnings and errors logged:\n%s", n, out)
	}
	select {
	case <-srv.done:
		t.Fatalf("the server exited (%d) after losing a link:\n%s", srv.code, out)
	default:
	}
	dst = filepath.Join(t.TempDir(), "b3")
	mustSucceed(t, fetch(b, "share/d/small", dst))
	t.Logf("server log:\n%s", out)
}

// TestFollowerInterfacesComeAndGo runs a server and a follower with the default interfaces,
// joined by one link. A second link is added between them, then the first is deleted: the
// follower joins its channels on the new link and keeps the mirror live over it.
func TestFollowerInterfacesComeAndGo(t *testing.T) {
	netnstest.Require(t, "ip", "sysctl")
	s := netnstest.New(t, "lcfs")
	c := netnstest.New(t, "lcfc")
	linkPair(t, s, "eth0", c, false)
	src := filepath.Join(t.TempDir(), "live")
	writeFile(t, filepath.Join(src, "a"), 300000, 81, 0o644)
	srv := startServer(t, s, "--watch", src)
	dst := filepath.Join(t.TempDir(), "mirror")
	fl := startFollower(t, c, "--follow", "live/", dst)
	waitMirror(t, src, dst, "the first pass")

	linkPairNamed(t, s, "eth1", c, "eth1", false)
	for _, p := range []*server{srv, fl} {
		if !waitOutput(p, "iface=eth1", 15*time.Second) {
			t.Fatalf("eth1 not picked up within 15 s:\n%s", p.out)
		}
	}
	s.MustRun("ip", "link", "del", "eth0")
	if !waitOutput(fl, "interface gone", 10*time.Second) || !waitOutput(srv, "interface gone", 10*time.Second) {
		t.Fatalf("the lost link was not noticed:\nfollower:\n%s\nserver:\n%s", fl.out, srv.out)
	}
	writeFile(t, filepath.Join(src, "b"), 200000, 82, 0o644)
	d := waitMirror(t, src, dst, "a change after the first link went away")
	t.Logf("the change reached the mirror over the new link in %v", d.Round(time.Millisecond))
	if strings.Contains(fl.out.String(), "level=ERROR") {
		t.Errorf("the follower logged errors:\n%s", fl.out)
	}
}

// linkPair creates a veth pair from namespace x (end named dev) to namespace y (end named
// eth0), brings both ends up and waits until they have link-local addresses. With dad, x's
// end does Duplicate Address Detection (netnstest turns it off by default).
func linkPair(t *testing.T, x *netnstest.NS, dev string, y *netnstest.NS, dad bool) {
	t.Helper()
	linkPairNamed(t, x, dev, y, "eth0", dad)
}

// linkPairNamed is linkPair with y's end named ydev.
func linkPairNamed(t *testing.T, x *netnstest.NS, dev string, y *netnstest.NS, ydev string, dad bool) {
	t.Helper()
	x.MustRun("ip", "link", "add", dev, "type", "veth", "peer", "name", ydev, "netns", y.Name)
	if dad {
		x.MustRun("sysctl", "-qw", "net.ipv6.conf."+dev+".accept_dad=1", "net.ipv6.conf."+dev+".dad_transmits=2")
	}
	y.MustRun("ip", "link", "set", ydev, "up")
	x.MustRun("ip", "link", "set", dev, "up")
	for _, end := range []struct {
		ns  *netnstest.NS
		dev string
	}{{x, dev}, {y, ydev}} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			out, err := end.ns.Run("ip", "-6", "addr", "show", "dev", end.dev, "scope", "link")
			if err == nil && strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s in %s has no usable link-local address after 15 s: %s", end.dev, end.ns.Name, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
