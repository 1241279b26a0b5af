//go:build amd64 && !purego

package blake2s

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/blake2s"
)

// refCompress is RFC 7693's F for BLAKE2s, written from §3.2, word by word:
// the reference for kernel calls with counters no test message could reach.
func refCompress(h *[8]uint32, block []byte, t uint64, final bool) {
	var m [16]uint32
	for i := range m {
		m[i] = binary.LittleEndian.Uint32(block[4*i:])
	}
	var v [16]uint32
	copy(v[:8], h[:])
	copy(v[8:], iv[:])
	v[12] ^= uint32(t)
	v[13] ^= uint32(t >> 32)
	if final {
		v[14] = ^v[14]
	}
	g := func(a, b, c, d int, x, y uint32) {
		v[a] += v[b] + x
		v[d] = bits.RotateLeft32(v[d]^v[a], -16)
		v[c] += v[d]
		v[b] = bits.RotateLeft32(v[b]^v[c], -12)
		v[a] += v[b] + y
		v[d] = bits.RotateLeft32(v[d]^v[a], -8)
		v[c] += v[d]
		v[b] = bits.RotateLeft32(v[b]^v[c], -7)
	}
	for r := 0; r < 10; r++ {
		s := &refSigma[r]
		g(0, 4, 8, 12, m[s[0]], m[s[1]])
		g(1, 5, 9, 13, m[s[2]], m[s[3]])
		g(2, 6, 10, 14, m[s[4]], m[s[5]])
		g(3, 7, 11, 15, m[s[6]], m[s[7]])
		g(0, 5, 10, 15, m[s[8]], m[s[9]])
		g(1, 6, 11, 12, m[s[10]], m[s[11]])
		g(2, 7, 8, 13, m[s[12]], m[s[13]])
		g(3, 4, 9, 14, m[s[14]], m[s[15]])
	}
	for i := range h {
		h[i] ^= v[i] ^ v[i+8]
	}
}

// refSigma is the message schedule of RFC 7693 §2.7.
var refSigma = [10][16]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// TestRefCompress checks the reference against x/crypto on whole messages.
func TestRefCompress(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range edgeLengths {
		msg := randMsgs(r, 1, n)[0]
		h := iv
		h[0] ^= param
		blocks := max(1, (n+BlockSize-1)/BlockSize)
		for b := range blocks {
			var blk [BlockSize]byte
			copy(blk[:], msg[b*BlockSize:])
			last := b == blocks-1
			tb := uint64(b+1) * BlockSize
			if last {
				tb = uint64(n)
			}
			refCompress(&h, blk[:], tb, last)
		}
		var got [Size]byte
		for i, w := range h {
			binary.LittleEndian.PutUint32(got[4*i:], w)
		}
		if got != blake2s.Sum256(msg) {
			t.Fatalf("reference compression of %d bytes differs from x/crypto", n)
		}
	}
}

// TestKernelCounters calls each kernel directly with random chaining values
// and counters, some crossing 2^32 inside the call (the high counter word,
// t1, that only a message of 4 GiB would otherwise reach), and compares every
// lane with the reference.
func TestKernelCounters(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	ks := []struct {
		name  string
		k     kernel
		lanes int
		ok    bool
	}{
		{"avx2", kernelAVX2, 8, cpuBest() >= implAVX2},
		{"avx512", kernelAVX512, 16, cpuBest() >= implAVX512},
	}
	counters := []uint64{0, 64, 1<<32 - 128, 1<<32 - 64, 1 << 32, 1<<33 + 5, ^uint64(0) - 200, r.Uint64(), r.Uint64()}
	for _, k := range ks {
		if !k.ok {
			t.Logf("%s: not supported by this CPU", k.name)
			continue
		}
		for _, tc := range counters {
			for _, n := range []int{1, 2, 5} {
				for _, f := range []uint32{0, ^uint32(0)} {
					var h [8][16]uint32
					var want [16][8]uint32
					var p [16]*byte
					msgs := randMsgs(r, k.lanes, n*BlockSize)
					for l := 0; l < k.lanes; l++ {
						for w := range 8 {
							h[w][l] = r.Uint32()
							want[l][w] = h[w][l]
						}
						p[l] = &msgs[l][0]
						for b := range n {
							refCompress(&want[l], msgs[l][b*BlockSize:], tc+uint64(b)*BlockSize, f != 0 && b == n-1)
						}
					}
					k.k.compress(&h, &p, n, tc, f)
					for l := 0; l < k.lanes; l++ {
						for w := range 8 {
							if h[w][l] != want[l][w] {
								t.Fatalf("%s: t=%#x n=%d f=%#x: lane %d word %d = %#x, want %#x",
									k.name, tc, n, f, l, w, h[w][l], want[l][w])
							}
						}
					}
				}
			}
		}
	}
}
