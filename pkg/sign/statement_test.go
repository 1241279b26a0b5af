package sign

import (
	"testing"

	"github.com/lcsync/lcsync/pkg/wire"
)

func testStatement() *wire.Statement {
	return &wire.Statement{Manifest: [32]byte{1, 2, 3}, Generation: 42, Issued: 1_800_000_000, Expires: 1_800_086_400, Share: "share"}
}

func TestSignVerify(t *testing.T) {
	path, pub := newKey(t)
	k, err := LoadSecretKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := testStatement()
	if err := k.Sign(st); err != nil {
		t.Fatal(err)
	}
	if err := Verify(pub, st); err != nil {
		t.Fatal(err)
	}
	// The datagram carries it intact.
	parsed, err := wire.ParseStatement(wire.AppendStatement(nil, st))
	if err != nil || Verify(pub, &parsed) != nil {
		t.Fatalf("statement does not survive the wire: %v", err)
	}
	_, other := newKey(t)
	tampered := []struct {
		name string
		edit func(*wire.Statement)
		key  PublicKey
	}{
		{"generation", func(s *wire.Statement) { s.Generation++ }, pub},
		{"share", func(s *wire.Statement) { s.Share = "shard" }, pub},
		{"manifest id", func(s *wire.Statement) { s.Manifest[31] ^= 1 }, pub},
		{"expiry", func(s *wire.Statement) { s.Expires += 86400 }, pub},
		{"issued", func(s *wire.Statement) { s.Issued-- }, pub},
		{"signature", func(s *wire.Statement) { s.Sig[0] ^= 0x80 }, pub},
		{"key id", func(s *wire.Statement) { s.KeyID[0] ^= 1 }, pub},
		{"another key with the same id", func(*wire.Statement) {}, PublicKey{ID: pub.ID, Key: other.Key}},
		{"another key", func(*wire.Statement) {}, other},
	}
	for _, c := range tampered {
		s := *st
		c.edit(&s)
		if err := Verify(c.key, &s); err == nil {
			t.Errorf("tampered %s: verified", c.name)
		}
	}
	// Every single bit of the datagram matters.
	d := wire.AppendStatement(nil, st)
	for i := wire.HeaderLen; i < len(d); i++ {
		b := append([]byte(nil), d...)
		b[i] ^= 1
		s, err := wire.ParseStatement(b)
		if err == nil && Verify(pub, &s) == nil {
			t.Fatalf("flipping a bit of byte %d still verifies", i)
		}
	}
}

// BenchmarkVerify measures what a receiver spends per statement: one Ed25519 verification.
func BenchmarkVerify(b *testing.B) {
	path, pub := newKey(b)
	k, err := LoadSecretKey(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := testStatement()
	if err := k.Sign(st); err != nil {
		b.Fatal(err)
	}
	d := wire.AppendStatement(nil, st)
	b.ReportAllocs()
	for b.Loop() {
		s, err := wire.ParseStatement(d)
		if err != nil || Verify(pub, &s) != nil {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkSign measures what a publisher spends per generation.
func BenchmarkSign(b *testing.B) {
	path, _ := newKey(b)
	k, err := LoadSecretKey(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := testStatement()
	for b.Loop() {
		if err := k.Sign(st); err != nil {
			b.Fatal(err)
		}
	}
}
