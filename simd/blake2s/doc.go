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
// lengths, prefixes and lane counts, with messages against inaccessible
// pages, call the kernels with counters beyond 2^32 against a word-by-word
// RFC 7693 reference, and fuzz them.
//
// # Measurements
//
// go test -run '^$' -bench 'SumMany|Kernel' -benchtime=100ms -count 2
// ./simd/blake2s, best of 2, on the shared 2-vCPU AMD EPYC development
// machine (Go 1.26.8) while other work kept its load average at 6-9. MB/s of
// message bytes per second of the benchmark thread's CPU time (the cpuMB/s
// metric; wall-clock figures were two to four times lower and erratic).
// "generic" is x/crypto/blake2s (SSE4.1) one message at a time; the kernel
// columns call one kernel with 1..16 busy lanes, the other lanes idle.
//
//	message  busy lanes  generic  avx2   avx512
//	64 B              1      118    108     128
//	                  2             222     255
//	                  4             437     518
//	                  8             784     913
//	                 16               -    1440
//	1 KiB             1      301    274     316
//	                  2             539     684
//	                  4             899    1321
//	                  8            2102    2426
//	                 16               -    4856
//	4 KiB             1      328    295     353
//	                  2             578     752
//	                  4            1144    1063
//	                  8            2369    2393
//	                 16               -    4903
//	16 KiB            1      324    269     290
//	                  2             547     604
//	                  4             955    1474
//	                  8            1958    2716
//	                 16               -    5270
//
// A kernel call costs about the same whatever the number of busy lanes, and
// one busy lane about what x/crypto costs for one message, so a batch of two
// or more goes to a kernel. On this CPU, whose AVX-512 units are as wide as
// the registers, a call of the 16-lane kernel costs no more than one of the
// 8-lane AVX2 kernel, so the avx512 path uses it for every batch of two or
// more. Full batches of 16 KiB leaves run 16x (AVX-512) and 8x (AVX2) faster
// than x/crypto per core; 64-byte inner nodes 12x and 7x.
package blake2s
