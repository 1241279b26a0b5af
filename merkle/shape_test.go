package merkle

import (
	"strings"
	"testing"
)

func TestCheckBlockSize(t *testing.T) {
	tests := []struct {
		name string
		bs   int
		ok   bool
	}{
		{"min", MinBlockSize, true},
		{"default", DefaultBlockSize, true},
		{"max", MaxBlockSize, true},
		{"4KiB", 4096, true},
		{"zero", 0, false},
		{"negative", -1024, false},
		{"below min", 512, false},
		{"above max", 2 << 20, false},
		{"not a power of two", 3000, false},
		{"min plus one", MinBlockSize + 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBlockSize(tc.bs)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckBlockSize(%d) = %v, want ok=%v", tc.bs, err, tc.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "merkle: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if got, want := CheckBlockSize(3000).Error(), "merkle: block size 3000 is not a power of two between 1 KiB and 1 MiB"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func TestNewShapeEdges(t *testing.T) {
	const bs = 1024
	tests := []struct {
		name                  string
		size                  int64
		blocks, levels, nodes int
		lastLen               int
	}{
		{"empty", 0, 0, 0, 0, 0},
		{"one byte", 1, 1, 1, 1, 1},
		{"bs-1", bs - 1, 1, 1, 1, bs - 1},
		{"bs", bs, 1, 1, 1, bs},
		{"bs+1", bs + 1, 2, 2, 3, 1},
		{"2 blocks short", 2*bs - 7, 2, 2, 3, bs - 7},
		{"3 blocks short", 3*bs - 7, 3, 3, 3 + 2 + 1, bs - 7},
		{"4 blocks short", 4*bs - 7, 4, 3, 4 + 2 + 1, bs - 7},
		{"5 blocks short", 5*bs - 7, 5, 4, 5 + 3 + 2 + 1, bs - 7},
		{"6 blocks short", 6*bs - 7, 6, 4, 6 + 3 + 2 + 1, bs - 7},
		{"7 blocks short", 7*bs - 7, 7, 4, 7 + 4 + 2 + 1, bs - 7},
		{"8 blocks short", 8*bs - 7, 8, 4, 8 + 4 + 2 + 1, bs - 7},
		{"9 blocks short", 9*bs - 7, 9, 5, 9 + 5 + 3 + 2 + 1, bs - 7},
		{"1 Gi blocks", 1 << 40, 1 << 30, 31, 1<<31 - 1, bs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewShape(tc.size, bs)
			if err != nil {
				t.Fatal(err)
			}
			if s.Size() != tc.size || s.BlockSize() != bs {
				t.Errorf("Size, BlockSize = %d, %d", s.Size(), s.BlockSize())
			}
			if s.Blocks() != tc.blocks || s.Levels() != tc.levels || s.Nodes() != tc.nodes {
				t.Fatalf("got %d blocks, %d levels, %d nodes; want %d, %d, %d",
					s.Blocks(), s.Levels(), s.Nodes(), tc.blocks, tc.levels, tc.nodes)
			}
			if s.TopLevel() != tc.levels-1 {
				t.Errorf("TopLevel = %d", s.TopLevel())
			}
			if tc.blocks > 0 {
				if got := s.BlockLen(tc.blocks - 1); got != tc.lastLen {
					t.Errorf("last block length %d, want %d", got, tc.lastLen)
				}
				if got := s.LevelLen(s.TopLevel()); got != 1 {
					t.Errorf("top level has %d nodes", got)
				}
			}
			if s.BlockOffset(tc.blocks) < tc.size {
				t.Errorf("BlockOffset(n) = %d < size", s.BlockOffset(tc.blocks))
			}
		})
	}
}

func TestNewShapeErrors(t *testing.T) {
	tests := []struct {
		name string
		size int64
		bs   int
		msg  string
	}{
		{"bad block size", 10, 3000, "not a power of two"},
		{"negative size", -1, 1024, "negative file size -1"},
		{"too many blocks", MaxBlocks*1024 + 1, 1024, "more than the limit"},
		{"max int64", 1<<63 - 1, 1 << 20, "more than the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewShape(tc.size, tc.bs)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "merkle: ") {
				t.Fatalf("NewShape(%d, %d) = %v, want error containing %q", tc.size, tc.bs, err, tc.msg)
			}
		})
	}
	if _, err := NewShape(MaxBlocks*1024, 1024); err != nil {
		t.Errorf("exactly MaxBlocks blocks: %v", err)
	}
}

// TestShapeGeometry checks the structural invariants of every shape from 0
// to 300 blocks: level lengths halve with rounding up, spans of each level
// partition the leaves, descendants of every node nest, and FlatIndex is a
// bijection onto [0, Nodes()).
func TestShapeGeometry(t *testing.T) {
	const bs = 1024
	for n := 0; n <= 300; n++ {
		s, err := NewShape(int64(n)*bs-int64(min(n, 1))*3, bs)
		if err != nil {
			t.Fatal(err)
		}
		if s.Blocks() != n {
			t.Fatalf("n=%d: Blocks = %d", n, s.Blocks())
		}
		seen := make([]bool, s.Nodes())
		if n > 0 && s.Nodes() >= 2*n+s.Levels() {
			t.Fatalf("n=%d: %d nodes, not < 2n+levels", n, s.Nodes())
		}
		for k := 0; k < s.Levels(); k++ {
			if k > 0 && s.LevelLen(k) != (s.LevelLen(k-1)+1)/2 {
				t.Fatalf("n=%d: LevelLen(%d) = %d, LevelLen(%d) = %d", n, k, s.LevelLen(k), k-1, s.LevelLen(k-1))
			}
			if k < s.TopLevel() && s.LevelLen(k) < 2 {
				t.Fatalf("n=%d: level %d below the top has %d nodes", n, k, s.LevelLen(k))
			}
			next := 0
			for i := 0; i < s.LevelLen(k); i++ {
				first, end := s.Span(k, i)
				if first != next || end <= first {
					t.Fatalf("n=%d: Span(%d, %d) = [%d, %d), want start %d", n, k, i, first, end, next)
				}
				next = end
				for l := 0; l <= k; l++ {
					df, de := s.Descendants(k, i, l)
					sf, _ := s.Span(l, df)
					_, se := s.Span(l, de-1)
					if sf != first || se != end {
						t.Fatalf("n=%d: descendants of (%d, %d) at %d cover [%d, %d), want [%d, %d)", n, k, i, l, sf, se, first, end)
					}
				}
				f := s.FlatIndex(k, i)
				if seen[f] {
					t.Fatalf("n=%d: FlatIndex(%d, %d) = %d twice", n, k, i, f)
				}
				seen[f] = true
			}
			if next != n {
				t.Fatalf("n=%d: level %d spans end at %d", n, k, next)
			}
		}
		if s.LevelLen(s.Levels()) != 0 || s.LevelLen(-1) != 0 || s.HasNode(s.Levels(), 0) || s.HasNode(0, n) {
			t.Fatalf("n=%d: nodes outside the tree reported", n)
		}
	}
}

func TestShapePanicsOnBadNode(t *testing.T) {
	s, err := NewShape(5*1024, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"Span beyond level", func() { s.Span(0, 5) }},
		{"Span negative", func() { s.Span(0, -1) }},
		{"Descendants above node", func() { s.Descendants(1, 0, 2) }},
		{"Descendants negative level", func() { s.Descendants(1, 0, -1) }},
		{"FlatIndex missing level", func() { s.FlatIndex(4, 0) }},
		{"BlockLen beyond", func() { s.BlockLen(5) }},
		{"BlockOffset beyond", func() { s.BlockOffset(6) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic")
				} else if !strings.HasPrefix(r.(string), "merkle: ") {
					t.Errorf("panic %q lacks the package prefix", r)
				}
			}()
			tc.f()
		})
	}
}
