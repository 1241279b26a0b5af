package bloom

import (
	"hash/maphash"
	"net/netip"
)

// indices returns g's k slot indices in f's scratch array, valid until the
// next call. One seeded 64-bit hash of the 16-byte address is split into
// 32-bit halves h1 and h2, each mapped onto [0, m) by a multiply-shift
// (Lemire's reduction, no division), and idx_i = (h1 + i*h2) mod m (double
// hashing, Kirsch and Mitzenmacher) with the step forced odd so that it is
// never zero. IPv4 addresses hash as their IPv4-mapped IPv6 form; zones are
// ignored.
func (f *Filter) indices(g netip.Addr) []uint32 {
	a := g.As16()
	h := maphash.Bytes(f.seed, a[:])
	m := uint64(len(f.counters))
	x := (h & 0xffffffff) * m >> 32
	step := (h>>32)*m>>32 | 1 // m is even, so step <= m-1
	idx := f.idx[:f.k]
	for i := range idx {
		idx[i] = uint32(x)
		x += step
		if x >= m {
			x -= m
		}
	}
	return idx
}
