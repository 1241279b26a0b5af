package blake2s

// impl is one implementation of SumMany.
type impl int

const (
	implGeneric impl = iota // x/crypto, one message at a time
	implAVX2                // 8-lane AVX2 kernel
	implAVX512              // 16-lane AVX-512 kernel
)

func (i impl) String() string {
	switch i {
	case implAVX2:
		return "avx2"
	case implAVX512:
		return "avx512"
	}
	return "generic"
}

// choose returns the implementation to use: the best the CPU supports
// (best), lowered to what the LCSYNC_SIMD environment variable asks for
// (env). An unknown or empty env, or one asking for more than best, leaves
// best.
func choose(best impl, env string) impl {
	want := best
	switch env {
	case "generic":
		want = implGeneric
	case "avx2":
		want = implAVX2
	}
	return min(want, best)
}
