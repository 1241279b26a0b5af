package fec

import (
	"bytes"
	"testing"
)

// An independent statement of PROTOCOL.md §5.6's code, written from the text and sharing
// nothing with the library: GF(2^8) modulo x^8+x^4+x^3+x^2+1 (0x11d), V[r][c] = r^c
// (0^0 = 1) with total rows, M = V * inverse(top k rows of V), parity shard j = row k+j of M
// applied byte-column by byte-column to the k data shards.

type gf struct{ exp, log [512]byte }

func newGF() *gf {
	var g gf
	x := 1
	for i := range 255 {
		g.exp[i], g.exp[i+255] = byte(x), byte(x)
		g.log[x] = byte(i)
		if x <<= 1; x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	return &g
}

func (g *gf) mul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return g.exp[int(g.log[a])+int(g.log[b])]
}

func (g *gf) inv(a byte) byte { return g.exp[255-int(g.log[a])] }

func (g *gf) pow(a byte, n int) byte {
	r := byte(1)
	for range n {
		r = g.mul(r, a)
	}
	return r
}

// invert returns the inverse of the square matrix m (Gauss-Jordan).
func (g *gf) invert(m [][]byte) [][]byte {
	n := len(m)
	a := make([][]byte, n)
	for i := range a {
		a[i] = make([]byte, 2*n)
		copy(a[i], m[i])
		a[i][n+i] = 1
	}
	for c := range n {
		p := c
		for a[p][c] == 0 {
			p++
		}
		a[c], a[p] = a[p], a[c]
		s := g.inv(a[c][c])
		for j := range a[c] {
			a[c][j] = g.mul(a[c][j], s)
		}
		for r := range n {
			if r != c && a[r][c] != 0 {
				f := a[r][c]
				for j := range a[r] {
					a[r][j] ^= g.mul(f, a[c][j])
				}
			}
		}
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = a[i][n:]
	}
	return out
}

// parityRow returns row k+j of M for k data shards.
func (g *gf) parityRow(k, j int) []byte {
	top := make([][]byte, k)
	for r := range top {
		top[r] = make([]byte, k)
		for c := range top[r] {
			top[r][c] = g.pow(byte(r), c)
		}
	}
	ti := g.invert(top)
	row := make([]byte, k)
	for c := range k {
		var v byte
		for t := range k {
			v ^= g.mul(g.pow(byte(k+j), t), ti[t][c])
		}
		row[c] = v
	}
	return row
}

func TestParityMatchesProtocolText(t *testing.T) {
	g := newGF()
	var c Codec
	for _, tc := range []struct{ n, size int }{{16384, 1432}, {3000, 1432}, {700, 700}, {40000, 1432}} {
		block := make([]byte, tc.n)
		for i := range block {
			block[i] = byte(i*31 + i>>7)
		}
		for s := 0; ; s++ {
			first, end, ok := Stripe(tc.n, tc.size, s)
			if !ok {
				break
			}
			k := end - first
			got := make([][]byte, 8)
			for j := range got {
				got[j] = make([]byte, tc.size)
			}
			if err := c.Encode(block, tc.size, s, got); err != nil {
				t.Fatal(err)
			}
			for j := range got {
				row := g.parityRow(k, j)
				want := make([]byte, tc.size)
				for i := range k {
					lo := (first + i) * tc.size
					for b := range tc.size {
						if lo+b < tc.n {
							want[b] ^= g.mul(row[i], block[lo+b])
						}
					}
				}
				if !bytes.Equal(got[j], want) {
					t.Fatalf("block %d/%d stripe %d layer %d: parity differs from the protocol text", tc.n, tc.size, s, j)
				}
			}
		}
	}
}
