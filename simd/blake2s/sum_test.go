package blake2s

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/blake2s"
)

// digest is a named digest type, as merkle.Hash is, to exercise ~[Size]byte.
type digest [Size]byte

// want is the x/crypto digest of prefix || m, the reference.
func want(prefix, m []byte) digest {
	return blake2s.Sum256(append(append([]byte(nil), prefix...), m...))
}

// checkAll hashes msgs with prefix on every implementation this build and
// CPU have, and with the exported SumMany, and compares each digest with
// x/crypto's.
func checkAll(t testing.TB, prefix []byte, msgs [][]byte) {
	t.Helper()
	exp := make([]digest, len(msgs))
	for i, m := range msgs {
		exp[i] = want(prefix, m)
	}
	check := func(name string, sum func([]digest)) {
		got := make([]digest, len(msgs))
		sum(got)
		for i := range got {
			if got[i] != exp[i] {
				t.Fatalf("%s: prefix %d bytes, %d messages of %d bytes: message %d: got %x, want %x",
					name, len(prefix), len(msgs), len(msgs[0]), i, got[i], exp[i])
			}
		}
	}
	for _, im := range impls() {
		check(im.String(), func(out []digest) { sumMany(im, out, prefix, msgs) })
	}
	check("SumMany", func(out []digest) { SumMany(out, prefix, msgs) })
}

// randMsgs returns lanes random messages of n bytes, each in its own
// allocation.
func randMsgs(r *rand.Rand, lanes, n int) [][]byte {
	msgs := make([][]byte, lanes)
	for i := range msgs {
		msgs[i] = make([]byte, n)
		for j := range msgs[i] {
			msgs[i][j] = byte(r.Uint32())
		}
	}
	return msgs
}

// edgeLengths are message lengths around the block boundaries.
var edgeLengths = []int{0, 1, 2, 31, 32, 55, 56, 62, 63, 64, 65, 66, 127, 128, 129,
	191, 192, 193, 255, 256, 257, 1000, 1023, 1024, 1025, 16383, 16384, 16385}

func TestSumManyEdgeLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, pl := range []int{0, 1, 2, 31, 63, 64} {
		prefix := randMsgs(r, 1, pl)[0]
		for _, n := range edgeLengths {
			for _, lanes := range []int{1, 2, 7, 8, 9, 15, 16, 17, 33} {
				checkAll(t, prefix, randMsgs(r, lanes, n))
			}
		}
	}
}

func TestSumManyRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := r.IntN(3000)
		lanes := 1 + r.IntN(40)
		prefix := randMsgs(r, 1, r.IntN(BlockSize+1))[0]
		checkAll(t, prefix, randMsgs(r, lanes, n))
	}
}

// TestSumManyLaneCounts checks every batch size from 1 to 3*MaxLanes+1, so
// every split into 16-lane, 8-lane and single calls is covered, and that
// equal messages in different lanes give equal digests (no lane crosstalk).
func TestSumManyLaneCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for lanes := 1; lanes <= 3*MaxLanes+1; lanes++ {
		msgs := randMsgs(r, lanes, 16384)
		checkAll(t, []byte{0}, msgs)
		same := make([][]byte, lanes)
		for i := range same {
			same[i] = msgs[0]
		}
		checkAll(t, nil, same)
	}
}

// TestSumManyAliasedMessages passes messages that overlap in one buffer, as
// merkle's inner nodes (consecutive 64-byte windows) and leaves do.
func TestSumManyAliasedMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	buf := randMsgs(r, 1, 4096)[0]
	for _, n := range []int{64, 65, 100} {
		var msgs [][]byte
		for off := 0; off+n <= len(buf) && len(msgs) < 40; off += 3 {
			msgs = append(msgs, buf[off:off+n])
		}
		checkAll(t, []byte{1}, msgs)
	}
}

func TestSumManyEmpty(t *testing.T) {
	SumMany([]digest{}, nil, nil) // must not panic
	out := make([]digest, 3)
	SumMany(out, nil, [][]byte{{}, nil, {}})
	for i := range out {
		if out[i] != digest(blake2s.Sum256(nil)) {
			t.Fatalf("empty message %d: %x", i, out[i])
		}
	}
}

func TestSumManyPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"out length":     func() { SumMany(make([]digest, 1), nil, [][]byte{{1}, {2}}) },
		"unequal length": func() { SumMany(make([]digest, 2), nil, [][]byte{{1}, {2, 3}}) },
		"long prefix":    func() { SumMany(make([]digest, 1), make([]byte, BlockSize+1), [][]byte{{1}}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		best impl
		env  string
		want impl
	}{
		{implAVX512, "", implAVX512},
		{implAVX512, "avx512", implAVX512},
		{implAVX512, "avx2", implAVX2},
		{implAVX512, "generic", implGeneric},
		{implAVX512, "bogus", implAVX512},
		{implAVX2, "avx512", implAVX2},
		{implAVX2, "generic", implGeneric},
		{implGeneric, "avx2", implGeneric},
	} {
		if got := choose(c.best, c.env); got != c.want {
			t.Errorf("choose(%v, %q) = %v, want %v", c.best, c.env, got, c.want)
		}
	}
}

// FuzzSumMany cuts the input into lanes equal messages after a prefix and
// compares every implementation with x/crypto.
func FuzzSumMany(f *testing.F) {
	f.Add(uint8(16), uint8(1), bytes.Repeat([]byte{7}, 16*65+1))
	f.Add(uint8(3), uint8(0), []byte("abc"))
	f.Add(uint8(9), uint8(64), make([]byte, 9*130+64))
	f.Fuzz(func(t *testing.T, lanes, pl uint8, data []byte) {
		l := 1 + int(lanes)%(2*MaxLanes)
		p := min(int(pl)%(BlockSize+1), len(data))
		prefix, data := data[:p], data[p:]
		n := len(data) / l
		msgs := make([][]byte, l)
		for i := range msgs {
			msgs[i] = data[i*n : (i+1)*n]
		}
		checkAll(t, prefix, msgs)
	})
}

func ExampleSumMany() {
	blocks := [][]byte{[]byte("block one"), []byte("block two")}
	out := make([][Size]byte, len(blocks))
	SumMany(out, []byte{0x00}, blocks)
	fmt.Printf("%x\n", out[0][:4])
	// Output: 7536bd24
}
