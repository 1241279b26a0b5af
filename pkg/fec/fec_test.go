package fec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/lcsync/lcsync/pkg/wire"
)

// parity computes layers [0, layers) of every stripe of block.
func parity(t *testing.T, c *Codec, block []byte, size, layers int) [][][]byte {
	t.Helper()
	_, stripes, ok := wire.ParityShards(len(block), size)
	if !ok {
		t.Fatalf("bad geometry %d/%d", len(block), size)
	}
	out := make([][][]byte, stripes)
	for s := range stripes {
		out[s] = make([][]byte, layers)
		for j := range out[s] {
			out[s][j] = make([]byte, size)
		}
		if err := c.Encode(block, size, s, out[s]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestReconstructRandomLosses(t *testing.T) {
	var c Codec
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range []struct{ n, size, layers int }{
		{16384, 1432, 3}, {16384, 1432, 8}, {4096, 1432, 2}, {100, 100, 1}, {1000, 1432 - 1000, 4},
		{65536, 1432, 2}, {20000, 1000, 8}, {1, 1, 8},
	} {
		if g.size > g.n {
			g.size = g.n
		}
		block := make([]byte, g.n)
		for i := range block {
			block[i] = byte(rng.Uint32())
		}
		par := parity(t, &c, block, g.size, g.layers)
		shards, stripes, _ := wire.ParityShards(g.n, g.size)
		for trial := range 50 {
			lost := map[int]bool{}
			got := bytes.Clone(block)
			use := make([][][]byte, stripes)
			recoverable := true
			for s := range stripes {
				first, end, _ := Stripe(g.n, g.size, s)
				// Lose up to layers+1 shards, data or parity, at random.
				nLost, missingData, parityLeft := rng.IntN(g.layers+2), 0, 0
				use[s] = make([][]byte, g.layers)
				copy(use[s], par[s])
				for range nLost {
					i := rng.IntN(end - first + g.layers)
					if i < end-first {
						if !lost[first+i] {
							lost[first+i] = true
							missingData++
							lo := (first + i) * g.size
							for b := lo; b < min(lo+g.size, g.n); b++ {
								got[b] = 0xee // garbage where the shard was lost
							}
						}
					} else {
						use[s][i-(end-first)] = nil
					}
				}
				for _, p := range use[s] {
					if p != nil {
						parityLeft++
					}
				}
				err := c.Reconstruct(got, g.size, s, func(i int) bool { return !lost[i] }, use[s])
				switch {
				case missingData > parityLeft:
					recoverable = false
					if !errors.Is(err, ErrTooFew) {
						t.Fatalf("%+v trial %d stripe %d: %d missing, %d parity: err %v, want ErrTooFew", g, trial, s, missingData, parityLeft, err)
					}
				case err != nil:
					t.Fatalf("%+v trial %d stripe %d: %v", g, trial, s, err)
				}
			}
			if recoverable && !bytes.Equal(got, block) {
				t.Fatalf("%+v trial %d: rebuilt block differs (%d shards, lost %v)", g, trial, shards, lost)
			}
		}
	}
}

// TestParityPrefix: layer j's shard is the same however many layers are computed, so a sender
// computes only what was joined and a receiver decodes with a (k, ParityLayers) code.
func TestParityPrefix(t *testing.T) {
	var c Codec
	block := make([]byte, 16384)
	for i := range block {
		block[i] = byte(i*7 + i>>8)
	}
	all := parity(t, &c, block, 1432, wire.ParityLayers)
	for layers := 1; layers < wire.ParityLayers; layers++ {
		some := parity(t, &c, block, 1432, layers)
		for j := range layers {
			if !bytes.Equal(some[0][j], all[0][j]) {
				t.Fatalf("layer %d differs when computing %d layers", j, layers)
			}
		}
	}
}

func TestReconstructRejectsWrongParity(t *testing.T) {
	var c Codec
	block := make([]byte, 3000) // shards of 1432: the last has 136 bytes and 1296 of padding
	for i := range block {
		block[i] = byte(i)
	}
	par := parity(t, &c, block, 1432, 1)
	// The code works column by column: a wrong parity byte in a column the short shard pads
	// shows as a non-zero padding byte (elsewhere only the block's leaf hash catches it).
	par[0][0][1400] ^= 1
	got := bytes.Clone(block)
	err := c.Reconstruct(got, 1432, 0, func(i int) bool { return i != 2 }, par[0])
	if !errors.Is(err, ErrBadParity) {
		t.Fatalf("err %v, want ErrBadParity", err)
	}
	if err := c.Reconstruct(got, 1432, 1, func(int) bool { return true }, nil); err == nil {
		t.Fatal("a stripe past the block decoded")
	}
	if err := c.Encode(block, 1432, 0, [][]byte{make([]byte, 10)}); err == nil {
		t.Fatal("a short parity buffer was accepted")
	}
}
