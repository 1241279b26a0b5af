package mcast

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// TestGroupVectors compares Group and its helpers with testdata/groups.txt, written by the
// independent script testdata/groups.py (hashlib.blake2s).
func TestGroupVectors(t *testing.T) {
	f, err := os.Open("testdata/groups.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds := map[string]Kind{"manifest": KindManifest, "tree": KindTree, "data": KindData, "stream": KindStream,
		"congestion": KindCongestion, "parity": KindParity, "object": KindObject}
	seen := make(map[string]bool)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 4 {
			t.Fatalf("groups.txt: bad line %q", line)
		}
		scope, err := ParseScope(fields[0])
		if err != nil {
			t.Fatal(err)
		}
		kind, ok := kinds[fields[1]]
		if !ok {
			t.Fatalf("groups.txt: unknown kind %q", fields[1])
		}
		key, err := hex.DecodeString(fields[2])
		if err != nil {
			t.Fatal(err)
		}
		want := netip.MustParseAddr(fields[3])
		if got := Group(scope, kind, key); got != want {
			t.Errorf("Group(%v, %v, %x) = %v, want %v", scope, kind, key, got, want)
		}
		var helper netip.Addr
		switch kind {
		case KindManifest:
			helper = ManifestGroup(scope, string(key))
		case KindStream:
			helper = StreamGroup(scope, string(key))
		case KindCongestion:
			helper = CongestionGroup(scope, string(key))
		case KindTree:
			helper = TreeGroup(scope, key[0], [32]byte(key[1:]))
		case KindData:
			helper = DataGroup(scope, [32]byte(key))
		case KindParity:
			helper = ParityGroup(scope, netip.AddrFrom16([16]byte(key[:16])), key[16])
		case KindObject:
			helper = ObjectGroup(scope, [32]byte(key))
		}
		if helper != want {
			t.Errorf("%v group of %x at scope %v = %v, want %v", kind, key, scope, helper, want)
		}
		if seen[want.String()] {
			t.Errorf("address %v derived twice", want)
		}
		seen[want.String()] = true
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// 4 scopes x (2 shares x 3 kinds + 2 nodes x (1 data + 1 object + 3 tree levels + 2 parity layers)).
	if n != 80 {
		t.Errorf("groups.txt has %d vectors, want 80", n)
	}
}

// TestGroupLayout checks the address layout: ff, flags 1 with the scope, then hash bits.
func TestGroupLayout(t *testing.T) {
	long := strings.Repeat("x", 300) // longer than the stack buffer
	for _, tc := range []struct {
		name  string
		scope Scope
		kind  Kind
		key   []byte
	}{
		{"link manifest", ScopeLink, KindManifest, []byte("share")},
		{"site data", ScopeSite, KindData, make([]byte, 32)},
		{"org tree", ScopeOrg, KindTree, make([]byte, 32)},
		{"global stream", ScopeGlobal, KindStream, []byte("f.iso")},
		{"long share name", ScopeSite, KindManifest, []byte(long)},
		{"empty key", ScopeSite, KindManifest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Group(tc.scope, tc.kind, tc.key)
			b := g.As16()
			if !g.Is6() || !g.IsMulticast() {
				t.Fatalf("%v is not an IPv6 multicast address", g)
			}
			if b[0] != 0xff || b[1] != 0x10|byte(tc.scope) {
				t.Errorf("%v: prefix %02x%02x, want ff%x", g, b[0], b[1], 0x10|byte(tc.scope))
			}
			if g2 := Group(tc.scope, tc.kind, tc.key); g2 != g {
				t.Errorf("not deterministic: %v then %v", g, g2)
			}
			other := Kind(1 + tc.kind%4)
			if Group(tc.scope, other, tc.key) == g {
				t.Errorf("kinds %v and %v share a group", tc.kind, other)
			}
		})
	}
	// The scope changes only byte 1.
	a, b := ManifestGroup(ScopeLink, "share").As16(), ManifestGroup(ScopeGlobal, "share").As16()
	if a[1] == b[1] || string(a[2:]) != string(b[2:]) {
		t.Errorf("scope should change byte 1 only: %x vs %x", a, b)
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Scope
		wantErr bool
	}{
		{"link", "link", ScopeLink, false},
		{"site", "site", ScopeSite, false},
		{"org", "org", ScopeOrg, false},
		{"global", "global", ScopeGlobal, false},
		{"upper case name", "GLOBAL", ScopeGlobal, false},
		{"digit 2", "2", ScopeLink, false},
		{"digit 5", "5", ScopeSite, false},
		{"digit 8", "8", ScopeOrg, false},
		{"lower hex e", "e", ScopeGlobal, false},
		{"upper hex E", "E", ScopeGlobal, false},
		{"interface-local 1", "1", Scope(1), false},
		{"admin-local 4", "4", Scope(4), false},
		{"reserved 0", "0", 0, true},
		{"reserved f", "f", 0, true},
		{"not hex", "g", 0, true},
		{"empty", "", 0, true},
		{"two digits", "15", 0, true},
		{"unknown name", "planet", 0, true},
		{"padded", " site", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScope(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseScope(%q) = %v, want an error", tc.in, got)
				}
				if !strings.HasPrefix(err.Error(), "mcast: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseScope(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestScopeString(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Scope
		want string
	}{
		{"link", ScopeLink, "link"},
		{"site", ScopeSite, "site"},
		{"org", ScopeOrg, "org"},
		{"global", ScopeGlobal, "global"},
		{"admin-local", Scope(4), "4"},
		{"reserved f", Scope(0xf), "f"},
		{"out of range", Scope(0x42), "Scope(66)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	if DefaultScope != ScopeSite {
		t.Errorf("DefaultScope = %v, want site", DefaultScope)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindManifest: "manifest", KindTree: "tree", KindData: "data", KindStream: "stream", KindCongestion: "congestion", 9: "Kind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

// FuzzParseScope: never panics, and every accepted scope is valid and round-trips through
// String.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"link", "site", "org", "global", "5", "e", "f", "0", "", "xx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if !sc.Valid() {
			t.Fatalf("ParseScope(%q) accepted invalid scope %d", s, sc)
		}
		back, err := ParseScope(sc.String())
		if err != nil || back != sc {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, sc, sc.String(), back, err)
		}
	})
}

func BenchmarkDataGroup(b *testing.B) {
	var node [32]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		node[0] = byte(i)
		_ = DataGroup(ScopeSite, node)
	}
}

// TestSignedShareGroups checks the keyed derivation of a signed share's channels (PROTOCOL.md
// §3): key = 0x00 || publisher key || name, the plain name without a publisher.
func TestSignedShareGroups(t *testing.T) {
	var pub, other [32]byte
	for i := range pub {
		pub[i], other[i] = byte(i+1), byte(i+2)
	}
	for _, c := range []struct {
		kind   Kind
		signed func(Scope, Publisher, string) netip.Addr
		plain  func(Scope, string) netip.Addr
	}{
		{KindManifest, SignedManifestGroup, ManifestGroup},
		{KindStream, SignedStreamGroup, StreamGroup},
		{KindCongestion, SignedCongestionGroup, CongestionGroup},
	} {
		if got, want := c.signed(ScopeSite, nil, "share"), c.plain(ScopeSite, "share"); got != want {
			t.Errorf("%v: unsigned %v, want %v", c.kind, got, want)
		}
		key := append(append([]byte{0}, pub[:]...), "share"...)
		want := Group(ScopeSite, c.kind, key)
		if got := c.signed(ScopeSite, &pub, "share"); got != want {
			t.Errorf("%v: signed %v, want %v", c.kind, got, want)
		}
		if c.signed(ScopeSite, &other, "share") == want || c.plain(ScopeSite, "share") == want {
			t.Errorf("%v: another publisher, or none, derives the same group", c.kind)
		}
	}
}
