package merkle

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/blake2s"
)

const benchSize = 64 << 20

var benchBlockSizes = []int{16 << 10, 4 << 10}

// rawPass runs one goroutine of blake2s.Sum256 over data in blocks of bs
// bytes: the single-core baseline Build is compared with.
func rawPass(data []byte, bs int) {
	for off := 0; off < len(data); off += bs {
		blake2s.Sum256(data[off:min(off+bs, len(data))])
	}
}

// BenchmarkBuild builds the tree of 64 MiB in memory with the default worker
// count and reports, besides MB/s, its speed relative to one goroutine
// hashing the same bytes with x/crypto (x-vs-raw: ~10 on this project's
// 2-core machine, whose AVX-512 runs 16 leaves at once per core). The
// baseline pass runs, untimed, after every build, so both see the same load
// on a shared machine.
func BenchmarkBuild(b *testing.B) {
	data := patternBytes(benchSize)
	for _, bs := range benchBlockSizes {
		b.Run(fmt.Sprintf("bs=%dKiB", bs>>10), func(b *testing.B) {
			b.SetBytes(benchSize)
			r := bytes.NewReader(data)
			var raw time.Duration
			for b.Loop() {
				if _, err := Build(context.Background(), r, benchSize, bs, 0); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				start := time.Now()
				rawPass(data, bs)
				raw += time.Since(start)
				b.StartTimer()
			}
			b.ReportMetric(raw.Seconds()/b.Elapsed().Seconds(), "x-vs-raw")
		})
	}
}

// BenchmarkBuildStored is BenchmarkBuild keeping 1024 or 64 nodes a level
// in memory (units of 4 and 64 leaves at 16 KiB) and the leaves in a store:
// it should be as fast.
func BenchmarkBuildStored(b *testing.B) {
	data := patternBytes(benchSize)
	for _, maxNodes := range []int{1024, 64} {
		b.Run(fmt.Sprintf("max=%d", maxNodes), func(b *testing.B) {
			b.SetBytes(benchSize)
			r := bytes.NewReader(data)
			for b.Loop() {
				if _, err := BuildStored(context.Background(), r, benchSize, DefaultBlockSize, 0, maxNodes, &memStore{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBlake2sRaw is one goroutine running blake2s.Sum256 over the same
// bytes and block sizes as BenchmarkBuild.
func BenchmarkBlake2sRaw(b *testing.B) {
	data := patternBytes(benchSize)
	for _, bs := range benchBlockSizes {
		b.Run(fmt.Sprintf("bs=%dKiB", bs>>10), func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				rawPass(data, bs)
			}
		})
	}
}

// BenchmarkDiff compares two 64 GiB-file trees (4 Mi leaves at 16 KiB)
// that differ in 16 leaves, the case subtree skipping is for.
func BenchmarkDiff(b *testing.B) {
	s, err := NewShape(64<<30, DefaultBlockSize)
	if err != nil {
		b.Fatal(err)
	}
	leaves := make([]Hash, s.Blocks())
	for i := range leaves {
		leaves[i] = Hash{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}
	}
	want, err := FromLeaves(s, leaves)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(leaves); i += len(leaves) / 16 {
		leaves[i][31] = 1
	}
	have, err := FromLeaves(s, leaves)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if n := Diff(have, want).Count(); n != 16 {
			b.Fatalf("%d blocks differ", n)
		}
	}
}

// BenchmarkNodeHash measures one inner-node hash (65 bytes).
func BenchmarkNodeHash(b *testing.B) {
	var l, r Hash
	b.ReportAllocs()
	for b.Loop() {
		l = NodeHash(l, r)
	}
}

// BenchmarkHashLeaves hashes a batch of 64 blocks of 16 KiB, as a receiver
// verifying completed blocks would, against LeafHash one block at a time.
func BenchmarkHashLeaves(b *testing.B) {
	data := patternBytes(64 * DefaultBlockSize)
	blocks := make([][]byte, 64)
	for i := range blocks {
		blocks[i] = data[i*DefaultBlockSize : (i+1)*DefaultBlockSize]
	}
	out := make([]Hash, len(blocks))
	b.Run("HashLeaves", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			HashLeaves(blocks, out)
		}
	})
	b.Run("LeafHash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			for i, blk := range blocks {
				out[i] = LeafHash(blk)
			}
		}
	})
}

// BenchmarkFold folds a run of 4096 leaf hashes to its top (4095 inner
// nodes, batched), as a receiver checking a page of nodes does.
func BenchmarkFold(b *testing.B) {
	run := make([]Hash, 4096)
	for i := range run {
		run[i] = Hash{byte(i), byte(i >> 8)}
	}
	b.ReportAllocs()
	for b.Loop() {
		Fold(run)
	}
}
