//go:build amd64 && !purego

package blake2s

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/cpu"
)

// selected is the implementation SumMany uses, set once at package
// initialisation and never written again.
var selected = choose(cpuBest(), os.Getenv("LCSYNC_SIMD"))

// cpuBest is the fastest implementation this CPU and OS support (x/sys/cpu
// checks that the OS saves the YMM/ZMM state).
func cpuBest() impl {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2:
		return implAVX512
	case cpu.X86.HasAVX2:
		return implAVX2
	}
	return implGeneric
}

// minLanes is the batch size from which a kernel beats hashing the messages
// one at a time with x/crypto: a kernel call costs about the same whatever
// the number of busy lanes, and one busy lane of it about as much as x/crypto
// on one message (see the kernel benchmarks in doc.go). With AVX-512 the
// 16-lane kernel serves every batch of 2 or more: on this project's AMD EPYC
// a call of it costs no more than one of the 8-lane AVX2 kernel.
const minLanes = 2

// kernel names one of the assembly kernels.
type kernel int

const (
	kernelAVX2   kernel = 8  // hashBlocksAVX2, 8 lanes
	kernelAVX512 kernel = 16 // hashBlocksAVX512, 16 lanes
)

// compress runs kernel k over n >= 1 whole blocks of every lane (see
// asm/gen.go). The calls are direct so that escape analysis sees the kernels'
// noescape pragmas and h and p stay on the caller's stack.
func (k kernel) compress(h *[8][16]uint32, p *[16]*byte, n int, t uint64, f uint32) {
	if k == kernelAVX512 {
		hashBlocksAVX512(h, p, n, t, f)
	} else {
		hashBlocksAVX2(h, p, n, t, f)
	}
}

func sumMany[H ~[Size]byte](im impl, out []H, prefix []byte, msgs [][]byte) {
	for len(msgs) > 0 {
		var k kernel
		switch {
		case len(msgs) < minLanes:
		case im == implAVX512:
			k = kernelAVX512
		case im == implAVX2:
			k = kernelAVX2
		}
		lanes := min(max(1, int(k)), len(msgs))
		if k == 0 {
			sumGeneric(out[:lanes], prefix, msgs[:lanes])
		} else {
			sumLanes(k, out[:lanes], prefix, msgs[:lanes])
		}
		out, msgs = out[lanes:], msgs[lanes:]
	}
}

// sumLanes hashes 1..16 (at most the kernel's lane count) equal-length
// messages with kernel k. Lanes beyond len(msgs) repeat lane 0; their results
// are dropped.
func sumLanes[H ~[Size]byte](k kernel, out []H, prefix []byte, msgs [][]byte) {
	var (
		h   [8][16]uint32
		p   [16]*byte
		buf [16][BlockSize]byte // the first, then the last block of every lane
	)
	for w := range h {
		for l := range h[w] {
			h[w][l] = iv[w]
		}
	}
	for l := range h[0] {
		h[0][l] ^= param
	}
	n := len(msgs[0])
	pl := len(prefix)
	total := uint64(pl + n)
	blocks := max(1, (pl+n+BlockSize-1)/BlockSize)
	for _, m := range msgs {
		raceRead(m)
	}
	// fill points every lane at its block starting at data offset start:
	// straight into the message when the block is whole, else at a
	// zero-padded copy in buf. start < 0 means the block begins with the
	// prefix (only block 0 does).
	fill := func(start int) {
		for l, m := range msgs {
			if start >= 0 && start+BlockSize <= n {
				p[l] = &m[start]
				continue
			}
			b, s := buf[l][:], start
			if s < 0 {
				copy(b, prefix)
				b, s = b[pl:], 0
			}
			c := copy(b, m[min(s, n):])
			clear(b[c:])
			p[l] = &buf[l][0]
		}
		for l := len(msgs); l < len(p); l++ {
			p[l] = p[0]
		}
	}
	if blocks == 1 {
		fill(-pl)
		k.compress(&h, &p, 1, total, ^uint32(0))
	} else {
		fill(-pl)
		k.compress(&h, &p, 1, BlockSize, 0)
		if mid := blocks - 2; mid > 0 {
			fill(BlockSize - pl)
			k.compress(&h, &p, mid, 2*BlockSize, 0)
		}
		fill((blocks-1)*BlockSize - pl)
		k.compress(&h, &p, 1, total, ^uint32(0))
	}
	for l := range out {
		for w := range h {
			binary.LittleEndian.PutUint32(out[l][4*w:], h[w][l])
		}
	}
}

// iv is the BLAKE2s initialisation vector (RFC 7693 §2.6).
var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// param is the parameter block word XORed into h[0] (RFC 7693 §2.5): digest
// length 32, no key, fanout 1, depth 1.
const param = 0x01010000 | Size
