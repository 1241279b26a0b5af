package test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/wire"
)

// crashed reports whether a run ended in a Go runtime crash rather than an lcsync error.
func crashed(r fetchResult) bool {
	return r.code == -1 || strings.Contains(r.stderr, "fatal error:") || strings.Contains(r.stderr, "panic:") ||
		strings.Contains(r.stderr, "goroutine ")
}

// TestHostileManifestSizes is review H5: sizes in a manifest must not drive allocation.
func TestHostileManifestSizes(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})

	// A fake server offers a valid manifest whose file claims 2^42 bytes in 1 KiB blocks:
	// 2^32 blocks, whose leaves alone would take 128 GiB. The receiver must refuse or time
	// out cleanly, with little memory, not die in the runtime.
	t.Run("huge-entry", func(t *testing.T) {
		var top [wire.HashLen]byte
		top[0] = 1
		blob := rawManifest("huge", 1, []rawEntry{rawDir("huge"),
			{typ: wire.EntryFile, mode: 0o644, name: "huge/big", size: 1 << 42, shift: 10, top: top},
			{typ: wire.EntryFile, mode: 0o644, name: "huge/big2", size: 1<<42 - 1, shift: 10, top: top}})
		fakeManifestServer(t, rig.Sender, "huge", blob)
		dst := filepath.Join(t.TempDir(), "dst")
		r := fetch(rig.Receivers[0], "--idle-timeout", "2s", "--timeout", "8s", "huge/", dst)
		t.Logf("exit %d after %.2fs, peak RSS %d MiB; last error: %s", r.code, r.elapsed.Seconds(), r.maxRSS>>20, lastError(r.stderr))
		if crashed(r) {
			t.Fatalf("BUG: the receiver crashed on a manifest entry of 2^32 blocks (review H5): exit %d\n%.2000s", r.code, r.stderr)
		}
		if r.code == 0 || r.code == 2 {
			t.Errorf("exit %d, want a clean failure (3, 4 or 5): %s", r.code, r)
		}
		if r.maxRSS > 100<<20 {
			t.Errorf("BUG: peak RSS %d MiB for a forged manifest entry, want under 100 MiB (review H5)", r.maxRSS>>20)
		}
	})

	// Chunks with fresh random ids, each claiming a 64 MiB manifest, flood the manifest
	// channel while a genuine server serves it: the genuine manifest must still assemble, the
	// fetch complete, and memory stay small.
	t.Run("chunk-flood", func(t *testing.T) {
		// 150 files with long names: a manifest of a dozen chunks, which a flood of fresh ids
		// must not keep from being assembled.
		src := filepath.Join(t.TempDir(), "chunky")
		writeFile(t, filepath.Join(src, "a.bin"), 300000, 111, 0o644)
		for i := range 150 {
			writeFile(t, filepath.Join(src, fmt.Sprintf("file-with-a-rather-long-name-%03d.txt", i)), 100, uint64(200+i), 0o644)
		}
		startServer(t, rig.Sender, src)
		g := mcast.ManifestGroup(mcast.ScopeSite, "chunky")
		in := newInjector(t, rig.Receivers[1])
		ctx, cancel := context.WithCancel(context.Background())
		rng := rand.New(rand.NewPCG(11, 12))
		done := in.repeat(ctx, 100*time.Microsecond, 1<<20, func(int) (netip.Addr, []byte) {
			var id [wire.HashLen]byte
			binary.BigEndian.PutUint64(id[:], rng.Uint64())
			binary.BigEndian.PutUint64(id[8:], rng.Uint64())
			return g, wire.AppendManifestChunk(nil, wire.ManifestChunk{ID: id, Total: wire.MaxManifestLen,
				Offset: uint32(rng.IntN(wire.MaxManifestLen - 8)), Data: []byte("12345678")})
		})
		time.Sleep(100 * time.Millisecond)
		dst := filepath.Join(t.TempDir(), "dst")
		r := fetch(rig.Receivers[0], "--timeout", "20s", "chunky/", dst)
		cancel()
		ar := <-done
		t.Logf("attacker sent %d chunks; exit %d after %.2fs, peak RSS %d MiB", ar.sent, r.code, r.elapsed.Seconds(), r.maxRSS>>20)
		if crashed(r) {
			t.Fatalf("BUG: the receiver crashed under a flood of 64 MiB manifest chunks (review H5):\n%.2000s", r.stderr)
		}
		mustSucceed(t, r)
		compareTrees(t, src, dst, compareOpts{})
		if r.maxRSS > hostileRSSBound {
			t.Errorf("BUG: peak RSS %d MiB under a chunk flood, want at most %d MiB (review H5)", r.maxRSS>>20, hostileRSSBound>>20)
		}
	})
}

// TestHostileOneBytePieces is review H4 and M2: 1-byte pieces and 1-byte parity shards for
// every block of a large streamed file must not make the receiver hold a block buffer (or
// parity bookkeeping) per block. The file is 64 MiB; a receiver that allocates a 16 KiB block
// per forged piece needs more than that, one that keeps what it was sent needs almost
// nothing. And the attack goes on for as long as the fetch runs: a receiver that mixed the
// forged bytes into the genuine blocks would fail every block cycle after cycle (review M2:
// about 4,500 blocks corrupt, and completion only once the attack stopped); one that
// assembles each source's pieces apart completes during the attack.
func TestHostileOneBytePieces(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	const bs = 16384
	const size = 64 << 20
	src := filepath.Join(t.TempDir(), "bomb")
	writeFile(t, filepath.Join(src, "a-small.bin"), 100000, 121, 0o644)
	writeFile(t, filepath.Join(src, "big.bin"), size, 122, 0o644)
	startServer(t, rig.Sender, "--bwlimit", "300M", src)
	top := hostileTargets(t, filepath.Join(src, "big.bin"), bs, 0)[0]
	stream := mcast.StreamGroup(mcast.ScopeSite, "bomb")
	groups := []netip.Addr{stream, top.data}
	for layer := range uint8(2) {
		groups = append(groups, mcast.ParityGroup(mcast.ScopeSite, stream, layer), mcast.ParityGroup(mcast.ScopeSite, top.data, layer))
	}
	in := newInjector(t, rig.Receivers[1])
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second) // until the fetch ends
	defer cancel()
	rng := rand.New(rand.NewPCG(13, 14))
	blocks := size / bs
	done := in.burst(ctx, time.Millisecond, 64, func(i int) (netip.Addr, []byte) {
		blk := uint32(i/2) % uint32(blocks)
		g := groups[rng.IntN(len(groups))]
		if i%2 == 0 {
			// The last byte of the block: first come, but a byte a genuine piece overwrites
			// only if the receiver keeps the alternatives apart.
			return g, wire.AppendBlock(nil, wire.BlockPacket{Label: top.label, Block: blk, Offset: bs - 1, Data: []byte{byte(i)}})
		}
		return g, wire.AppendParity(nil, wire.ParityPacket{Label: top.label, Block: blk, Stripe: 0, Layer: uint8(rng.IntN(2)), Data: []byte{byte(i)}})
	})
	time.Sleep(200 * time.Millisecond) // the bomb is in the air before the receiver joins
	dst := filepath.Join(t.TempDir(), "dst")
	r := fetch(rig.Receivers[0], "--timeout", "60s", "--stats", "bomb/", dst)
	attacking := ctx.Err() == nil
	cancel()
	ar := <-done
	t.Logf("attacker sent %d datagrams; exit %d after %.2fs, peak RSS %d MiB; %s", ar.sent, r.code, r.elapsed.Seconds(), r.maxRSS>>20,
		statsDgrams.FindString(r.stdout))
	if !attacking {
		t.Fatal("the attack stopped before the fetch ended")
	}
	if crashed(r) {
		t.Fatalf("BUG: the receiver crashed under 1-byte pieces (review H4):\n%.2000s", r.stderr)
	}
	mustSucceed(t, r)
	compareTrees(t, src, dst, compareOpts{})
	if r.maxRSS > 64<<20 {
		t.Errorf("BUG: peak RSS %d MiB after 1-byte pieces for the %d blocks of a %d MiB file, want at most 64 MiB (review H4)",
			r.maxRSS>>20, blocks, size>>20)
	}
	// Before per-source assembly: 32 s, 16,438 blocks corrupt and 565 joins under the same
	// continuous attack (2.3 s, none corrupt, 2 joins after, on a quiet machine).
	st, err := parseStats(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if st.Corrupt > int64(blocks)/16 || r.elapsed > 20*time.Second {
		t.Errorf("BUG: %d blocks corrupt, %.1fs for a %d MiB file: forged first pieces spoil genuine blocks (review M2)",
			st.Corrupt, r.elapsed.Seconds(), size>>20)
	}
}
