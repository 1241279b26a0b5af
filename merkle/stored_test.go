package merkle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
)

// memStore is a LeafStore in memory that counts its reads.
type memStore struct {
	mu    sync.Mutex
	b     []byte
	reads int
}

func (m *memStore) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if need := int(off) + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memStore) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestBuildStoredMatchesBuild checks that a stored tree has every node, the
// root and the encoding of the tree held whole, across sizes with a short
// last unit and a short last block, and resident budgets from 1 node up.
func TestBuildStoredMatchesBuild(t *testing.T) {
	const bs = 1 << 10
	for _, blocks := range []int{1, 2, 3, 64, 100, 257, 1000} {
		for _, maxNodes := range []int{1, 3, 16, 5000} {
			size := int64(blocks*bs - bs/3)
			if blocks == 1 {
				size = bs / 2
			}
			t.Run(fmt.Sprintf("blocks=%d/max=%d", blocks, maxNodes), func(t *testing.T) {
				data := patternBytes(int(size))
				want, err := Build(context.Background(), bytes.NewReader(data), size, bs, 2)
				if err != nil {
					t.Fatal(err)
				}
				st := &memStore{}
				got, err := BuildStored(context.Background(), bytes.NewReader(data), size, bs, 2, maxNodes, st)
				if err != nil {
					t.Fatal(err)
				}
				s := got.Shape()
				if low := got.Resident(); low != ResidentLevel(s, maxNodes) || (s.LevelLen(low) > maxNodes && low > 0) {
					t.Fatalf("resident from level %d with at most %d nodes a level (%s)", low, maxNodes, s)
				}
				if got.Root() != want.Root() {
					t.Fatalf("root %s, want %s", got.Root(), want.Root())
				}
				for k := range s.Levels() {
					for i := range s.LevelLen(k) {
						h, err := got.Get(k, i)
						if err != nil || h != want.Node(k, i) || got.Node(k, i) != h {
							t.Fatalf("node (%d, %d) = %s, %v; want %s", k, i, h, err, want.Node(k, i))
						}
					}
					all, err := got.Hashes(k, 0, s.LevelLen(k), nil)
					if err != nil || !equalHashes(all, want.Level(k)) {
						t.Fatalf("level %d: %v", k, err)
					}
				}
				enc, err := got.MarshalBinary()
				wenc, _ := want.MarshalBinary()
				if err != nil || !bytes.Equal(enc, wenc) {
					t.Fatalf("encoding differs (%v)", err)
				}
				for i := range s.Blocks() {
					off := s.BlockOffset(i)
					if err := got.VerifyBlock(i, data[off:off+int64(s.BlockLen(i))]); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStoredTreeMemory checks that the resident levels stay within the
// budget whatever the size: 256 MiB in 1 KiB blocks (256 Ki blocks, generated
// on the fly) keeps under 2 × 1024 nodes in memory, and the levels below come
// from the store, one unit at a time.
func TestStoredTreeMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 256 MiB")
	}
	const size = 256 << 20
	st := &memStore{}
	tr, err := BuildStored(context.Background(), newPatternReader(size), size, 1<<10, 0, 1024, st)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Resident() != 8 || len(tr.nodes) >= 2*1024 {
		t.Fatalf("resident from level %d, %d nodes", tr.Resident(), len(tr.nodes))
	}
	if tr.Level(0) != nil || tr.Level(8) == nil {
		t.Fatal("Level should give the resident levels only")
	}
	if len(st.b) != 32<<18 {
		t.Fatalf("store holds %d bytes, want the 256 Ki leaves", len(st.b))
	}
	reads := st.reads
	if _, err := tr.Hashes(0, 0, 1<<9, nil); err != nil || st.reads-reads != 2 {
		t.Fatalf("two units read %d times (%v)", st.reads-reads, err)
	}
	if _, err := tr.Hashes(3, 32, 33, nil); err != nil || st.reads-reads != 2 {
		t.Fatalf("the cached unit was read again (%v)", err)
	}
}

// TestStoredTreeDamage checks that a damaged store is an error wrapping
// ErrMismatch, never a wrong hash, and that out-of-range runs fail.
func TestStoredTreeDamage(t *testing.T) {
	const bs, size = 1 << 10, 300 << 10
	data := patternBytes(size)
	st := &memStore{}
	tr, err := BuildStored(context.Background(), bytes.NewReader(data), size, bs, 1, 8, st)
	if err != nil {
		t.Fatal(err)
	}
	st.b[32*200] ^= 1
	if _, err := tr.Get(0, 200); !errors.Is(err, ErrMismatch) {
		t.Fatalf("damaged leaf: %v", err)
	}
	if _, err := tr.Get(2, 50); !errors.Is(err, ErrMismatch) {
		t.Fatalf("node above a damaged leaf: %v", err)
	}
	if err := tr.VerifyBlock(200, data[200*bs:201*bs]); !errors.Is(err, ErrMismatch) {
		t.Fatalf("VerifyBlock over a damaged store: %v", err)
	}
	if _, err := tr.Get(0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Hashes(0, 299, 301, nil); err == nil {
		t.Fatal("a run past the level was read")
	}
	if _, err := tr.MarshalBinary(); !errors.Is(err, ErrMismatch) {
		t.Fatalf("MarshalBinary over a damaged store: %v", err)
	}
	// Short read of the source, and cancellation.
	if _, err := BuildStored(context.Background(), bytes.NewReader(data[:size/2]), size, bs, 2, 8, &memStore{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short source: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BuildStored(ctx, bytes.NewReader(data), size, bs, 2, 8, &memStore{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
