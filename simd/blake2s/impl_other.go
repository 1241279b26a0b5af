//go:build purego || !amd64

package blake2s

// selected is always the generic implementation in this build.
const selected = implGeneric

func sumMany[H ~[Size]byte](_ impl, out []H, prefix []byte, msgs [][]byte) {
	sumGeneric(out, prefix, msgs)
}
