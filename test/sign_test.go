package test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/sign"
	"github.com/lcsync/lcsync/pkg/wire"
)

// signedShare is a share directory "share" holding one file whose bytes depend on seed.
func signedShare(t *testing.T, seed uint64, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "share")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "file"), size, seed, 0o644)
	return dir
}

// keygen makes a key pair with `lcsync --keygen` and returns the secret key's path and the
// public key string it printed.
func keygen(t *testing.T, name string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	out, err := netnstest.New(t, "lcsync-kg").Command(context.Background(), lcsyncBin, "--keygen", path).Output()
	if err != nil {
		t.Fatalf("lcsync --keygen: %v", err)
	}
	return path, strings.TrimSpace(string(out))
}

// sameBytes reports whether two files hold the same bytes.
func sameBytes(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Logf("%s: %v", b, err)
		return false
	}
	return bytes.Equal(x, y)
}

// TestSignedShares runs the signed-share scenarios on one rig without snooping, so that a
// forger in a receiver namespace hears the MLD reports of the others and answers them as a
// real server would: receivers r1 and r2 fetch, r3 and r4 host forgers.
func TestSignedShares(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 4, NoSnooping: true})
	alice, alicePub := keygen(t, "alice.key")
	mallory, _ := keygen(t, "mallory.key")
	t.Run("ForgersBeside", func(t *testing.T) { testForgersBeside(t, rig, alice, alicePub, mallory) })
	t.Run("OnlyForgers", func(t *testing.T) { testOnlyForgers(t, rig, alicePub, mallory) })
	t.Run("Replay", func(t *testing.T) { testReplay(t, rig, alice, alicePub) })
}

// startForgers serves a share of the same name from r3 (unsigned) and r4 (signed with
// mallory's key) and returns its directory.
func startForgers(t *testing.T, rig *netnstest.Rig, mallory string) string {
	forged := signedShare(t, 666, 300_000)
	startServer(t, rig.Receivers[2], "--bwlimit", "200M", forged)
	startServer(t, rig.Receivers[3], "--bwlimit", "200M", "--sign", mallory, "--state", t.TempDir(), forged)
	return forged
}

func testForgersBeside(t *testing.T, rig *netnstest.Rig, alice, alicePub, mallory string) {
	genuine := signedShare(t, 1, 300_000)
	forged := startForgers(t, rig, mallory)
	startServer(t, rig.Sender, "--bwlimit", "200M", "--sign", alice, "--state", t.TempDir(), genuine)
	state := []string{t.TempDir(), t.TempDir()}
	for i := range 6 {
		r := i % 2
		dst := filepath.Join(t.TempDir(), "dst")
		res := fetch(rig.Receivers[r], "--trust", alicePub, "--state", state[r], "share/", dst)
		mustSucceed(t, res)
		if !sameBytes(t, filepath.Join(genuine, "file"), filepath.Join(dst, "file")) {
			t.Fatalf("fetch %d wrote other bytes than the genuine server's (forged: %v)", i,
				sameBytes(t, filepath.Join(forged, "file"), filepath.Join(dst, "file")))
		}
	}
}

func testOnlyForgers(t *testing.T, rig *netnstest.Rig, alicePub, mallory string) {
	startForgers(t, rig, mallory)
	parent := t.TempDir()
	dst := filepath.Join(parent, "dst")
	res := fetch(rig.Receivers[0], "--trust", alicePub, "--state", t.TempDir(), "--idle-timeout", "3s", "share/", dst)
	t.Logf("exit %d: %s", res.code, lastError(res.stderr))
	if res.code != 7 {
		t.Fatalf("only forgers heard: exit %d, want 7\n%s", res.code, res)
	}
	last := lastError(res.stderr)
	for _, want := range []string{"unsigned", "signed by an unknown key"} {
		if !strings.Contains(last, want) {
			t.Errorf("the error %q does not say %q", last, want)
		}
	}
	if entries := listDir(t, parent); len(entries) != 0 {
		t.Errorf("the refused fetch wrote %q", entries)
	}
}

// oldGeneration builds what a captured older generation of dir signed with key looks like on
// the wire: its statement and manifest chunks, issued ten minutes ago (so still valid).
func oldGeneration(t *testing.T, dir, keyPath string) (netip.Addr, [][]byte) {
	t.Helper()
	k, err := sign.LoadSecretKey(keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sign.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	then := time.Now().Add(-10 * time.Minute)
	p, err := sign.NewPublisher(k, store, time.Hour, func() time.Time { return then })
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 16384})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := p.Generation("share", 0)
	if err != nil {
		t.Fatal(err)
	}
	m := ix.Manifest(false, 4, gen)
	m.Publisher = p.Key()
	blob, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := p.Sign("share", gen, wire.ManifestID(blob))
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := wire.ManifestChunks(blob, wire.DefaultMaxDatagram)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public()
	return mcast.SignedManifestGroup(mcast.ScopeSite, &pub.Key, "share"), append([][]byte{st}, chunks...)
}

// testReplay: a receiver that fetched a newer generation refuses a replayed older one, which
// a fresh receiver accepts (so the replay is real: signed, unexpired, and its data served).
func testReplay(t *testing.T, rig *netnstest.Rig, alice, alicePub string) {
	oldDir := signedShare(t, 10, 200_000)
	group, replay := oldGeneration(t, oldDir, alice) // generation: ten minutes ago

	newDir := signedShare(t, 11, 200_000)
	state := t.TempDir()
	srv := startServer(t, rig.Sender, "--bwlimit", "200M", "--sign", alice, "--state", t.TempDir(), newDir)
	dst := filepath.Join(t.TempDir(), "dst")
	mustSucceed(t, fetch(rig.Receivers[0], "--trust", alicePub, "--state", state, "share/", dst))
	if !sameBytes(t, filepath.Join(newDir, "file"), filepath.Join(dst, "file")) {
		t.Fatal("the newer generation was not fetched")
	}
	// Without --trust the fetch works as without signing, and names the key once so that it
	// can be pinned.
	open := filepath.Join(t.TempDir(), "dst")
	res := fetch(rig.Receivers[1], "share/", open)
	mustSucceed(t, res)
	if strings.Count(res.stderr, "--trust "+alicePub) != 1 || !sameBytes(t, filepath.Join(newDir, "file"), filepath.Join(open, "file")) {
		t.Errorf("a fetch without --trust does not name the key once:\n%s", res.stderr)
	}
	srv.stop()

	// The replayer repeats the captured statement and manifest; an unsigned server with the
	// old content answers its content-addressed tree and data channels.
	startServer(t, rig.Sender, "--bwlimit", "200M", oldDir)
	in := newInjector(t, rig.Sender)
	ctx, cancel := context.WithCancel(context.Background())
	done := in.repeat(ctx, 2*time.Millisecond, 1<<30, func(i int) (netip.Addr, []byte) { return group, replay[i%len(replay)] })
	defer func() {
		cancel()
		if r := <-done; r.err != nil {
			t.Errorf("replayer: %v", r.err)
		}
	}()

	parent := t.TempDir()
	res = fetch(rig.Receivers[0], "--trust", alicePub, "--state", state, "--idle-timeout", "3s", "share/", filepath.Join(parent, "dst"))
	t.Logf("receiver that saw the newer generation: exit %d: %s", res.code, lastError(res.stderr))
	if res.code != 7 || !strings.Contains(lastError(res.stderr), "older generation") {
		t.Fatalf("the replay was not refused as older: %s", res)
	}
	if entries := listDir(t, parent); len(entries) != 0 {
		t.Errorf("the refused fetch wrote %q", entries)
	}

	fresh := filepath.Join(t.TempDir(), "dst")
	res = fetch(rig.Receivers[1], "--trust", alicePub, "--state", t.TempDir(), "share/", fresh)
	mustSucceed(t, res)
	if !sameBytes(t, filepath.Join(oldDir, "file"), filepath.Join(fresh, "file")) {
		t.Fatal("a fresh receiver did not take the replayed generation: the replay test proves nothing")
	}
}
