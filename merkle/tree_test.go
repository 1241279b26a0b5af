package merkle

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// buildBytes builds the tree of data with default workers or fails the test.
func buildBytes(t testing.TB, data []byte, bs int) *Tree {
	t.Helper()
	tree, err := Build(context.Background(), bytes.NewReader(data), int64(len(data)), bs, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestBuildMatchesReference compares Build with the naive reference on
// random data, for sizes around block and power-of-two boundaries and for
// several worker counts.
func TestBuildMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const bs = 1024
	sizes := []int{0, 1, bs - 1, bs, bs + 1, 2 * bs, 3*bs + 1, 4 * bs, 4*bs + 1, 7*bs + 100, 64 * bs, 65*bs - 1, 300*bs + 17}
	for _, size := range sizes {
		data := randomBytes(rng, size)
		want := refLevels(data, bs)
		for _, workers := range []int{1, 2, 5, 0} {
			t.Run(fmt.Sprintf("size%d/workers%d", size, workers), func(t *testing.T) {
				tree, err := Build(context.Background(), bytes.NewReader(data), int64(size), bs, workers)
				if err != nil {
					t.Fatal(err)
				}
				if tree.Shape().Levels() != len(want) {
					t.Fatalf("%d levels, want %d", tree.Shape().Levels(), len(want))
				}
				for k, lvl := range want {
					got := tree.Level(k)
					if len(got) != len(lvl) {
						t.Fatalf("level %d has %d nodes, want %d", k, len(got), len(lvl))
					}
					for i := range lvl {
						if got[i] != Hash(lvl[i]) {
							t.Fatalf("node (%d, %d) differs", k, i)
						}
					}
				}
				if tree.Root() != refRoot(data, bs) {
					t.Fatal("root differs from reference")
				}
			})
		}
	}
}

// TestFoldDescendants checks §1.4: folding the descendants of any node at
// any level below it yields the node.
func TestFoldDescendants(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 40; n++ {
		tree := buildBytes(t, randomBytes(rng, n*1024-rng.IntN(1024)), 1024)
		s := tree.Shape()
		for k := 0; k < s.Levels(); k++ {
			for i := 0; i < s.LevelLen(k); i++ {
				for l := 0; l <= k; l++ {
					run := tree.Run(k, i, l)
					if got := Fold(run); got != tree.Node(k, i) {
						t.Fatalf("n=%d: Fold of (%d, %d) at level %d (%d hashes) differs", n, k, i, l, len(run))
					}
				}
			}
		}
		if Fold(tree.Level(0)) != tree.Top() {
			t.Fatalf("n=%d: Fold(leaves) != Top", n)
		}
	}
}

func TestFoldEdges(t *testing.T) {
	a, b, c := LeafHash([]byte("a")), LeafHash([]byte("b")), LeafHash([]byte("c"))
	tests := []struct {
		name string
		run  []Hash
		want Hash
	}{
		{"empty", nil, Hash{}},
		{"one", []Hash{a}, a},
		{"two", []Hash{a, b}, NodeHash(a, b)},
		{"three promotes", []Hash{a, b, c}, NodeHash(NodeHash(a, b), c)},
		{"four", []Hash{a, b, c, a}, NodeHash(NodeHash(a, b), NodeHash(c, a))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			saved := append([]Hash(nil), tc.run...)
			if got := Fold(tc.run); got != tc.want {
				t.Fatalf("Fold = %s, want %s", got, tc.want)
			}
			for i := range saved {
				if saved[i] != tc.run[i] {
					t.Fatal("Fold modified its input")
				}
			}
		})
	}
}

func TestFromLeavesMatchesBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, bs := range []int{1024, 4096} {
		// 9000 KiB at 1 KiB gives level 1 with 4500 nodes: the parallel path.
		for _, size := range []int{0, 1, 5*bs - 3, 9000 * 1024} {
			t.Run(fmt.Sprintf("bs%d/size%d", bs, size), func(t *testing.T) {
				tree := buildBytes(t, randomBytes(rng, size), bs)
				again, err := FromLeaves(tree.Shape(), tree.Level(0))
				if err != nil {
					t.Fatal(err)
				}
				if again.Root() != tree.Root() || !equalNodes(again, tree) {
					t.Fatal("FromLeaves(Level(0)) differs from Build")
				}
			})
		}
	}
}

func equalNodes(a, b *Tree) bool {
	if a.Shape() != b.Shape() {
		return false
	}
	for k := 0; k < a.Shape().Levels(); k++ {
		for i, h := range a.Level(k) {
			if b.Node(k, i) != h {
				return false
			}
		}
	}
	return true
}

func TestFromLeavesErrors(t *testing.T) {
	s, err := NewShape(3*1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		shape  Shape
		leaves []Hash
	}{
		{"too few", s, make([]Hash, 2)},
		{"too many", s, make([]Hash, 4)},
		{"zero shape", Shape{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromLeaves(tc.shape, tc.leaves); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestTreeAccessors(t *testing.T) {
	data := patternBytes(5*1024 - 10)
	tree := buildBytes(t, data, 1024)
	if tree.Leaf(4) != LeafHash(data[4096:]) {
		t.Error("Leaf(4) is not the hash of the short last block")
	}
	if tree.Node(0, 2) != tree.Leaf(2) {
		t.Error("Node(0, i) != Leaf(i)")
	}
	if tree.Node(1, 2) != tree.Leaf(4) {
		t.Error("odd last node not promoted")
	}
	if tree.Top() != tree.Node(3, 0) {
		t.Error("Top != Node(top level, 0)")
	}
	if tree.Root() != RootOf(tree.Shape(), tree.Top()) {
		t.Error("Root != RootOf(shape, top)")
	}
	if tree.Level(4) != nil || tree.Level(-1) != nil {
		t.Error("Level outside the tree not nil")
	}
	lvl := tree.Level(1)
	if cap(lvl) != len(lvl) {
		t.Error("Level view has spare capacity: an append would overwrite the tree")
	}
	empty := buildBytes(t, nil, 1024)
	if !empty.Top().IsZero() || empty.Shape().Levels() != 0 || empty.Level(0) != nil {
		t.Error("empty tree is not empty")
	}
}

func TestParseHash(t *testing.T) {
	h := LeafHash([]byte("x"))
	got, err := ParseHash(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHash(String()) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "00", h.String() + "00", "zz" + h.String()[2:]} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}
