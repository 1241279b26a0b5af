package blake2s

import (
	"hash"

	"golang.org/x/crypto/blake2s"
)

// Size is the size in bytes of a BLAKE2s-256 digest.
const Size = blake2s.Size

// BlockSize is the BLAKE2s block size in bytes, and the longest prefix
// [SumMany] accepts.
const BlockSize = blake2s.BlockSize

// MaxLanes is the most messages one kernel call hashes at once.
const MaxLanes = 16

// SumMany sets out[i] to the unkeyed BLAKE2s-256 digest of prefix || msgs[i]
// for every i. Every msgs[i] must have the same length; prefix, shared by all
// messages, may be empty and is at most [BlockSize] bytes. It panics if
// len(out) != len(msgs), if the messages differ in length or if the prefix is
// too long: these are programming errors in the caller, never properties of
// the data. Any number of messages may be passed; they are hashed up to
// [MaxLanes] at a time by the kernel [Impl] names, a lone remainder one at a
// time. The result is bit-identical to golang.org/x/crypto/blake2s.
func SumMany[H ~[Size]byte](out []H, prefix []byte, msgs [][]byte) {
	if len(out) != len(msgs) {
		panic("blake2s: SumMany: len(out) != len(msgs)")
	}
	if len(prefix) > BlockSize {
		panic("blake2s: SumMany: prefix longer than BlockSize")
	}
	if len(msgs) == 0 {
		return
	}
	n := len(msgs[0])
	for _, m := range msgs[1:] {
		if len(m) != n {
			panic("blake2s: SumMany: messages of different lengths")
		}
	}
	sumMany(selected, out, prefix, msgs)
}

// Impl names the implementation [SumMany] uses: "avx512" (16 lanes), "avx2"
// (8 lanes) or "generic" (golang.org/x/crypto/blake2s, one message at a
// time; the SIMD paths use it too for a batch of one). It is chosen once, at package initialisation, from
// the CPU's features (golang.org/x/sys/cpu); the environment variable
// LCSYNC_SIMD set to "avx2" or "generic" forces a slower path, and "avx512"
// asks for the fastest (useful to make a test fail when it is not available).
// Builds with the purego tag and on other architectures are always
// "generic".
func Impl() string { return selected.String() }

// sumGeneric hashes each message alone with x/crypto's blake2s.
func sumGeneric[H ~[Size]byte](out []H, prefix []byte, msgs [][]byte) {
	if len(prefix) == 0 {
		for i, m := range msgs {
			out[i] = blake2s.Sum256(m)
		}
		return
	}
	h := newHasher()
	// A copy, so that the caller's prefix does not escape through the
	// hash.Hash interface (which would cost every SumMany call an
	// allocation, on the SIMD paths too).
	pre := append([]byte(nil), prefix...)
	var sum [Size]byte
	for i, m := range msgs {
		h.Reset()
		h.Write(pre)
		h.Write(m)
		out[i] = H(h.Sum(sum[:0]))
	}
}

func newHasher() hash.Hash {
	h, err := blake2s.New256(nil)
	if err != nil {
		// New256 fails only for an over-long key; nil is always valid.
		panic("blake2s: New256(nil): " + err.Error())
	}
	return h
}
