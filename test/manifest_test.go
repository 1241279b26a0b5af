package test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/wire"
)

// rawEntry is a manifest entry written byte by byte, with no validation at all.
type rawEntry struct {
	typ    wire.EntryType
	mode   uint32
	mtime  int64
	name   string
	size   uint64
	shift  uint8
	top    [wire.HashLen]byte
	target string
}

func rawDir(name string) rawEntry { return rawEntry{typ: wire.EntryDir, mode: 0o755, name: name} }
func rawEmpty(name string) rawEntry {
	return rawEntry{typ: wire.EntryFile, mode: 0o644, name: name, shift: 14}
}
func rawLink(name, to string) rawEntry {
	return rawEntry{typ: wire.EntrySymlink, mode: 0o777, name: name, target: to}
}

// rawManifest encodes a manifest blob by hand, following PROTOCOL.md §5.1, without any of
// the checks wire.Manifest.MarshalBinary makes. Entries are sorted by name (byte order) so
// that only the hostile names are wrong.
func rawManifest(share string, generation uint64, entries []rawEntry) []byte {
	es := append([]rawEntry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	b := []byte(wire.ManifestMagic)
	b = append(b, wire.ManifestVersion, 0 /* flags */, 1 /* page height */, 0 /* reserved */)
	b = appendString16(b, share)
	b = binary.BigEndian.AppendUint64(b, generation)
	b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
	for _, e := range es {
		b = append(b, byte(e.typ))
		b = binary.BigEndian.AppendUint32(b, e.mode)
		b = binary.BigEndian.AppendUint64(b, uint64(e.mtime))
		b = appendString16(b, e.name)
		switch e.typ {
		case wire.EntryFile:
			b = binary.BigEndian.AppendUint64(b, e.size)
			b = append(b, e.shift)
			b = append(b, e.top[:]...)
		case wire.EntrySymlink:
			b = appendString16(b, e.target)
		}
	}
	return b
}

func appendString16(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// TestRawManifestEncoding checks the hand encoder against wire.Manifest.MarshalBinary on a
// valid manifest, so the hostile manifests below differ from real ones only where intended.
func TestRawManifestEncoding(t *testing.T) {
	top := [wire.HashLen]byte{1, 2, 3}
	m := &wire.Manifest{PageHeight: 1, Share: "evil", Generation: 7, Entries: []wire.Entry{
		{Type: wire.EntryDir, Mode: 0o755, MTime: 11, Name: "evil"},
		{Type: wire.EntryFile, Mode: 0o644, MTime: -5, Name: "evil/f", Size: 5000, BlockShift: 14, Top: top},
		{Type: wire.EntrySymlink, Mode: 0o777, MTime: 1 << 40, Name: "evil/l", Target: "../x"},
	}}
	want, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got := rawManifest("evil", 7, []rawEntry{
		{typ: wire.EntrySymlink, mode: 0o777, mtime: 1 << 40, name: "evil/l", target: "../x"},
		{typ: wire.EntryDir, mode: 0o755, mtime: 11, name: "evil"},
		{typ: wire.EntryFile, mode: 0o644, mtime: -5, name: "evil/f", size: 5000, shift: 14, top: top},
	})
	if string(got) != string(want) {
		t.Fatalf("raw manifest\n%x\nwant\n%x", got, want)
	}
}

// hostileManifestCase is one manifest a fake server offers for share "evil".
type hostileManifestCase struct {
	name    string
	entries func(c manifestCaseEnv) []rawEntry
	// valid means the manifest passes the decoder, and the danger is in the destination.
	valid bool
	// setup prepares the destination (optional).
	setup func(t *testing.T, c manifestCaseEnv)
	// net says the case is also played over the network (the decoder sees every case).
	net bool
}

// manifestCaseEnv are the paths of one case: the destination, its parent, and the file name
// that must not appear anywhere.
type manifestCaseEnv struct {
	dst, parent, planted string
}

// hostileManifestCases returns the cases: names with "..", absolute names, names with empty or
// "." components, entries below a symlink (pointing inside or outside), and a valid manifest
// meeting a symlink already in the destination.
func hostileManifestCases() []hostileManifestCase {
	return []hostileManifestCase{
		{name: "dotdot", net: true, entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawEmpty("evil/../" + c.planted)}
		}},
		{name: "dotdot-deep", entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawDir("evil/a"), rawEmpty("evil/a/../../" + c.planted)}
		}},
		{name: "dotdot-only", entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawDir("evil/.."), rawEmpty("evil/../" + c.planted)}
		}},
		{name: "absolute", net: true, entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawEmpty(filepath.Join(c.parent, c.planted))}
		}},
		{name: "absolute-root", net: true, entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawEmpty("/" + c.planted)}
		}},
		{name: "absolute-in-share", entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawEmpty("evil/" + filepath.Join(c.parent, c.planted))}
		}},
		{name: "dot-component", entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawEmpty("evil/./" + c.planted)}
		}},
		{name: "below-symlink-outside", net: true, entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawLink("evil/link", c.parent), rawEmpty("evil/link/" + c.planted)}
		}},
		{name: "below-symlink-relative", net: true, entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawLink("evil/link", ".."), rawEmpty("evil/link/" + c.planted)}
		}},
		{name: "below-symlink-root", entries: func(c manifestCaseEnv) []rawEntry {
			return []rawEntry{rawDir("evil"), rawLink("evil/link", "/"), rawEmpty("evil/link/" + c.planted)}
		}},
		{name: "symlink-in-destination", net: true, valid: true,
			entries: func(c manifestCaseEnv) []rawEntry {
				return []rawEntry{rawDir("evil"), rawDir("evil/link"), rawEmpty("evil/link/" + c.planted)}
			},
			setup: func(t *testing.T, c manifestCaseEnv) {
				if err := os.MkdirAll(c.dst, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(c.parent, filepath.Join(c.dst, "link")); err != nil {
					t.Fatal(err)
				}
			}},
	}
}

// TestHostileManifestsRefusedByDecoder checks that each hostile manifest (except the valid
// one) really is refused by the decoder receivers use, so the network test below exercises
// the refusal and not some other failure.
func TestHostileManifestsRefusedByDecoder(t *testing.T) {
	env := manifestCaseEnv{dst: "/tmp/x/dst", parent: "/tmp/x", planted: "planted"}
	for _, c := range hostileManifestCases() {
		t.Run(c.name, func(t *testing.T) {
			_, err := wire.UnmarshalManifest(rawManifest("evil", 1, c.entries(env)))
			switch {
			case c.valid && err != nil:
				t.Fatalf("the valid manifest does not decode: %v", err)
			case !c.valid && !errors.Is(err, wire.ErrMalformed):
				t.Fatalf("decoder accepted the hostile manifest (err %v)", err)
			}
		})
	}
}

// fakeManifestServer repeats blob's chunks on share's manifest channel every 20 ms from ns
// until the test ends.
func fakeManifestServer(t *testing.T, ns *netnstest.NS, share string, blob []byte) {
	t.Helper()
	chunks, err := wire.ManifestChunks(blob, wire.DefaultMaxDatagram)
	if err != nil {
		t.Fatal(err)
	}
	in := newInjector(t, ns)
	g := mcast.ManifestGroup(mcast.ScopeSite, share)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := in.repeat(ctx, 20*time.Millisecond/time.Duration(len(chunks)), 1<<30, func(i int) (netip.Addr, []byte) {
		return g, chunks[i%len(chunks)]
	})
	t.Cleanup(func() {
		cancel()
		if r := <-done; r.err != nil {
			t.Errorf("fake server: %v", r.err)
		}
	})
}

// hostileManifestTimeout bounds each fetch of testHostileManifests. A receiver that refuses
// the manifest should give up after its idle timeout (1.5 s); this total timeout only keeps a
// receiver that does not from holding the suite up.
const hostileManifestTimeout = "4s"

// testHostileManifests has a fake server (Go code in the sender namespace) offer manifests
// with hostile names for share "evil"; `lcsync evil/ DST` must fail with a clear error and
// write nothing outside DST.
func testHostileManifests(t *testing.T, rig *netnstest.Rig) {
	for i, c := range hostileManifestCases() {
		if !c.net {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			env := manifestCaseEnv{dst: filepath.Join(parent, "dst"), parent: parent,
				planted: "lcsync-e2e-planted-" + netnstest.UniqueName("")}
			if c.setup != nil {
				c.setup(t, env)
			}
			before := listDir(t, parent)
			fakeManifestServer(t, rig.Sender, "evil", rawManifest("evil", uint64(i+1), c.entries(env)))
			r := fetch(rig.Receivers[i%len(rig.Receivers)], "--idle-timeout", "1500ms",
				"--timeout", hostileManifestTimeout, "evil/", env.dst)
			t.Logf("exit %d after %.2fs; last error: %s", r.code, r.elapsed.Seconds(), lastError(r.stderr))
			if r.code == 0 {
				t.Errorf("the hostile manifest was accepted: %s", r)
			}
			if last := lastError(r.stderr); !c.valid && !saysRefused(last) {
				t.Errorf("BUG: the final error %q does not say that the manifest was refused, or why "+
					"(%d warnings before it; a refused manifest should not count as progress either)",
					last, strings.Count(r.stderr, "\n"))
			}
			for _, p := range []string{filepath.Join(parent, env.planted), filepath.Join("/", env.planted),
				filepath.Join(filepath.Dir(parent), env.planted)} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written outside the destination", p)
					_ = os.Remove(p)
				}
			}
			if after := listDir(t, parent); strings.Join(after, "/") != strings.Join(before, "/") &&
				strings.Join(after, "/") != "dst" {
				t.Errorf("the destination's parent holds %q, want %q (or just dst)", after, before)
			}
		})
	}
}

// lastError returns the last "lcsync: ..." line of a command's standard error.
func lastError(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "lcsync: ") {
			return lines[i]
		}
	}
	return ""
}

// saysRefused reports whether an error line says a manifest was refused and why.
func saysRefused(line string) bool {
	if !strings.Contains(line, "manifest") {
		return false
	}
	for _, w := range []string{"wire:", "refus", "invalid", "malformed", "hostile", "unsafe", "does not decode"} {
		if strings.Contains(line, w) {
			return true
		}
	}
	return false
}
