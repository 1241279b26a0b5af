// Package merkle builds, verifies, compares and encodes the BLAKE2s-256 merkle
// trees that describe every file lcsync distributes.
//
// The tree is defined in PROTOCOL.md §1; this package is its reference
// implementation. In short: a file of size bytes is cut into blocks of bs
// bytes (a power of two from 1 KiB to 1 MiB, default 16 KiB), the last block
// possibly short. Each block gets a leaf hash, H(0x00 || block). Level k+1
// pairs the nodes of level k, H(0x01 || left || right), and an odd last node
// is promoted unchanged rather than padded. The single node of the top level
// is the top; a zero-length file has no blocks and a top of 32 zero bytes.
// The root, H(0x02 || u64le(size) || u32le(bs) || top), commits to the size,
// the block size and every byte. H is unkeyed BLAKE2s-256 (RFC 7693):
// golang.org/x/crypto/blake2s for single hashes, and the multi-buffer kernels
// of simd/blake2s (16 or 8 messages at once, bit-identical) wherever many
// equal-length messages are hashed together: the leaves of a slab in [Build],
// a batch of blocks in [HashLeaves], the inner nodes of a level and of [Fold].
//
// Nodes are named (level, index), level 0 being the leaves. [Shape] holds
// the geometry of a tree without any hashing: how many blocks and levels
// there are, which leaves a node covers, where a node sits in the top-down
// storage order. [Tree] holds a complete tree: [Build] hashes a file through
// an [io.ReaderAt] with a bounded pool of workers, [FromLeaves] completes a
// tree from its leaf hashes, and [Unmarshal] decodes and checks the binary
// form of PROTOCOL.md §1.5. [Fold] recomputes a node from any run of its
// descendants (§1.4), which is how a receiver verifies a page of nodes
// against a node it already trusts. [Diff] lists the blocks of one tree that
// differ from another, skipping equal subtrees.
//
// [Top] hashes a file as [Build] does but keeps only the fold of each slab,
// 32 bytes a MiB: what checking a file against a known top needs.
//
// [BuildStored] builds a tree that keeps only its upper levels in memory (at
// most about twice a given number of hashes, whatever the file size) and its
// leaf hashes in a [LeafStore]; [Tree.Hashes] and [Tree.Get] read the lower
// levels back a unit at a time, each unit checked against the resident node
// above it.
//
// A Tree is immutable once built and safe for concurrent use. The package
// performs no I/O of its own beyond the reader handed to [Build] or [Top] and the store
// handed to [BuildStored], never logs,
// and reports failures as errors prefixed with "merkle:".
package merkle
