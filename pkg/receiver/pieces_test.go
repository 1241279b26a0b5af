package receiver

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestSparsePiecesRecycled: blocks assembled from datagram-sized pieces (the first of each
// kept sparse, in a recycled buffer) come out whole and exact, the assembler's memory count
// returns to zero, the recycled buffers stay bounded, and a one-byte piece costs its byte and
// bookkeeping, not a recycled buffer.
func TestSparsePiecesRecycled(t *testing.T) {
	const bs, n, size = 16384, 40, 1448
	shape, err := merkle.NewShape(n*bs, bs)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(Config{MaxMemory: 64 << 20})
	var top merkle.Hash
	top[0] = 1
	_, tg := joinedFile(t, s, shape, top)
	src := netip.MustParseAddr("fe80::1")
	rng := rand.New(rand.NewPCG(11, 12))
	data := make([]byte, n*bs)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// Half the blocks get their first piece, then each a forged byte; then all complete.
	for b := range n / 2 {
		s.onPiece(tg, b, wire.BlockPacket{Label: tg.label, Block: uint32(b), Data: data[b*bs : b*bs+size]}, src)
	}
	for b := n / 2; b < n; b++ {
		s.onPiece(tg, b, wire.BlockPacket{Label: tg.label, Block: uint32(b), Offset: bs - 1, Data: []byte{data[b*bs+bs-1]}}, src)
	}
	if want := n/2*(pieceCap+pieceOverhead) + n/2*(8+pieceOverhead); s.mem.bytes != want {
		t.Fatalf("%d bytes held for %d sparse pieces and %d single bytes, want %d", s.mem.bytes, n/2, n/2, want)
	}
	for b := range n {
		for off := 0; off < bs; off += size {
			end := min(off+size, bs)
			s.onPiece(tg, b, wire.BlockPacket{Label: tg.label, Block: uint32(b), Offset: uint32(off), Data: data[b*bs+off : b*bs+end]}, src)
		}
	}
	if len(s.jobs) != n {
		t.Fatalf("%d blocks complete, want %d", len(s.jobs), n)
	}
	for _, j := range s.jobs {
		if !bytes.Equal(j.buf, data[j.b*bs:(j.b+1)*bs]) {
			t.Fatalf("block %d assembled wrong", j.b)
		}
	}
	if s.mem.bytes != 0 || s.mem.inMem != 0 {
		t.Fatalf("after every block completed: %d bytes in %d buffers still counted", s.mem.bytes, s.mem.inMem)
	}
	if len(s.mem.spare) == 0 || len(s.mem.spare) > maxSpare {
		t.Fatalf("%d recycled piece buffers, want 1..%d", len(s.mem.spare), maxSpare)
	}
}
