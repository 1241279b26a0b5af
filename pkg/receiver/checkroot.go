package receiver

import (
	"context"
	"fmt"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
)

// checkRoot hashes the assembled temporary file once more and compares its top with the
// manifest's before anything replaces the destination. Every block was verified on its way
// in; this is the defence in depth the man page promises (review C1). It reads the file a
// MiB at a time and keeps no tree (merkle.Top): 32 bytes a MiB, whatever the file's size.
// With keep it keeps the leaves instead and returns them (Config.KeepLeaves).
//
// A file whose local copy was cloned on Config.LocalTree's word (f.vouched) has only its
// other blocks, the fetched ones, hashed again: the cloned blocks take their leaves from that
// tree, which its caller vouches for as it does for Config.Known's unchanged files. The root
// folded from the two must still be the manifest's.
func checkRoot(ctx context.Context, f *fileState, keep bool, workers int) ([]merkle.Hash, error) {
	var top merkle.Hash
	var leaves []merkle.Hash
	var err error
	switch {
	case f.vouched:
		leaves, err = vouchedLeaves(ctx, f, workers)
		if err == nil {
			var t *merkle.Tree
			if t, err = merkle.FromLeaves(f.shape, leaves); err == nil {
				top = t.Top()
			}
		}
	case keep:
		var t *merkle.Tree
		if t, err = merkle.Build(ctx, f.tmp, f.shape.Size(), f.shape.BlockSize(), workers); err == nil {
			top = t.Top()
			leaves, err = t.Hashes(0, 0, f.shape.Blocks(), nil)
		}
	default:
		top, err = merkle.Top(ctx, f.tmp, f.shape.Size(), f.shape.BlockSize(), workers)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("receiver: hashing %s once more: %w", f.rel, err)
	}
	if top != merkle.Hash(f.entry.Top) {
		return nil, fmt.Errorf("%w: %s, once assembled, does not hash to the manifest's root", ErrVerify, f.rel)
	}
	if !keep {
		leaves = nil
	}
	return leaves, nil
}

// vouchedLeaves returns the leaves of f's assembled file: the vouched local tree's for the
// blocks reused from the local copy, the others hashed from the temporary file.
func vouchedLeaves(ctx context.Context, f *fileState, workers int) ([]merkle.Hash, error) {
	n := f.shape.Blocks()
	leaves := make([]merkle.Hash, n)
	fetched := bitset.New(uint(n))
	fetched.FlipRange(0, uint(n))
	reuse := f.reuse
	if reuse == nil {
		reuse = bitset.New(0)
	}
	fetched.InPlaceDifference(reuse)
	local := 0
	if f.local != nil {
		local = f.local.Shape().Blocks()
	}
	for b, ok := reuse.NextSet(0); ok && int(b) < n; b, ok = reuse.NextSet(b + 1) {
		if int(b) >= local {
			fetched.Set(b) // not in the local copy: hashed like the fetched ones
			continue
		}
		h, err := f.local.Get(0, int(b))
		if err != nil {
			return nil, err
		}
		leaves[b] = h
	}
	err := hashBlocks(ctx, f.tmp, f, fetched, workers, func(first int, sums []merkle.Hash) error {
		copy(leaves[first:], sums)
		return nil
	})
	return leaves, err
}
