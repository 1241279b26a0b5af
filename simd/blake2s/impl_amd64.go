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

// Batch sizes from which a kernel beats hashing the messages one at a time
// with x/crypto (SSE4.1, ~1 lane's work per cycle budget of 8 or 16): see the
// kernel benchmarks in doc.go.
const (
	minLanesAVX2   = 2 // 2..8 messages: the 8-lane kernel
	minLanesAVX512 = 9 // 9..16 messages: the 16-lane kernel
)

// kernel compresses n >= 1 whole blocks of every lane, see asm/gen.go.
type kernel func(h *[8][16]uint32, p *[16]*byte, n int, t uint64, f uint32)

func sumMany[H ~[Size]byte](im impl, out []H, prefix []byte, msgs [][]byte) {
	for len(msgs) > 0 {
		var k kernel
		lanes := 1
		switch {
		case im >= implAVX512 && len(msgs) >= minLanesAVX512:
			k, lanes = hashBlocksAVX512, 16
		case im >= implAVX2 && len(msgs) >= minLanesAVX2:
			k, lanes = hashBlocksAVX2, 8
		}
		lanes = min(lanes, len(msgs))
		if k == nil {
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
		k(&h, &p, 1, total, ^uint32(0))
	} else {
		fill(-pl)
		k(&h, &p, 1, BlockSize, 0)
		if mid := blocks - 2; mid > 0 {
			fill(BlockSize - pl)
			k(&h, &p, mid, 2*BlockSize, 0)
		}
		fill((blocks-1)*BlockSize - pl)
		k(&h, &p, 1, total, ^uint32(0))
	}
	for l := range out {
		for w := range h {
			binary.LittleEndian.PutUint32(out[l][4*w:], h[w][l])
		}
	}
}
