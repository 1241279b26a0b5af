// Package blake2s hashes many equal-length messages at once with
// BLAKE2s-256 (RFC 7693), one message per 32-bit SIMD lane: 16 lanes with
// AVX-512, 8 with AVX2. lcsync's merkle trees (package merkle) hash thousands
// of independent leaves of the same size, 0x00 || block, and as many inner
// nodes, 0x01 || left || right: the ideal case for multi-buffer hashing,
// where x/crypto's one-message-at-a-time code leaves most of the vector unit
// idle.
//
// # Implementations
//
// The kernels (blake2s_amd64.s) are generated with avo by asm/gen.go, which
// documents them; the generator is a module of its own so that avo is not a
// dependency of lcsync. Each compresses whole 64-byte blocks of 8 or 16 lanes
// from a transposed state; the Go driver builds the first block of every
// message (prefix and first bytes) and the zero-padded last block in scratch
// buffers and points the lanes straight into the messages for the blocks in
// between, so messages are never copied. Lanes beyond a short batch repeat
// lane 0. The AVX2 kernel keeps v0..v15 in the sixteen YMM registers and the
// message words on the stack, rotating by 16 and 8 with VPSHUFB and by 12 and
// 7 with shifts through a spilled register; the AVX-512 kernel keeps the
// message words in Z16..Z31 and rotates with VPRORD.
//
// [Impl] names the path chosen at start-up from golang.org/x/sys/cpu: the
// environment variable LCSYNC_SIMD=generic|avx2|avx512 forces a lower one
// for tests, and the purego build tag (or another architecture) selects the
// generic path, x/crypto/blake2s one message at a time. Every path is
// bit-identical to x/crypto/blake2s; the tests compare them over random
// lengths, prefixes and lane counts and fuzz them.
package blake2s
