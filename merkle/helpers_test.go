package merkle

import (
	"encoding/binary"
	"io"

	"golang.org/x/crypto/blake2s"
)

// patternByte is the data formula shared with testdata/gen_vectors.py.
func patternByte(i int64) byte { return byte(7*i + i>>8) }

// patternBytes returns the first size bytes of the pattern.
func patternBytes(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = patternByte(int64(i))
	}
	return b
}

// patternReader is an io.ReaderAt over size bytes of the pattern, generated
// on the fly so huge files cost no memory. The pattern repeats every 64 KiB.
type patternReader struct {
	size   int64
	period []byte
}

const patternPeriod = 1 << 16

func newPatternReader(size int64) *patternReader {
	return &patternReader{size: size, period: patternBytes(2 * patternPeriod)}
}

func (r *patternReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < r.size {
		start := int(off % patternPeriod)
		c := copy(p[n:], r.period[start:start+patternPeriod])
		c = int(min(int64(c), r.size-off))
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// refLevels is a deliberately naive reference for the tree of data: levels
// bottom-up, hashed with blake2s.Sum256 on freshly built buffers.
func refLevels(data []byte, bs int) [][][32]byte {
	var levels [][][32]byte
	var leaves [][32]byte
	for off := 0; off < len(data); off += bs {
		end := min(off+bs, len(data))
		leaves = append(leaves, blake2s.Sum256(append([]byte{0}, data[off:end]...)))
	}
	if len(leaves) == 0 {
		return nil
	}
	levels = append(levels, leaves)
	for len(levels[len(levels)-1]) > 1 {
		cur := levels[len(levels)-1]
		var next [][32]byte
		for j := 0; j < len(cur); j += 2 {
			if j+1 < len(cur) {
				buf := append([]byte{1}, cur[j][:]...)
				next = append(next, blake2s.Sum256(append(buf, cur[j+1][:]...)))
			} else {
				next = append(next, cur[j])
			}
		}
		levels = append(levels, next)
	}
	return levels
}

// refRoot is the reference root of data.
func refRoot(data []byte, bs int) Hash {
	levels := refLevels(data, bs)
	var top [32]byte
	if len(levels) > 0 {
		top = levels[len(levels)-1][0]
	}
	buf := []byte{2}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(data)))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(bs))
	return blake2s.Sum256(append(buf, top[:]...))
}
