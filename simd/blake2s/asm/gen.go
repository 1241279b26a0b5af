// Command asm generates blake2s_amd64.s and blake2s_stub_amd64.go, the
// multi-buffer BLAKE2s kernels of package blake2s, with avo
// (github.com/mmcloughlin/avo). It lives in its own module so that avo is not
// a dependency of lcsync; the generated files are committed. Regenerate them
// from simd/blake2s with go generate.
//
// Each kernel compresses n >= 1 consecutive 64-byte blocks of 8 (AVX2) or 16
// (AVX-512) messages at once, one message per 32-bit SIMD lane, following
// RFC 7693 §3.2. The state is kept transposed: h[w][lane] is word w of the
// chaining value of lane lane (both kernels take [8][16]uint32; the 8-lane
// one uses lanes 0..7, and p[0..7]). Lane i reads its blocks at p[i]+64k, k = 0..n-1;
// block k is compressed with the 64-bit counter t+64k and, when it is the last
// block of the call, with the finalisation flag f (0 or 0xffffffff). The Go
// wrapper builds the first and last blocks of each message in scratch buffers
// and points the lanes at them, so the kernels only ever see whole blocks.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// iv is the BLAKE2s initialisation vector (RFC 7693 §2.6).
var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// sigma is the message schedule (RFC 7693 §2.7).
var sigma = [10][16]int{
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

// The four applications of G in each half of a round: (a, b, c, d) state
// word indices, columns first, then diagonals (RFC 7693 §3.2).
var (
	columns   = [4][4]int{{0, 4, 8, 12}, {1, 5, 9, 13}, {2, 6, 10, 14}, {3, 7, 11, 15}}
	diagonals = [4][4]int{{0, 5, 10, 15}, {1, 6, 11, 12}, {2, 7, 8, 13}, {3, 4, 9, 14}}
)

// Read-only data shared by the kernels.
var ivMem, rot16, rot8 Mem

func main() {
	ConstraintExpr("amd64,!purego")

	ivMem = GLOBL("iv", RODATA|NOPTR)
	for i, w := range iv {
		DATA(4*i, U32(w))
	}
	// VPSHUFB masks: rotating a dword right by 16 takes its bytes 2,3,0,1,
	// by 8 its bytes 1,2,3,0. VPSHUFB indexes bytes within each 128-bit
	// half, so dword k of a half (bytes 4k..4k+3) adds 4k to each index.
	rot16 = GLOBL("rot16", RODATA|NOPTR)
	for i := 0; i < 32; i += 4 {
		k := uint32(i % 16)
		DATA(i, U32((k+2)|(k+3)<<8|k<<16|(k+1)<<24))
	}
	rot8 = GLOBL("rot8", RODATA|NOPTR)
	for i := 0; i < 32; i += 4 {
		k := uint32(i % 16)
		DATA(i, U32((k+1)|(k+2)<<8|(k+3)<<16|k<<24))
	}

	avx2()
	avx512()
	Generate()
}

// Registers common to both kernels. R15 is avoided (clobbered by global
// accesses when dynamically linking), R14 too (g in ABIInternal).
var (
	hp  = RDI // state
	pp  = RSI // lane pointers
	nr  = RCX // blocks left
	tr  = RDX // counter of the current block
	fr  = R8  // finalisation flag of the last block
	off = R9  // byte offset of the current block in every lane
	ptr = RBX // scratch: one lane's pointer
	tmp = RAX // scratch
)

func loadArgs(sig, name string, doc ...string) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)
	Load(Param("h"), hp)
	Load(Param("p"), pp)
	Load(Param("n"), nr)
	Load(Param("t"), tr)
	Load(Param("f"), fr.As32())
	XORQ(off, off)
}

// laneMem is 16 bytes of lane l's current block at byte offset o.
func laneMem(l, o int) Mem {
	MOVQ(Mem{Base: pp, Disp: 8 * l}, ptr)
	return Mem{Base: ptr, Index: off, Scale: 1, Disp: o}
}

// counterWords broadcasts v12 = iv4^t0, v13 = iv5^t1, v14 = iv6^f(last block
// only) and v15 = iv7 through X registers. bcast broadcasts an X register to
// the full vector register.
func counterWords(v []VecPhysical, xs []VecPhysical, bcast func(x, dst VecPhysical)) {
	MOVL(tr.As32(), tmp.As32())
	XORL(U32(iv[4]), tmp.As32())
	MOVQ(tmp, xs[0])
	bcast(xs[0], v[12])
	MOVQ(tr, tmp)
	SHRQ(U8(32), tmp)
	XORL(U32(iv[5]), tmp.As32())
	MOVQ(tmp, xs[1])
	bcast(xs[1], v[13])
	// The flag applies to the last block of the call only.
	XORL(tmp.As32(), tmp.As32())
	CMPQ(nr, U8(1))
	CMOVLEQ(fr.As32(), tmp.As32())
	XORL(U32(iv[6]), tmp.As32())
	MOVQ(tmp, xs[2])
	bcast(xs[2], v[14])
}

// ymm and zmm name the physical vector registers.
func ymm(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

func xmm(i int) VecPhysical {
	return []VecPhysical{X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15}[i]
}

// isa is what differs between the two kernels: the instructions for a
// vector XOR and a vector move, and the rotations by 16 or 8 (d) and by 12
// or 7 (b) of four registers at once; rotb may use spare (c0 of the quartet)
// if it restores it.
type isa struct {
	xor  func(x, y, z Op)
	mov  func(x, y Op)
	rotd func(n int, regs [4]VecPhysical)
	rotb func(n int, regs [4]VecPhysical, spare VecPhysical)
}

// transpose4 turns four rows of four dwords (row[j] holds one lane group's
// words) into four rows of one word of every lane, through t.
func transpose4(row, t, out [4]VecPhysical) {
	VPUNPCKLDQ(row[1], row[0], t[0])
	VPUNPCKHDQ(row[1], row[0], t[1])
	VPUNPCKLDQ(row[3], row[2], t[2])
	VPUNPCKHDQ(row[3], row[2], t[3])
	VPUNPCKLQDQ(t[2], t[0], out[0])
	VPUNPCKHQDQ(t[2], t[0], out[1])
	VPUNPCKLQDQ(t[3], t[1], out[2])
	VPUNPCKHQDQ(t[3], t[1], out[3])
}

// compress emits the part of a kernel after the message load: the state
// set-up, ten rounds with message word w at msg(w), the feed-forward into h
// and the loop back to label for the next block.
func compress(k isa, v []VecPhysical, msg func(w int) Op, label string) {
	Comment("v0..v7 = h, v8..v15 = iv with the counter and flag.")
	for i := 0; i < 8; i++ {
		k.mov(Mem{Base: hp, Disp: 64 * i}, v[i])
	}
	for i := 0; i < 4; i++ {
		VPBROADCASTD(ivMem.Offset(4*i), v[8+i])
	}
	VPBROADCASTD(ivMem.Offset(28), v[15])
	counterWords(v, []VecPhysical{X12, X13, X14}, func(x, d VecPhysical) { VPBROADCASTD(x, d) })

	words := func(s [16]int, first int) [4]Op {
		return [4]Op{msg(s[first]), msg(s[first+2]), msg(s[first+4]), msg(s[first+6])}
	}
	for r := 0; r < 10; r++ {
		Commentf("Round %d.", r)
		s := sigma[r]
		g4(k, v, columns, words(s, 0), words(s, 1))
		g4(k, v, diagonals, words(s, 8), words(s, 9))
	}

	Comment("h ^= v[0..7] ^ v[8..15].")
	for i := 0; i < 8; i++ {
		k.xor(v[i+8], v[i], v[i])
		k.xor(Mem{Base: hp, Disp: 64 * i}, v[i], v[i])
		k.mov(v[i], Mem{Base: hp, Disp: 64 * i})
	}

	ADDQ(U8(64), off)
	ADDQ(U8(64), tr)
	DECQ(nr)
	JNZ(LabelRef(label))
	VZEROUPPER()
	RET()
}

// g4 applies G to the four (a, b, c, d) quartets of q at once, with message
// words x then y (RFC 7693 §3.1).
func g4(k isa, v []VecPhysical, q [4][4]int, x, y [4]Op) {
	var a, b, c, d [4]VecPhysical
	for i := 0; i < 4; i++ {
		a[i], b[i], c[i], d[i] = v[q[i][0]], v[q[i][1]], v[q[i][2]], v[q[i][3]]
	}
	half := func(w [4]Op, rotd, rotb int) {
		for i := 0; i < 4; i++ {
			VPADDD(w[i], a[i], a[i])
		}
		for i := 0; i < 4; i++ {
			VPADDD(b[i], a[i], a[i])
		}
		for i := 0; i < 4; i++ {
			k.xor(a[i], d[i], d[i])
		}
		k.rotd(rotd, d)
		for i := 0; i < 4; i++ {
			VPADDD(d[i], c[i], c[i])
		}
		for i := 0; i < 4; i++ {
			k.xor(c[i], b[i], b[i])
		}
		k.rotb(rotb, b, c[0])
	}
	half(x, 16, 12)
	half(y, 8, 7)
}

// avx2 generates the 8-lane kernel. Sixteen YMM registers hold v0..v15, so
// the transposed message words live on the stack and are added from memory;
// rotations by 16 and 8 are VPSHUFB byte shuffles, by 12 and 7 two shifts and
// an OR through a temporary: c0 of the current G quartet, spilled meanwhile.
func avx2() {
	loadArgs("func(h *[8][16]uint32, p *[16]*byte, n int, t uint64, f uint32)", "hashBlocksAVX2",
		"hashBlocksAVX2 compresses n >= 1 blocks of 8 messages; see gen.go.")
	m := AllocLocal(16 * 32)
	spill := AllocLocal(32)
	v := make([]VecPhysical, 16)
	for i := range v {
		v[i] = ymm(i)
	}

	Label("block")
	Comment("Load the block of every lane and transpose it: m[w] = word w of lanes 0..7.",
		"Row j holds 16 bytes of lane j in its low half and of lane j+4 in its high half;",
		"two rounds of unpacks then give four words of all eight lanes.")
	for g := 0; g < 4; g++ {
		row := [4]VecPhysical{Y0, Y1, Y2, Y3}
		for j := 0; j < 4; j++ {
			VMOVDQU(laneMem(j, 16*g), xmm(j))
			VINSERTI128(U8(1), laneMem(j+4, 16*g), row[j], row[j])
		}
		transpose4(row, [4]VecPhysical{Y4, Y5, Y6, Y7}, row)
		for j := 0; j < 4; j++ {
			VMOVDQU(row[j], m.Offset(32*(4*g+j)))
		}
	}

	k := isa{
		xor: func(x, y, z Op) { VPXOR(x, y, z) },
		mov: func(x, y Op) { VMOVDQU(x, y) },
		rotd: func(n int, regs [4]VecPhysical) {
			mask := map[int]Mem{16: rot16, 8: rot8}[n]
			for _, r := range regs {
				VPSHUFB(mask, r, r)
			}
		},
		rotb: func(n int, regs [4]VecPhysical, spare VecPhysical) {
			VMOVDQU(spare, spill)
			for _, r := range regs {
				VPSRLD(U8(n), r, spare)
				VPSLLD(U8(32-n), r, r)
				VPOR(spare, r, r)
			}
			VMOVDQU(spill, spare)
		},
	}
	compress(k, v, func(w int) Op { return m.Offset(32 * w) }, "block")
}

// avx512 generates the 16-lane kernel: v0..v15 in Z0..Z15, the transposed
// message words in Z16..Z31, native rotations (VPRORD).
func avx512() {
	loadArgs("func(h *[8][16]uint32, p *[16]*byte, n int, t uint64, f uint32)", "hashBlocksAVX512",
		"hashBlocksAVX512 compresses n >= 1 blocks of 16 messages; see gen.go.")
	v := make([]VecPhysical, 16)
	m := make([]VecPhysical, 16)
	for i := range v {
		v[i] = zmm(i)
		m[i] = zmm(16 + i)
	}

	Label("block16")
	Comment("Load the block of every lane and transpose it: m[w] = word w of lanes 0..15.",
		"Row j holds 16 bytes of lanes j, j+4, j+8 and j+12 in its four 128-bit quarters;",
		"two rounds of unpacks then give four words of all sixteen lanes.")
	for g := 0; g < 4; g++ {
		row := [4]VecPhysical{Z0, Z1, Z2, Z3}
		for j := 0; j < 4; j++ {
			VMOVDQU(laneMem(j, 16*g), xmm(j))
			for q := 1; q < 4; q++ {
				VINSERTI32X4(U8(q), laneMem(j+4*q, 16*g), row[j], row[j])
			}
		}
		transpose4(row, [4]VecPhysical{Z4, Z5, Z6, Z7}, [4]VecPhysical{m[4*g], m[4*g+1], m[4*g+2], m[4*g+3]})
	}

	rot := func(n int, regs [4]VecPhysical) {
		for _, r := range regs {
			VPRORD(U8(n), r, r)
		}
	}
	k := isa{
		xor:  func(x, y, z Op) { VPXORD(x, y, z) },
		mov:  func(x, y Op) { VMOVDQU32(x, y) },
		rotd: rot,
		rotb: func(n int, regs [4]VecPhysical, _ VecPhysical) { rot(n, regs) },
	}
	compress(k, v, func(w int) Op { return m[w] }, "block16")
}
