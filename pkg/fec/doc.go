// Package fec computes and applies the parity shards of lcsync's forward error correction
// (PROTOCOL.md §5.6).
//
// A block is cut into shards of the sender's piece size (the last one zero-padded), shards are
// grouped into stripes of at most wire.ParityStripe, and each stripe gets up to
// wire.ParityLayers systematic Reed-Solomon parity shards over GF(2^8) (the erasure code of
// RFC 5510 §8, with the matrix of §5.6: the rows of a Vandermonde matrix times the inverse of
// its top square). Parity shard j does not depend on how many parity shards are computed, so a
// sender computes only the layers someone joined and a receiver decodes with whichever layers
// it got. The arithmetic is github.com/klauspost/reedsolomon's; this package fixes the
// geometry and checks the padding.
package fec
