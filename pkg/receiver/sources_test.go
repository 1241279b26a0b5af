package receiver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestAlternatesBounded: pieces of every block from many sources (a host forging its source
// address) make alternate assemblies, but the assembler's memory stays within its bounds
// (review M2 and H4): alternates are dropped first, primaries spilled.
func TestAlternatesBounded(t *testing.T) {
	const bs, n = 16384, 4096
	shape, err := merkle.NewShape(n*bs, bs)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(Config{MaxMemory: 16 << 20})
	var top merkle.Hash
	top[0] = 1
	f, tg := joinedFile(t, s, shape, top)
	piece := make([]byte, 3000)
	peak, peakIn, alts := 0, 0, 0
	for b := range n {
		for src := range 6 {
			a := netip.AddrFrom16([16]byte{0xfe, 0x80, 14: byte(b >> 8), 15: byte(src)})
			for off := 0; off < 3*len(piece); off += len(piece) {
				s.onPiece(tg, b, wire.BlockPacket{Label: tg.label, Block: uint32(b), Offset: uint32(off), Data: piece}, a)
			}
			if bs := f.blocks[b]; bs != nil {
				alts = max(alts, len(bs.alts))
			}
			peak, peakIn = max(peak, s.mem.bytes), max(peakIn, s.mem.inMem)
		}
	}
	if alts != maxAlternates {
		t.Errorf("at most %d alternates a block, want %d", alts, maxAlternates)
	}
	if peak > s.cfg.blockBudget()+bs || peakIn > maxInMem+1 {
		t.Fatalf("assembler held %d bytes in %d buffers, bounds %d and %d", peak, peakIn, s.cfg.blockBudget(), maxInMem)
	}
	if len(s.mem.alts) > 2*s.mem.live+1024+1 {
		t.Errorf("%d alternates listed for %d live", len(s.mem.alts), s.mem.live)
	}
}

// TestSourceVerdicts: a failed source is distrusted for distrustFor, a good one makes only
// good sources signs of life, and the table stays bounded.
func TestSourceVerdicts(t *testing.T) {
	var st sourceState
	now := time.Now()
	bad, good := netip.MustParseAddr("fe80::bad"), netip.MustParseAddr("fe80::1")
	if !st.alive(bad) || st.distrusted(bad, now) {
		t.Fatal("an unknown source is distrusted before any verdict")
	}
	st.verdict(bad, false, now)
	if !st.distrusted(bad, now) || st.distrusted(bad, now.Add(distrustFor)) {
		t.Fatal("a failed source is not distrusted for distrustFor")
	}
	st.verdict(good, true, now)
	if !st.alive(good) || st.alive(bad) || st.alive(netip.MustParseAddr("fe80::2")) {
		t.Fatal("once a source is good, only good sources are signs of life")
	}
	st.verdict(netip.Addr{}, false, now)
	if st.distrusted(netip.Addr{}, now) {
		t.Fatal("the zero address (a transport that does not say) was distrusted")
	}
	for i := range 10 * maxSources {
		st.verdict(netip.AddrFrom16([16]byte{0xfe, 0x80, 14: byte(i >> 8), 15: byte(i)}), false, now)
	}
	if len(st.srcs) > maxSources || !st.good(good) {
		t.Fatalf("%d verdicts kept (bound %d), good source kept %v", len(st.srcs), maxSources, st.good(good))
	}
}

// TestTreePagePerSource: a host that sends one forged hash of a tree page before the server
// sends the page (first come) does not spoil the page: the sources' hashes are assembled
// apart, the genuine page verifies, and its source is good for the file.
func TestTreePagePerSource(t *testing.T) {
	const bs, n = 1024, 16
	leaves := make([]merkle.Hash, n)
	for i := range leaves {
		leaves[i] = merkle.LeafHash([]byte{byte(i)})
	}
	top := merkle.Fold(leaves)
	shape, err := merkle.NewShape(n*bs, bs)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(Config{})
	s.manifest = &wire.Manifest{PageHeight: 4}
	f := newFileState(wire.Entry{Name: "f", Size: n * bs}, shape, "f")
	f.needAll()
	f.entry.Top = top
	s.startWalk(f)
	var tg *target
	for _, x := range s.chans.byLabel[wire.LabelOf(top)] {
		tg = x
	}
	if tg == nil || tg.level != 0 || len(tg.run) != n {
		t.Fatalf("page target %+v", tg)
	}
	forger, server := netip.MustParseAddr("fe80::bad"), netip.MustParseAddr("fe80::1")
	var forged [merkle.HashSize]byte
	forged[0] = 1
	s.onTree(wire.TreePacket{Label: wire.LabelOf(top), Level: 0, Index: 3, Hashes: forged[:]}, forger, time.Now())
	page := make([]byte, 0, n*merkle.HashSize)
	for _, h := range leaves {
		page = append(page, h[:]...)
	}
	s.onTree(wire.TreePacket{Label: wire.LabelOf(top), Level: 0, Index: 0, Hashes: page}, server, time.Now())
	if !tg.verified {
		t.Fatal("the genuine page did not verify after a forged first hash")
	}
	if !f.sources.good(server) {
		t.Error("the source of the verified page is not good")
	}
}
