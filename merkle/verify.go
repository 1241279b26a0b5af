package merkle

import (
	"errors"
	"fmt"
)

// ErrMismatch is wrapped by every error reporting that data or hashes do not
// match the hashes they are checked against.
var ErrMismatch = errors.New("merkle: hash mismatch")

// VerifyBlock checks data against the leaf hash of block i. data must be the
// block's real bytes, exactly [Shape.BlockLen] long. A hash mismatch gives an
// error wrapping [ErrMismatch]; a bad index or length gives a plain error.
func (t *Tree) VerifyBlock(i int, data []byte) error {
	if i < 0 || i >= t.shape.n {
		return fmt.Errorf("merkle: block %d out of range (%d blocks)", i, t.shape.n)
	}
	if want := t.shape.BlockLen(i); len(data) != want {
		return fmt.Errorf("merkle: block %d has %d bytes, want %d", i, len(data), want)
	}
	leaf, err := t.Get(0, i)
	if err != nil {
		return err
	}
	if LeafHash(data) != leaf {
		return fmt.Errorf("%w: block %d", ErrMismatch, i)
	}
	return nil
}
