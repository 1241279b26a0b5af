package sender

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/sign"
	"github.com/lcsync/lcsync/pkg/wire"
)

// signedSender serves a small share signed with a new key, its state in stateDir.
func signedSender(t *testing.T, keyPath, stateDir string) (*Sender, sign.PublicKey) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "share")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "f"), []byte("signed content"), 0o644)
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.LoadSecretKey(keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sign.OpenStore(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.NewPublisher(key, store, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Index: ix, Transport: nullNet{}, Trigger: nullNet{}, Signer: pub})
	if err != nil {
		t.Fatal(err)
	}
	return s, key.Public()
}

// manifestCycle returns the statement and the manifest the cycle of group g carries, and how
// many statements it holds.
func manifestCycle(t *testing.T, s *Sender, g netip.Addr) (wire.Statement, *wire.TreeManifest, [32]byte, int) {
	t.Helper()
	c := s.cycle(g)
	var st wire.Statement
	var blob []byte
	n := 0
	for i, d := range c.chunks {
		typ, err := wire.PeekType(d)
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case wire.TypeStatement:
			if i != 0 {
				t.Errorf("statement at position %d of the cycle, want 0", i)
			}
			if st, err = wire.ParseStatement(d); err != nil {
				t.Fatal(err)
			}
			n++
		case wire.TypeManifest:
			ch, err := wire.ParseManifestChunk(d)
			if err != nil {
				t.Fatal(err)
			}
			if blob == nil {
				blob = make([]byte, ch.Total)
			}
			copy(blob[ch.Offset:], ch.Data)
		}
	}
	m, err := wire.UnmarshalTreeManifest(blob)
	if err != nil {
		t.Fatal(err)
	}
	return st, m, wire.ManifestID(blob), n
}

func TestSignedSender(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "k")
	if _, err := sign.GenerateKey(keyPath); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	s, pub := signedSender(t, keyPath, state)
	sc := s.cfg.Scope
	if s.tab.manifest != mcast.SignedManifestGroup(sc, &pub.Key, "share") || s.tab.byName != mcast.ManifestGroup(sc, "share") ||
		s.tab.stream != mcast.SignedStreamGroup(sc, &pub.Key, "share") || s.tab.congestion != mcast.SignedCongestionGroup(sc, &pub.Key, "share") {
		t.Fatalf("channels not keyed by the publisher: %+v", s.tab)
	}
	if _, ok := s.tab.groups[mcast.StreamGroup(sc, "share")]; ok {
		t.Fatal("the unkeyed stream channel is answered")
	}
	for _, g := range []netip.Addr{s.tab.manifest, s.tab.byName} {
		st, m, id, n := manifestCycle(t, s, g)
		if n != 1 {
			t.Fatalf("%d statements in a manifest cycle, want 1", n)
		}
		if err := sign.Verify(pub, &st); err != nil {
			t.Fatal(err)
		}
		if st.Manifest != id || st.Generation != m.Generation || st.Share != m.Share() || m.Publisher == nil || sign.PublicKeyOf(m.Publisher) != pub {
			t.Fatalf("statement %+v does not match the manifest (gen %d, publisher %v)", st, m.Generation, m.Publisher)
		}
	}
	// Half the lifetime later the share gets a new generation, changed or not.
	before, _, _, _ := manifestCycle(t, s, s.tab.manifest)
	s.resignIfDue()
	if again, _, _, _ := manifestCycle(t, s, s.tab.manifest); again.Generation != before.Generation {
		t.Fatal("re-signed before it was due")
	}
	s.signing.resignAt = time.Now().Add(-time.Second)
	s.resignIfDue()
	after, m, id, _ := manifestCycle(t, s, s.tab.manifest)
	if after.Generation <= before.Generation || m.Generation != after.Generation || after.Manifest != id {
		t.Fatalf("re-signed generation %d after %d (manifest %d)", after.Generation, before.Generation, m.Generation)
	}
	if w := s.untilResign(-1); w <= 0 || w > 31*time.Minute {
		t.Fatalf("idle wait %v, want about half the lifetime", w)
	}
	// A restart continues above the last generation, whatever the clock says.
	s2, _ := signedSender(t, keyPath, state)
	if s2.gen <= after.Generation {
		t.Fatalf("generation %d after a restart, last was %d", s2.gen, after.Generation)
	}
}
