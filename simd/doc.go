// Package simd provides the bulk kernels behind lcsync's counted bloom filter
// and bloom timer (package mld/bloom): sweeping expired slots, rebasing
// timers and counting filled counters, plus the per-group operations on a
// handful of slot indices. The filter holds MLD (RFC 3810, RFC 2710) group
// state; this package knows nothing about groups, only about arrays of uint8
// counters and uint32 expiry ticks. A slot is live iff its timer > now.
//
// # Implementations
//
// Sweep, Rebase and CountNonZero have hand-written AVX2 assembly on amd64
// (simd_amd64.s, documented there: 128-256 bytes per loop iteration, tails
// finished in Go, VZEROUPPER on exit). Sweep compares timers with VPMAXUD +
// VPCMPEQD (unsigned t <= now iff max(t, now) == now), packs the dword masks
// to a byte mask with VPACKSSDW/VPACKSSWB, and restores slot order with a
// VPERMD across the two 128-bit lanes. The choice is made once, at package
// initialisation, from golang.org/x/sys/cpu (AVX2 and POPCNT); Impl reports
// it. Under the purego build tag and on other architectures the generic
// kernels run: branchless pure Go, SWAR (eight byte lanes per uint64) for the
// counters. The plain reference loops are always compiled, and tests compare
// every implementation with them.
//
// # Measurements
//
// go test -run '^$' -bench . -benchtime=200ms -count 3 ./simd, best of 3, on
// the shared 2-vCPU AMD EPYC development machine (Go 1.26.8; other work was
// running, so read these as lower bounds). Throughput counts the bytes each
// call touches: 5 per slot for Sweep, 4 for Rebase, 1 for CountNonZero.
//
//	Sweep (half the slots live, at random)
//	slots   avx2              generic           ref (plain loop)
//	2^16     3.6 µs  90 GB/s   28 µs  11.7 GB/s  218 µs  1.5 GB/s
//	2^18    17.7 µs  74 GB/s  109 µs  12.0 GB/s  1.09 ms 1.2 GB/s
//	2^20      73 µs  72 GB/s  447 µs  11.7 GB/s  4.39 ms 1.2 GB/s
//	2^22     307 µs  68 GB/s  1.81 ms 11.6 GB/s  17.5 ms 1.2 GB/s
//
//	Rebase (half the timers 0, half above the base)
//	2^16    1.67 µs 157 GB/s  21.8 µs 12.0 GB/s  206 µs  1.3 GB/s
//	2^18     8.5 µs 123 GB/s    89 µs 11.8 GB/s  1.03 ms 1.0 GB/s
//	2^20      46 µs  91 GB/s   357 µs 11.8 GB/s  4.41 ms 0.95 GB/s
//	2^22     186 µs  90 GB/s  1.40 ms 12.0 GB/s  17.2 ms 0.98 GB/s
//
//	CountNonZero (half the counters non-zero, at random)
//	2^16    0.58 µs 113 GB/s   4.9 µs 13.4 GB/s   24 µs  2.7 GB/s
//	2^18     2.2 µs 118 GB/s  19.6 µs 13.4 GB/s   97 µs  2.7 GB/s
//	2^20    10.5 µs 100 GB/s    80 µs 13.2 GB/s  392 µs  2.7 GB/s
//	2^22      46 µs  92 GB/s   312 µs 13.4 GB/s  1.56 ms 2.7 GB/s
//
// The reference loops branch on data, so their cost depends on the pattern
// (random here, the worst case); the generic and AVX2 kernels do not.
//
// # The k-index operations
//
// IncAt, DecAt, MinAt, RaiseAt and MinAt32 touch k ~ 7 random slots per MLD
// record or query. They are plain Go in every build because they are bound by
// memory latency, not arithmetic: on a default-sized filter (958,528 slots)
// with 4096 rotating index sets, k = 7, they take IncAt 10.6-11.3 ns,
// DecAt 6.0-11.9 ns, MinAt 8.1-9.2 ns, RaiseAt 7.0-12.0 ns and MinAt32
// 10.6-14.9 ns (ranges over runs on the busy machine). An AVX2 gather was
// tried for MinAt32 (VPGATHERDD of 8 lanes with a k-lane mask, then a VPMINUD
// reduction): it measured 8.3-11.2 ns against 7.0-7.7 ns for the Go loop in
// the same run, so it was not kept. Scatter, which IncAt and RaiseAt would
// need, does not exist before AVX-512.
//
// # Contracts
//
// Callers pass equal-length counters and timers to Sweep (a mismatch panics:
// it is a programming error) and in-range indices to the k-index operations.
// Nothing here is safe for concurrent use on the same arrays: a vector
// read-modify-write would lose concurrent updates, so the arrays have one
// owner that serialises every call.
//
// # Multi-buffer BLAKE2s
//
// The sub-package simd/blake2s hashes up to 16 equal-length messages at once
// with BLAKE2s-256, one per SIMD lane (AVX-512 or AVX2), for the leaves and
// inner nodes of package merkle's trees; its doc has its measurements.
package simd
