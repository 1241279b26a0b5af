package bloom

import (
	"fmt"
	"math"
)

// Defaults applied to zero Config fields.
const (
	// DefaultCapacity is the number of groups a default filter holds at
	// DefaultFalsePositive.
	DefaultCapacity = 100_000
	// DefaultFalsePositive is the default false-positive rate at capacity.
	DefaultFalsePositive = 0.01
)

// Sizing limits.
const (
	// MaxSlots bounds the number of slots (5 bytes each, so 320 MiB) so that no
	// configuration can ask for an unbounded allocation.
	MaxSlots = 1 << 26
	// MaxHashes is the largest number of indices per group.
	MaxHashes = 16
)

// Config sizes a Filter. The zero value gives the defaults.
type Config struct {
	// Capacity is the number of distinct groups the filter is sized for;
	// 0 means DefaultCapacity.
	Capacity int
	// FalsePositive is the wanted false-positive rate when Capacity groups
	// are present, in (0, 1); 0 means DefaultFalsePositive.
	FalsePositive float64
}

// size returns the slot count m and the hash count k for cfg:
// m = ceil(-n ln p / ln²2) rounded up to a multiple of 64, and
// k = round(m/n ln 2) clamped to [1, MaxHashes].
func (cfg Config) size() (m, k int, err error) {
	n, p := cfg.Capacity, cfg.FalsePositive
	if n == 0 {
		n = DefaultCapacity
	}
	if p == 0 {
		p = DefaultFalsePositive
	}
	if n < 0 {
		return 0, 0, fmt.Errorf("bloom: capacity %d is negative", n)
	}
	if !(p > 0 && p < 1) { // also rejects NaN
		return 0, 0, fmt.Errorf("bloom: false-positive rate %v is not in (0, 1)", p)
	}
	fm := math.Ceil(-float64(n) * math.Log(p) / (math.Ln2 * math.Ln2))
	if fm > MaxSlots {
		return 0, 0, fmt.Errorf("bloom: capacity %d at false-positive rate %v needs %.0f slots, more than the limit of %d", n, p, fm, MaxSlots)
	}
	m = (int(fm) + 63) &^ 63
	k = int(math.Round(float64(m) / float64(n) * math.Ln2))
	return m, min(max(k, 1), MaxHashes), nil
}
