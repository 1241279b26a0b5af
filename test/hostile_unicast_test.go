package test

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/wire"
)

// unicaster sends datagrams from inside a namespace to one host's lcsync port by unicast, as
// any host that can route to a receiver can (review H1).
type unicaster struct {
	conn *net.UDPConn
	dst  *net.UDPAddr
}

// newUnicaster opens a plain UDP socket in ns aimed at addr, port mcast.DefaultPort; it is
// closed when the test ends.
func newUnicaster(t testing.TB, ns *netnstest.NS, addr string) *unicaster {
	t.Helper()
	u := &unicaster{dst: &net.UDPAddr{IP: net.ParseIP(addr), Port: mcast.DefaultPort}}
	if err := ns.Do(func() (err error) {
		u.conn, err = net.ListenUDP("udp6", &net.UDPAddr{})
		return err
	}); err != nil {
		t.Fatalf("unicaster in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { u.conn.Close() })
	return u
}

// flood sends what next returns every interval until ctx ends or limit datagrams went out, in
// a goroutine; the channel delivers the count. Send errors (an ICMP port unreachable reported
// on a later send, before the receiver listens) are expected and ignored.
func (u *unicaster) flood(ctx context.Context, interval time.Duration, limit int, next func(i int) []byte) <-chan int {
	done := make(chan int, 1)
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		n := 0
		for ; n < limit; n++ {
			_, _ = u.conn.WriteToUDP(next(n), u.dst)
			select {
			case <-ctx.Done():
				done <- n + 1
				return
			case <-tick.C:
			}
		}
		done <- n
	}()
	return done
}

// TestHostileUnicast is review H1: a receiver's socket is bound to [::]:4242, so a host that
// can reach its address could unicast it a manifest or blocks. They must be dropped as
// foreign, never reach the protocol.
func TestHostileUnicast(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 3})

	// No server at all: a valid manifest for "uni", unicast, must not be taken. It asks for a
	// directory and a symlink only, so a receiver that took it would finish with exit 0.
	t.Run("manifest", func(t *testing.T) {
		planted := "planted-" + netnstest.UniqueName("")
		blob := rawManifest("uni", 1, []rawEntry{rawDir("uni"), rawLink("uni/"+planted, "target")})
		chunks, err := wire.ManifestChunks(blob, wire.DefaultMaxDatagram)
		if err != nil {
			t.Fatal(err)
		}
		u := newUnicaster(t, rig.Receivers[2], netnstest.ReceiverAddr(1))
		ctx, cancel := context.WithCancel(context.Background())
		sent := u.flood(ctx, 5*time.Millisecond, 1<<20, func(i int) []byte { return chunks[i%len(chunks)] })
		dst := filepath.Join(t.TempDir(), "dst")
		r := fetch(rig.Receivers[0], "--idle-timeout", "1500ms", "--timeout", "4s", "uni/", dst)
		cancel()
		t.Logf("attacker unicast %d manifest chunks; fetch: exit %d, %s", <-sent, r.code, lastError(r.stderr))
		if r.code == 0 {
			t.Fatalf("BUG: a unicast manifest was accepted (review H1): %s", r)
		}
		if r.code != exitNetworkStatus {
			t.Errorf("exit %d, want %d (nothing arrived on the groups): %s", r.code, exitNetworkStatus, r)
		}
		if _, err := os.Lstat(filepath.Join(dst, planted)); err == nil {
			t.Errorf("the unicast manifest's symlink was created")
		}
		if r.statsErr == nil && r.stats.Foreign == 0 {
			t.Errorf("stats %v: the unicast chunks should be counted as foreign", r.stats)
		}
	})

	// A genuine fetch while another host unicasts forged blocks, tree packets and manifest
	// chunks for the same file at the receiver: the copy is exact, the forgeries are foreign
	// (none even reaches verification) and memory stays small.
	t.Run("flood-during-fetch", func(t *testing.T) {
		const bs = 16384
		src := filepath.Join(t.TempDir(), "uniflood")
		writeFile(t, filepath.Join(src, "big.bin"), 8<<20+3, 51, 0o644)
		startServer(t, rig.Sender, "--bwlimit", "100M", src)
		nodes := hostileTargets(t, filepath.Join(src, "big.bin"), bs, 3)
		manifest := mcast.ManifestGroup(mcast.ScopeSite, "uniflood")
		stream := mcast.StreamGroup(mcast.ScopeSite, "uniflood")
		rng := rand.New(rand.NewPCG(5, 6))
		u := newUnicaster(t, rig.Receivers[2], netnstest.ReceiverAddr(1))
		ctx, cancel := context.WithCancel(context.Background())
		sent := u.flood(ctx, 100*time.Microsecond, 1<<20, func(i int) []byte {
			// Only the well-formed forgeries: blocks, tree packets and manifest chunks.
			_, b := hostileDatagram(rng, []int{5, 6, 7, 8, 9}[i%5], manifest, stream, nodes, bs)
			return b
		})
		dst := filepath.Join(t.TempDir(), "big.bin")
		r := fetch(rig.Receivers[0], "uniflood/big.bin", dst)
		cancel()
		n := <-sent
		st := mustSucceed(t, r)
		compareTrees(t, filepath.Join(src, "big.bin"), dst, compareOpts{})
		t.Logf("attacker unicast %d datagrams; receiver peak RSS %d MiB", n, r.maxRSS>>20)
		if st.Corrupt != 0 || st.Malformed != 0 {
			t.Errorf("BUG: stats %v: unicast forgeries reached the protocol (corrupt or malformed > 0, review H1)", st)
		}
		if st.Foreign == 0 {
			t.Errorf("stats %v: the unicast datagrams should be counted as foreign", st)
		}
		if r.maxRSS > hostileRSSBound {
			t.Errorf("receiver peak RSS %d MiB, want at most %d MiB", r.maxRSS>>20, hostileRSSBound>>20)
		}
	})
}

// exitNetworkStatus is lcsync's exit status for a network failure or timeout (lcsync.1).
const exitNetworkStatus = 5

// hostileRSSBound bounds a receiver's peak resident set in the hostile tests whose files are
// small: what a receiver needs (socket batch buffers, a few blocks in flight, the runtime) is
// far below it, so a receiver that lets hostile input allocate shows.
const hostileRSSBound = 128 << 20
