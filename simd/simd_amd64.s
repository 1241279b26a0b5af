//go:build amd64 && !purego

// Hand-written AVX2 kernels for the simd package; see simd_amd64.go for the Go
// declarations and doc.go for the measurements.
//
// Go assembler operand order is the reverse of Intel's: the destination is
// last and the Intel "first source" is the middle operand. So
//	VPANDN  Y1, Y5, Y1   is  Y1 = ^Y5 & Y1
//	VPMAXUD Y0, Y1, Y5   is  Y5 = max(Y1, Y0)        (unsigned dwords)
//	VPSUBD  Y0, Y1, Y1   is  Y1 = Y1 - Y0
//	VPACKSSDW Y6, Y5, Y5 is  Y5 = pack(Y5, Y6)       (Y5's dwords first in each lane)
//	VPERMD  Y5, Y15, Y5  is  Y5[i] = Y5[Y15[i]]      (Y15 holds the indices)
//
// Broadcasts go through a GPR and an X register (MOVL arg, AX; MOVQ AX, X0;
// VPBROADCASTD X0, Y0) because go vet rejects a 4-byte FP operand on
// VPBROADCASTD. Every kernel ends with VZEROUPPER. Callers pass whole blocks;
// the Go wrappers finish tails.

#include "textflag.h"

// packperm undoes the per-128-bit-lane order of VPACKSSDW+VPACKSSWB. After the
// two packs of dword masks E0..E3 (slots 0-7, 8-15, 16-23, 24-31), the eight
// 4-byte groups hold slots 0-3, 8-11, 16-19, 24-27, 4-7, 12-15, 20-23, 28-31.
// Gathering dwords 0,4,1,5,2,6,3,7 restores slots 0..31 in order.
DATA packperm<>+0(SB)/4, $0
DATA packperm<>+4(SB)/4, $4
DATA packperm<>+8(SB)/4, $1
DATA packperm<>+12(SB)/4, $5
DATA packperm<>+16(SB)/4, $2
DATA packperm<>+20(SB)/4, $6
DATA packperm<>+24(SB)/4, $3
DATA packperm<>+28(SB)/4, $7
GLOBL packperm<>(SB), RODATA|NOPTR, $32

// SWEEP32 sweeps 32 slots: timers at off(SI) (128 bytes), counters at
// coff(DI) (32 bytes). Y0 = broadcast(now), Y15 = packperm. An expired dword
// (t <= now) is one where max(t, now) == now; its mask clears the timer, is
// packed to a byte mask that clears the counter, and is counted with
// VPMOVMSKB+POPCNT into R8. Clobbers Y1-Y9, DX.
#define SWEEP32(off, coff) \
	VMOVDQU off+0(SI), Y1 \
	VMOVDQU off+32(SI), Y2 \
	VMOVDQU off+64(SI), Y3 \
	VMOVDQU off+96(SI), Y4 \
	VPMAXUD Y0, Y1, Y5 \
	VPMAXUD Y0, Y2, Y6 \
	VPMAXUD Y0, Y3, Y7 \
	VPMAXUD Y0, Y4, Y8 \
	VPCMPEQD Y0, Y5, Y5 \
	VPCMPEQD Y0, Y6, Y6 \
	VPCMPEQD Y0, Y7, Y7 \
	VPCMPEQD Y0, Y8, Y8 \
	VPANDN Y1, Y5, Y1 \
	VPANDN Y2, Y6, Y2 \
	VPANDN Y3, Y7, Y3 \
	VPANDN Y4, Y8, Y4 \
	VMOVDQU Y1, off+0(SI) \
	VMOVDQU Y2, off+32(SI) \
	VMOVDQU Y3, off+64(SI) \
	VMOVDQU Y4, off+96(SI) \
	VPACKSSDW Y6, Y5, Y5 \
	VPACKSSDW Y8, Y7, Y7 \
	VPACKSSWB Y7, Y5, Y5 \
	VPERMD Y5, Y15, Y5 \
	VMOVDQU coff(DI), Y9 \
	VPANDN Y9, Y5, Y9 \
	VMOVDQU Y9, coff(DI) \
	VPMOVMSKB Y5, DX \
	POPCNTL DX, DX \
	ADDQ DX, R8

// func sweepAVX2(c *uint8, t *uint32, n int, now uint32) (expired int)
TEXT ·sweepAVX2(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ t+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL now+24(FP), AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y0
	VMOVDQU packperm<>(SB), Y15
	XORQ R8, R8
	SHRQ $6, CX
	JZ sweepdone

sweeploop:
	SWEEP32(0, 0)
	SWEEP32(128, 32)
	ADDQ $256, SI
	ADDQ $64, DI
	DECQ CX
	JNZ sweeploop

sweepdone:
	VZEROUPPER
	MOVQ R8, expired+32(FP)
	RET

// REBASE8 rebases 8 timers in register r: r = max(r, base) - base, Y0 = base.
#define REBASE8(r) \
	VPMAXUD Y0, r, r \
	VPSUBD Y0, r, r

// func rebaseAVX2(t *uint32, n int, base uint32)
TEXT ·rebaseAVX2(SB), NOSPLIT, $0-20
	MOVQ t+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL base+16(FP), AX
	MOVQ AX, X0
	VPBROADCASTD X0, Y0
	SHRQ $6, CX
	JZ rebasedone

rebaseloop:
	VMOVDQU 0(SI), Y1
	VMOVDQU 32(SI), Y2
	VMOVDQU 64(SI), Y3
	VMOVDQU 96(SI), Y4
	VMOVDQU 128(SI), Y5
	VMOVDQU 160(SI), Y6
	VMOVDQU 192(SI), Y7
	VMOVDQU 224(SI), Y8
	REBASE8(Y1)
	REBASE8(Y2)
	REBASE8(Y3)
	REBASE8(Y4)
	REBASE8(Y5)
	REBASE8(Y6)
	REBASE8(Y7)
	REBASE8(Y8)
	VMOVDQU Y1, 0(SI)
	VMOVDQU Y2, 32(SI)
	VMOVDQU Y3, 64(SI)
	VMOVDQU Y4, 96(SI)
	VMOVDQU Y5, 128(SI)
	VMOVDQU Y6, 160(SI)
	VMOVDQU Y7, 192(SI)
	VMOVDQU Y8, 224(SI)
	ADDQ $256, SI
	DECQ CX
	JNZ rebaseloop

rebasedone:
	VZEROUPPER
	RET

// ZEROS32 adds the number of zero bytes among the 32 at off(SI) to R8.
// Y0 = 0. Clobbers r, DX.
#define ZEROS32(off, r) \
	VPCMPEQB off(SI), Y0, r \
	VPMOVMSKB r, DX \
	POPCNTL DX, DX \
	ADDQ DX, R8

// func countZeroAVX2(c *uint8, n int) (zeros int)
TEXT ·countZeroAVX2(SB), NOSPLIT, $0-24
	MOVQ c+0(FP), SI
	MOVQ n+8(FP), CX
	VPXOR Y0, Y0, Y0
	XORQ R8, R8
	SHRQ $7, CX
	JZ countdone

countloop:
	ZEROS32(0, Y1)
	ZEROS32(32, Y2)
	ZEROS32(64, Y3)
	ZEROS32(96, Y4)
	ADDQ $128, SI
	DECQ CX
	JNZ countloop

countdone:
	VZEROUPPER
	MOVQ R8, zeros+16(FP)
	RET
