package test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/netnstest"
	"github.com/lcsync/lcsync/pkg/wire"
)

// hostileNode is a tree node whose data and tree channels the attacker floods.
type hostileNode struct {
	label      wire.Label
	data, tree netip.Addr
	leaves     int // leaves under the node
}

// hostileTargets lists the nodes of a file's tree from the top down to depth levels below it.
func hostileTargets(t testing.TB, path string, bs int, depth int) []hostileNode {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := merkle.Build(context.Background(), f, fi.Size(), bs, 0)
	if err != nil {
		t.Fatal(err)
	}
	sh := tree.Shape()
	var nodes []hostileNode
	for k := sh.TopLevel(); k >= 0 && k >= sh.TopLevel()-depth; k-- {
		for i := 0; i < sh.LevelLen(k); i++ {
			h := tree.Node(k, i)
			first, end := sh.Span(k, i)
			nodes = append(nodes, hostileNode{label: wire.LabelOf(h), data: mcast.DataGroup(mcast.ScopeSite, h),
				tree: mcast.TreeGroup(mcast.ScopeSite, uint8(k), h), leaves: end - first})
		}
	}
	return nodes
}

// hostileDatagram builds the i-th datagram of the attack: garbage, truncated and wrong-version
// datagrams, unknown types, block packets with the right label and random bytes, tree packets
// with wrong hashes, and manifest chunks with bogus ids, each sent to a group in use.
func hostileDatagram(rng *rand.Rand, i int, manifest, stream netip.Addr, nodes []hostileNode, bs int) (netip.Addr, []byte) {
	n := nodes[rng.IntN(len(nodes))]
	// Data goes to the node's data channel or to the share's stream, which a receiver of a
	// fresh directory joins instead.
	data := n.data
	if rng.IntN(2) == 0 {
		data = stream
	}
	random := func(k int) []byte {
		b := make([]byte, k)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		return b
	}
	groups := []netip.Addr{manifest, data, n.tree}
	g := groups[rng.IntN(len(groups))]
	switch i % 10 {
	case 0: // not ours at all
		b := random(1 + rng.IntN(1400))
		b[0] = 0xff
		return g, b
	case 1: // truncated headers and bodies
		full := wire.AppendBlock(nil, wire.BlockPacket{Label: n.label, Block: 0, Offset: 0, Data: random(64)})
		return g, full[:1+rng.IntN(wire.BlockHeaderLen)]
	case 2: // a future version
		b := wire.AppendBlock(nil, wire.BlockPacket{Label: n.label, Block: 0, Offset: 0, Data: random(100)})
		b[2] = byte(2 + rng.IntN(250))
		return data, b
	case 3: // an unknown packet type
		return g, append([]byte{wire.Magic0, wire.Magic1, wire.Version, byte(4 + rng.IntN(250))}, random(40)...)
	case 4: // a tree packet with trailing garbage (not a whole number of hashes)
		b := wire.AppendTree(nil, wire.TreePacket{Label: n.label, Index: 0, Hashes: random(32)})
		return data, append(b, random(1+rng.IntN(31))...)
	case 5, 6, 7: // well formed, right label, wrong bytes: a whole-block piece where possible
		blk := rng.IntN(n.leaves)
		return data, wire.AppendBlock(nil, wire.BlockPacket{Label: n.label, Block: uint32(blk), Offset: 0,
			Data: random(min(bs, wire.BlockPayload(wire.DefaultMaxDatagram)))})
	case 8: // well formed tree packet with wrong leaf hashes
		idx := rng.IntN(n.leaves)
		cnt := 1 + rng.IntN(min(40, n.leaves-idx))
		gr := data
		if rng.IntN(2) == 0 {
			gr = n.tree
		}
		return gr, wire.AppendTree(nil, wire.TreePacket{Label: n.label, Level: 0, Index: uint32(idx), Hashes: random(32 * cnt)})
	default: // a manifest chunk with a bogus id (complete, so it gets checked)
		data := random(1 + rng.IntN(1000))
		var id [wire.HashLen]byte
		binary.BigEndian.PutUint64(id[:], rng.Uint64())
		return manifest, wire.AppendManifestChunk(nil, wire.ManifestChunk{ID: id, Total: uint32(len(data)), Data: data})
	}
}

// hostileWindow is how long the attack of testHostileDatagrams lasts: most of the transfer.
// TestHostileDatagramsLossy runs the same attack for as long as a lossy fetch runs.
const hostileWindow = 2 * time.Second

// testHostileDatagrams floods the groups of a transfer with hostile datagrams from another
// receiver namespace while two receivers fetch; both copies must be exact and the receivers
// must have counted what they threw away.
func testHostileDatagrams(t *testing.T, rig *netnstest.Rig) {
	const bs = 16384
	src := filepath.Join(t.TempDir(), "target")
	writeFile(t, filepath.Join(src, "big.bin"), 16<<20+99, 11, 0o644)
	writeFile(t, filepath.Join(src, "small.bin"), 50000, 12, 0o644)
	// 16 MiB at 100 Mbit/s: about 1.4 s of transfer to interfere with.
	startServer(t, rig.Sender, "--bwlimit", "100M", src)
	nodes := append(hostileTargets(t, filepath.Join(src, "big.bin"), bs, 3),
		hostileTargets(t, filepath.Join(src, "small.bin"), bs, 1)...)
	manifest := mcast.ManifestGroup(mcast.ScopeSite, "target")
	stream := mcast.StreamGroup(mcast.ScopeSite, "target")

	attacker := newInjector(t, rig.Receivers[3])
	ctx, cancel := context.WithTimeout(context.Background(), hostileWindow)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	// One datagram every 250 µs at most (the ticker coarsens that): a thousand or more a second.
	attack := attacker.repeat(ctx, 250*time.Microsecond, 100000, func(i int) (netip.Addr, []byte) {
		return hostileDatagram(rng, i, manifest, stream, nodes, bs)
	})
	time.Sleep(50 * time.Millisecond) // the attack is under way before anyone joins

	dsts := []string{filepath.Join(t.TempDir(), "dst"), filepath.Join(t.TempDir(), "dst")}
	res := fetchEach(rig.Receivers[:2], func(i int) []string { return []string{"target/", dsts[i]} })
	ar := <-attack
	t.Logf("attacker sent %d datagrams (%v)", ar.sent, ar.err)
	if ar.err != nil {
		t.Errorf("attacker: %v", ar.err)
	}
	for i, r := range res {
		t.Run(fmt.Sprintf("r%d", i+1), func(t *testing.T) {
			st := mustSucceed(t, r)
			compareTrees(t, src, dsts[i], compareOpts{})
			// Forged pieces are assembled apart from the server's and dropped once the
			// genuine block is in (review M2): they need not show as corrupt blocks any more.
			if st.Malformed == 0 || st.Foreign == 0 {
				t.Errorf("stats: %v; want malformed and foreign counts > 0 under attack", st)
			}
		})
	}
}
