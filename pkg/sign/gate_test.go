package sign

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// signer is a key pair for tests.
type signer struct {
	k   *SecretKey
	pub PublicKey
}

func newSigner(t *testing.T) signer {
	path, pub := newKey(t)
	k, err := LoadSecretKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return signer{k, pub}
}

// publish returns a manifest of share at gen, signed by s, its id and its statement issued at
// issued for lifetime.
func (s signer) publish(t *testing.T, share string, gen uint64, issued time.Time, lifetime time.Duration) (*wire.Manifest, [32]byte, *wire.Statement) {
	t.Helper()
	m := &wire.Manifest{PageHeight: 4, Share: share, Generation: gen, Publisher: s.pub.Publisher(),
		Entries: []wire.Entry{{Type: wire.EntryDir, Name: share, MTime: int64(gen)}}}
	blob, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	id := wire.ManifestID(blob)
	st := &wire.Statement{Manifest: id, Generation: gen, Share: share, Issued: uint64(issued.Unix()),
		Expires: uint64(issued.Add(lifetime).Unix())}
	if err := s.k.Sign(st); err != nil {
		t.Fatal(err)
	}
	return m, id, st
}

func newTestGate(t *testing.T, dir string, keys ...PublicKey) (*Gate, *[]string) {
	t.Helper()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var notices []string
	g, err := NewGate(GateConfig{Trusted: keys, Store: store, Notice: func(s string) { notices = append(notices, s) }})
	if err != nil {
		t.Fatal(err)
	}
	return g, &notices
}

func TestGateRules(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alice, mallory := newSigner(t), newSigner(t)
	type step struct {
		m     *wire.Manifest
		id    [32]byte
		st    *wire.Statement // offered before the manifest (nil: none)
		retry bool
		want  string // "" accepts; else part of the refusal
	}
	pub := func(s signer, gen uint64, issued time.Time, life time.Duration) step {
		m, id, st := s.publish(t, "share", gen, issued, life)
		return step{m: m, id: id, st: st}
	}
	withWant := func(s step, want string) step { s.want = want; return s }
	forged := pub(alice, 20, now, time.Hour)
	forged.st.Sig[3] ^= 1
	swapped := pub(alice, 21, now, time.Hour)
	other := pub(alice, 22, now, time.Hour)
	swapped.st = other.st // a valid statement for another manifest: no statement for this one
	mixed := pub(alice, 23, now, time.Hour)
	mixed.m.Generation = 24 // the statement says 23
	unsigned := pub(alice, 25, now, time.Hour)
	unsigned.m.Publisher = nil
	noStatement := pub(alice, 26, now, time.Hour)
	noStatement.st = nil
	noStatement.retry = true
	steps := []struct {
		name string
		step
	}{
		{"signed by a trusted key", withWant(pub(alice, 10, now, time.Hour), "")},
		{"the same generation again", withWant(pub(alice, 10, now, time.Hour), "")},
		{"older generation", withWant(pub(alice, 9, now, time.Hour), "older generation 9")},
		{"equivocation", step{}},
		{"expired", withWant(pub(alice, 11, now.Add(-2*time.Hour), time.Hour), "expired")},
		{"issued in the future", withWant(pub(alice, 12, now.Add(time.Hour), 2*time.Hour), "in the future")},
		{"within the skew", withWant(pub(alice, 13, now.Add(4*time.Minute), time.Hour), "")},
		{"unknown key", withWant(pub(mallory, 14, now, time.Hour), "unknown key")},
		{"tampered statement", withWant(forged, "")},
		{"statement of another manifest", swapped},
		{"mix and match", withWant(mixed, "generation 23, the manifest is generation 24")},
		{"unsigned", withWant(unsigned, "unsigned")},
		{"no statement yet", noStatement},
		{"newer generation", withWant(pub(alice, 30, now, time.Hour), "")},
	}
	// Equivocation: generation 10 again, with different content.
	eq := pub(alice, 10, now, time.Hour)
	eq.m.Entries[0].Mode = 0o700
	blob, _ := eq.m.MarshalBinary()
	eq.id = wire.ManifestID(blob)
	eq.st.Manifest = eq.id
	if err := alice.k.Sign(eq.st); err != nil {
		t.Fatal(err)
	}
	eq.want = "equivocation"
	steps[3].step = eq
	// A tampered statement is dropped on arrival, so its manifest has none: retry.
	steps[8].retry = true
	steps[9].retry = true

	g, notices := newTestGate(t, t.TempDir(), alice.pub)
	for _, s := range steps {
		if s.st != nil {
			g.Statement(s.st, now)
		}
		retry, err := g.Accept(s.m, s.id, now)
		switch {
		case retry != s.retry:
			t.Errorf("%s: retry %v, want %v (err %v)", s.name, retry, s.retry, err)
		case s.retry:
		case s.want == "" && err != nil:
			t.Errorf("%s: refused: %v", s.name, err)
		case s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want) || !errors.Is(err, ErrUntrusted)):
			t.Errorf("%s: error %v, want one saying %q", s.name, err, s.want)
		}
	}
	if len(*notices) != 1 || !strings.Contains((*notices)[0], "equivocation") {
		t.Errorf("notices %q, want one about equivocation", *notices)
	}
	err := g.Heard("share")
	if !errors.Is(err, ErrUntrusted) || !errors.Is(err, ErrEquivocation) || !strings.Contains(err.Error(), "1 signed by an unknown key "+mallory.pub.IDString()) {
		t.Errorf("Heard: %v", err)
	}
	t.Logf("Heard: %v", err)
}

func TestGateHighWaterPersists(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alice := newSigner(t)
	dir := t.TempDir()
	m, id, st := alice.publish(t, "share", 100, now, time.Hour)
	g, _ := newTestGate(t, dir, alice.pub)
	g.Statement(st, now)
	if _, err := g.Accept(m, id, now); err != nil {
		t.Fatal(err)
	}
	// A new receiver process with the same state refuses the older generation...
	old, oldID, oldSt := alice.publish(t, "share", 99, now, time.Hour)
	g2, _ := newTestGate(t, dir, alice.pub)
	g2.Statement(oldSt, now)
	if _, err := g2.Accept(old, oldID, now); err == nil || !strings.Contains(err.Error(), "older generation 99") {
		t.Fatalf("replay after a restart: %v", err)
	}
	if err := g2.Heard("share"); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "heard 1 manifest and refused it") {
		t.Fatalf("Heard: %v", err)
	}
	// ...which a fresh receiver accepts: the replay is real, only the mark stops it.
	g3, _ := newTestGate(t, t.TempDir(), alice.pub)
	g3.Statement(oldSt, now)
	if _, err := g3.Accept(old, oldID, now); err != nil {
		t.Fatalf("fresh receiver: %v", err)
	}
	// A read-only gate (a dry run) checks the mark but does not move it.
	newer, newerID, newerSt := alice.publish(t, "share", 101, now, time.Hour)
	ro, err := NewGate(GateConfig{Trusted: []PublicKey{alice.pub}, Store: g2.cfg.Store, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ro.Statement(newerSt, now)
	if _, err := ro.Accept(newer, newerID, now); err != nil {
		t.Fatal(err)
	}
	// A refused manifest does not move the mark either.
	mark, ok, err := g2.cfg.Store.Accepted(alice.pub, "share")
	if err != nil || !ok || mark.Generation != 100 || mark.Manifest != id {
		t.Fatalf("mark %+v %v %v", mark, ok, err)
	}
}

func TestGateWithoutTrustReportsTheKey(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alice := newSigner(t)
	var notices []string
	g, err := NewGate(GateConfig{Notice: func(s string) { notices = append(notices, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if groups, later := g.ManifestGroups(mcast.ScopeSite, "share"); len(groups) != 1 || groups[0] != mcast.ManifestGroup(mcast.ScopeSite, "share") || later != nil {
		t.Fatalf("groups %v, later %v", groups, later)
	}
	m, id, st := alice.publish(t, "share", 5, now, time.Hour)
	g.Statement(st, now)
	for range 2 {
		if retry, err := g.Accept(m, id, now); retry || err != nil {
			t.Fatalf("Accept: %v %v", retry, err)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "--trust "+alice.pub.String()) {
		t.Fatalf("notices %q", notices)
	}
	if err := g.Heard("share"); err != nil {
		t.Fatal(err)
	}
	// Unsigned manifests are accepted silently.
	m.Publisher = nil
	if _, err := g.Accept(m, id, now); err != nil || len(notices) != 1 {
		t.Fatalf("unsigned: %v, %q", err, notices)
	}
}

func TestGateGroups(t *testing.T) {
	alice, bob := newSigner(t), newSigner(t)
	g, _ := newTestGate(t, t.TempDir(), alice.pub, bob.pub)
	now, later := g.ManifestGroups(mcast.ScopeSite, "share")
	want := []any{mcast.SignedManifestGroup(mcast.ScopeSite, &alice.pub.Key, "share"),
		mcast.SignedManifestGroup(mcast.ScopeSite, &bob.pub.Key, "share"), mcast.ManifestGroup(mcast.ScopeSite, "share")}
	if len(now) != 2 || now[0] != want[0] || now[1] != want[1] || len(later) != 1 || later[0] != want[2] {
		t.Fatalf("groups %v then %v, want %v", now, later, want)
	}
	if _, err := NewGate(GateConfig{Trusted: []PublicKey{alice.pub}}); err == nil {
		t.Fatal("a gate with trusted keys and no store")
	}
	clash := PublicKey{ID: alice.pub.ID, Key: bob.pub.Key}
	if _, err := NewGate(GateConfig{Trusted: []PublicKey{alice.pub, clash}, Store: g.cfg.Store}); !errors.Is(err, ErrKey) {
		t.Fatalf("two keys with one id: %v", err)
	}
}

func TestStoreCrashSafety(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, pub := newKey(t)
	if _, ok, err := s.Accepted(pub, "share"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	m := Mark{Generation: 7, Manifest: [32]byte{9}}
	if err := s.SetAccepted(pub, "share", m); err != nil {
		t.Fatal(err)
	}
	// A crash while writing the next record leaves its temporary file; the record is intact.
	p := s.path(kindAccepted, pub, "share")
	os.WriteFile(filepath.Join(dir, ".tmp-"+filepath.Base(p)+"-123"), []byte("lcsync-state 1\nkind acc"), 0o600)
	if got, ok, err := s.Accepted(pub, "share"); !ok || err != nil || got != m {
		t.Fatalf("after a torn temporary file: %+v %v %v", got, ok, err)
	}
	// Records of other shares, keys and kinds are separate.
	if _, ok, _ := s.Accepted(pub, "other"); ok {
		t.Fatal("another share sees the record")
	}
	if _, ok, _ := s.Published(pub, "share"); ok {
		t.Fatal("the publisher's record is the receiver's")
	}
	// A damaged record is an error, never a silent reset to no mark.
	good, _ := os.ReadFile(p)
	for _, bad := range []string{"", "lcsync-state 1\n", strings.Replace(string(good), "generation 7", "generation 07", 1),
		strings.Replace(string(good), "generation 7", "generation x", 1), string(good[:len(good)-5]),
		strings.Replace(string(good), `"share"`, `"other"`, 1)} {
		os.WriteFile(p, []byte(bad), 0o600)
		if _, _, err := s.Accepted(pub, "share"); err == nil {
			t.Errorf("damaged record %q accepted", bad)
		}
	}
}

func TestPublisherGenerations(t *testing.T) {
	path, _ := newKey(t)
	k, _ := LoadSecretKey(path, nil)
	dir := t.TempDir()
	store, _ := OpenStore(dir)
	clock := time.Unix(1_800_000_000, 0)
	p, err := NewPublisher(k, store, time.Hour, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	g1, err := p.Generation("share", 0)
	if err != nil || g1 != uint64(clock.UnixNano()) {
		t.Fatalf("first generation %d, %v", g1, err)
	}
	// The clock steps back an hour and the server restarts: the generation still grows.
	clock = clock.Add(-time.Hour)
	p2, _ := NewPublisher(k, store, time.Hour, func() time.Time { return clock })
	g2, err := p2.Generation("share", 0)
	if err != nil || g2 != g1+1 {
		t.Fatalf("after a clock step back: %d, %v; want %d", g2, err, g1+1)
	}
	d, due, err := p2.Sign("share", g2, [32]byte{1})
	if err != nil || !due.Equal(clock.Add(30*time.Minute)) {
		t.Fatalf("Sign: due %v, %v", due, err)
	}
	st, err := wire.ParseStatement(d)
	if err != nil || Verify(k.Public(), &st) != nil || st.Generation != g2 || st.Expires-st.Issued != 3600 {
		t.Fatalf("statement %+v: %v", st, err)
	}
	if _, err := NewPublisher(k, store, time.Second, nil); err == nil {
		t.Fatal("a one-second lifetime accepted")
	}
}

// TestGateIssued: the gate tells when the first verified statement of a manifest was issued,
// and nothing for a manifest without one; a later statement (a re-signing) does not move it.
func TestGateIssued(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	alice := newSigner(t)
	m, id, st := alice.publish(t, "share", 7, now.Add(-90*time.Second), time.Hour)
	g, _ := newTestGate(t, t.TempDir(), alice.pub)
	if _, ok := g.Issued(id); ok {
		t.Error("Issued known before any statement")
	}
	g.Statement(st, now)
	if _, err := g.Accept(m, id, now); err != nil {
		t.Fatal(err)
	}
	_, _, again := alice.publish(t, "share", 7, now, time.Hour)
	g.Statement(again, now)
	if at, ok := g.Issued(id); !ok || !at.Equal(now.Add(-90*time.Second)) {
		t.Errorf("Issued = %v, %v; want %v", at, ok, now.Add(-90*time.Second))
	}
}
