package fec

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"

	"github.com/lcsync/lcsync/pkg/wire"
)

// ErrTooFew is returned by Reconstruct when a stripe misses more data shards than it has
// parity shards.
var ErrTooFew = errors.New("fec: too few shards to rebuild the stripe")

// ErrBadParity is returned by Reconstruct when a rebuilt shard's zero padding is not zero: the
// parity did not come from this block.
var ErrBadParity = errors.New("fec: parity does not match the block")

// Codec encodes and decodes parity shards. Its zero value is ready to use and it is safe for
// concurrent use; it keeps one Reed-Solomon matrix per stripe shape it has seen.
type Codec struct {
	mu   sync.Mutex
	encs map[[2]int]reedsolomon.Encoder
	pads sync.Pool
}

// Stripe returns the data shards [first, end) of stripe s of a block of n bytes cut into
// shards of size bytes, or ok=false when the geometry is invalid (see wire.ParityShards) or s
// is past the last stripe.
func Stripe(n, size, s int) (first, end int, ok bool) {
	shards, stripes, ok := wire.ParityShards(n, size)
	if !ok || s < 0 || s >= stripes {
		return 0, 0, false
	}
	first = s * wire.ParityStripe
	return first, min(first+wire.ParityStripe, shards), true
}

func (c *Codec) encoder(k, m int) (reedsolomon.Encoder, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := [2]int{k, m}
	if e, ok := c.encs[key]; ok {
		return e, nil
	}
	e, err := reedsolomon.New(k, m, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		return nil, fmt.Errorf("fec: a code of %d data and %d parity shards: %w", k, m, err)
	}
	if c.encs == nil {
		c.encs = map[[2]int]reedsolomon.Encoder{}
	}
	c.encs[key] = e
	return e, nil
}

func (c *Codec) pad(size int) []byte {
	if b, ok := c.pads.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:size]
	}
	return make([]byte, size)
}

func (c *Codec) unpad(b []byte) { c.pads.Put(&b) }

// shard returns data shard i of block as a size-byte slice: a view of block, or for a short
// last shard a zero-padded copy (padded reports which; give it back with unpad).
func (c *Codec) shard(block []byte, size, i int) (s []byte, padded bool) {
	lo := i * size
	if lo+size <= len(block) {
		return block[lo : lo+size : lo+size], false
	}
	s = c.pad(size)
	clear(s[copy(s, block[lo:]):])
	return s, true
}

// Encode computes parity layers [0, len(dst)) of stripe s of block, cut into shards of size
// bytes, into dst; each dst[j] must be size bytes long.
func (c *Codec) Encode(block []byte, size, s int, dst [][]byte) error {
	first, end, ok := Stripe(len(block), size, s)
	if !ok || len(dst) == 0 || len(dst) > wire.ParityLayers {
		return fmt.Errorf("fec: cannot encode stripe %d of a %d-byte block in %d-byte shards, %d layers", s, len(block), size, len(dst))
	}
	k := end - first
	e, err := c.encoder(k, len(dst))
	if err != nil {
		return err
	}
	shards := make([][]byte, k+len(dst))
	var pad []byte
	for i := range k {
		var padded bool
		if shards[i], padded = c.shard(block, size, first+i); padded {
			pad = shards[i]
		}
	}
	for j, d := range dst {
		if len(d) != size {
			return fmt.Errorf("fec: parity buffer of %d bytes, want %d", len(d), size)
		}
		shards[k+j] = d
	}
	err = e.Encode(shards)
	if pad != nil {
		c.unpad(pad)
	}
	if err != nil {
		return fmt.Errorf("fec: encoding: %w", err)
	}
	return nil
}

// Reconstruct rebuilds, in block, the data shards of stripe s that have(i) (i the absolute
// shard index) reports missing, from the intact ones and the parity shards: parity[j] is layer
// j's shard (size bytes) or nil. It returns ErrTooFew when there are not enough shards and
// ErrBadParity when a rebuilt short last shard does not end in zeros. Bytes of intact shards
// are not changed.
func (c *Codec) Reconstruct(block []byte, size, s int, have func(i int) bool, parity [][]byte) error {
	first, end, ok := Stripe(len(block), size, s)
	if !ok || len(parity) > wire.ParityLayers {
		return fmt.Errorf("fec: cannot decode stripe %d of a %d-byte block in %d-byte shards", s, len(block), size)
	}
	k := end - first
	missing, avail := 0, 0
	for i := first; i < end; i++ {
		if !have(i) {
			missing++
		}
	}
	for _, p := range parity {
		if p != nil {
			if len(p) != size {
				return fmt.Errorf("fec: parity shard of %d bytes, want %d", len(p), size)
			}
			avail++
		}
	}
	if missing == 0 {
		return nil
	}
	if missing > avail {
		return ErrTooFew
	}
	e, err := c.encoder(k, wire.ParityLayers)
	if err != nil {
		return err
	}
	shards := make([][]byte, k+wire.ParityLayers)
	var pads [][]byte
	for i := range k {
		if have(first + i) {
			sh, padded := c.shard(block, size, first+i)
			if padded {
				pads = append(pads, sh)
			}
			shards[i] = sh
			continue
		}
		p := c.pad(size)
		pads = append(pads, p)
		shards[i] = p[:0]
	}
	for j, p := range parity {
		if p != nil {
			shards[k+j] = p
		}
	}
	defer func() {
		for _, p := range pads {
			c.unpad(p)
		}
	}()
	if err := e.ReconstructData(shards); err != nil {
		return fmt.Errorf("fec: rebuilding: %w", err)
	}
	for i := range k {
		if have(first + i) {
			continue
		}
		lo := (first + i) * size
		n := copy(block[lo:min(lo+size, len(block))], shards[i])
		for _, b := range shards[i][n:] {
			if b != 0 {
				return ErrBadParity
			}
		}
	}
	return nil
}
