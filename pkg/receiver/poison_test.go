package receiver_test

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestFetchDuringFirstComePoisoning is review M2: a host on the link answers every block
// datagram of the genuine server with a forged one-byte piece of the next block (so it comes
// first) and of the same block, and with a forged end marker of the channel, for as long as
// the fetch runs. Mixed into one assembly, every block would fail verification cycle after
// cycle; assembled per source, the genuine blocks verify and the fetch completes, exactly.
func TestFetchDuringFirstComePoisoning(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoof bool // every forged datagram from a source of its own
	}{{"one-attacker", false}, {"spoofed-sources", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := mcasttest.NewNet()
			src := filepath.Join(t.TempDir(), "share")
			writeFile(t, filepath.Join(src, "f"), randBytes(t, 1024*1024+333))
			var forged, spoofs atomic.Int64
			n.Inject = func(g netip.Addr, d []byte) [][]byte {
				p, err := wire.ParseBlock(d)
				if err != nil {
					return nil
				}
				forged.Add(3)
				var out [][]byte
				for _, b := range []uint32{p.Block + 1, p.Block} {
					out = append(out, wire.AppendBlock(nil, wire.BlockPacket{Label: p.Label, Block: b, Offset: 1000, Data: []byte{byte(b) ^ 0x5a}}))
				}
				return append(out, wire.AppendEnd(nil, wire.EndPacket{Group: g}))
			}
			if tc.spoof {
				n.InjectFrom = func(int) netip.Addr {
					i := spoofs.Add(1)
					return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: 0xba, 9: 0xd, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
				}
			}
			serveWith(t, n, src, serveOpts{rate: 40e6})
			dst := filepath.Join(t.TempDir(), "f")
			start := time.Now()
			st := fetch(t, n.Conn(0), "share/f", dst, func(c *receiver.Config) { c.IdleTimeout = 15 * time.Second })
			took := time.Since(start)
			sameFile(t, filepath.Join(src, "f"), dst)
			t.Logf("%v, %d forged datagrams: stats %+v", took, forged.Load(), st)
			if forged.Load() < 1000 {
				t.Fatalf("only %d forged datagrams: the attack did not run", forged.Load())
			}
			// A clean fetch of this file at 40 Mbit/s takes about 0.25 s; the bound leaves
			// room for a busy machine, and is far below the idle timeout.
			if took > 8*time.Second {
				t.Errorf("took %v under the attack", took)
			}
		})
	}
}

// TestFetchDuringLeafRunPoisoning: the same host forges, ahead of the server, the next packet
// of every run of leaf hashes a data channel sends (one wrong hash each). Leaf runs are still
// assembled first come, so runs fail; the leaves are then fetched through tree pages, which
// are assembled per source, and the fetch still completes, exactly, during the attack.
func TestFetchDuringLeafRunPoisoning(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	writeFile(t, filepath.Join(src, "f"), randBytes(t, 1024*1024+333))
	var forged atomic.Int64
	n.Inject = func(g netip.Addr, d []byte) [][]byte {
		p, err := wire.ParseTree(d)
		if err != nil || p.Level != 0 || p.Count() == 0 {
			return nil
		}
		forged.Add(1)
		bad := make([]byte, 32)
		bad[0] = byte(p.Index)
		return [][]byte{wire.AppendTree(nil, wire.TreePacket{Label: p.Label, Level: 0, Index: p.Index + uint32(p.Count()), Hashes: bad})}
	}
	serveWith(t, n, src, serveOpts{rate: 40e6})
	dst := filepath.Join(t.TempDir(), "f")
	start := time.Now()
	st := fetch(t, n.Conn(0), "share/f", dst, func(c *receiver.Config) { c.IdleTimeout = 15 * time.Second })
	took := time.Since(start)
	sameFile(t, filepath.Join(src, "f"), dst)
	t.Logf("%v, %d forged hash packets: stats %+v", took, forged.Load(), st)
	if forged.Load() < 10 {
		t.Fatalf("only %d forged hash packets: the attack did not run", forged.Load())
	}
	if took > 8*time.Second {
		t.Errorf("took %v under the attack", took)
	}
}

// TestFetchDuringChunkPoisoning: a host that answers every manifest chunk and every tree
// object chunk of the server with a forged chunk of the same id for the next offset (so it
// comes first) does not keep the manifest or the objects from assembling: chunks are
// assembled per source (review M2; before, the blob failed its id check at every cycle and
// the fetch timed out).
func TestFetchDuringChunkPoisoning(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	for i := range 60 { // a share directory object of a dozen chunks
		writeFile(t, filepath.Join(src, fmt.Sprintf("%s-%03d", strings.Repeat("n", 180), i)), randBytes(t, 100))
	}
	var forged, objects atomic.Int64
	n.Inject = func(g netip.Addr, d []byte) [][]byte {
		typ, err := wire.PeekType(d)
		if err != nil {
			return nil
		}
		var c wire.ManifestChunk
		switch typ {
		case wire.TypeManifest:
			c, err = wire.ParseManifestChunk(d)
		case wire.TypeObject:
			c, err = wire.ParseObjectChunk(d)
			objects.Add(1)
		default:
			return nil
		}
		if err != nil {
			return nil
		}
		next := int(c.Offset) + len(c.Data)
		if next >= int(c.Total) {
			next = 0
		}
		forged.Add(1)
		bad := wire.ManifestChunk{ID: c.ID, Total: c.Total, Offset: uint32(next), Data: make([]byte, min(len(c.Data), int(c.Total)-next))}
		if typ == wire.TypeObject {
			return [][]byte{wire.AppendObjectChunk(nil, bad)}
		}
		return [][]byte{wire.AppendManifestChunk(nil, bad)}
	}
	serve(t, n, src, false)
	dst := t.TempDir()
	start := time.Now()
	st := fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.IdleTimeout = 8 * time.Second })
	t.Logf("%v, %d forged chunks (%d object chunks): stats %+v", time.Since(start), forged.Load(), objects.Load(), st)
	if objects.Load() < 5 || st.Files != 60 {
		t.Fatalf("%d forged chunks (%d object chunks), %d files fetched", forged.Load(), objects.Load(), st.Files)
	}
}
