package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2s"
)

// TestUpdateDirectory checks UpdateDirectory against EncodeDirectory of the whole changed
// directory, byte for byte, over random additions, replacements and removals: directories
// cut by the names' hashes, by the 4,096-entry cap (names that never end a page, where an
// insertion moves every later cut) and by the 1 MiB cap (long symlink targets), and across
// the paging threshold both ways.
func TestUpdateDirectory(t *testing.T) {
	noCut := func(name string) bool {
		h := blake2s.Sum256([]byte(name))
		return (int(h[0])|int(h[1])<<8)&pageMask != 0
	}
	cases := []struct {
		name   string
		n      int
		accept func(string) bool
		target int // symlink target length; 0 for files
	}{
		{"hash cuts", 3000, nil, 0},
		{"count cuts", 5000, noCut, 0},
		{"byte cuts", 400, nil, 3000},
		{"around the threshold", 900, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			entry := func(name string, v int) ObjectEntry {
				e := ObjectEntry{Entry: Entry{Name: name, Type: EntryFile, Mode: 0o644, MTime: int64(v), Size: int64(v) + 1, BlockShift: 14}}
				if tc.target > 0 {
					e.Type, e.Size, e.BlockShift = EntrySymlink, 0, 0
					e.Target = strings.Repeat("t", tc.target-v%100)
				} else {
					e.Top[0] = byte(v) | 1
				}
				return e
			}
			names := func() string {
				for {
					n := fmt.Sprintf("n%07d", rng.IntN(10*tc.n))
					if tc.accept == nil || tc.accept(n) {
						return n
					}
				}
			}
			cur := map[string]ObjectEntry{}
			for len(cur) < tc.n {
				n := names()
				cur[n] = entry(n, rng.IntN(1000))
			}
			sorted := func() []ObjectEntry {
				es := make([]ObjectEntry, 0, len(cur))
				for _, e := range cur {
					es = append(es, e)
				}
				slices.SortFunc(es, func(a, b ObjectEntry) int { return strings.Compare(a.Name, b.Name) })
				return es
			}
			objs, err := EncodeDirectory(sorted())
			if err != nil {
				t.Fatal(err)
			}
			paged := 0
			for round := range 30 {
				var cs []DirChange
				seen := map[string]bool{}
				k := 1 + rng.IntN(12)
				if tc.name == "around the threshold" {
					k = 1 + rng.IntN(400) // big swings across 64 KiB
				}
				for range k {
					var n string
					if rng.IntN(2) == 0 && len(cur) > 0 {
						for n = range cur {
							break
						}
					} else {
						n = names()
					}
					if seen[n] {
						continue
					}
					seen[n] = true
					switch _, had := cur[n]; {
					case had && rng.IntN(3) == 0:
						delete(cur, n)
						cs = append(cs, DirChange{Name: n})
					default:
						e := entry(n, rng.IntN(1000))
						cur[n] = e
						cs = append(cs, DirChange{Name: n, Entry: &e})
					}
				}
				slices.SortFunc(cs, func(a, b DirChange) int { return strings.Compare(a.Name, b.Name) })
				got, err := UpdateDirectory(objs, cs)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				want, err := EncodeDirectory(sorted())
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("round %d: %d objects, want %d", round, len(got), len(want))
				}
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("round %d: object %d of %d differs", round, i, len(want))
					}
				}
				if len(got) > 1 {
					paged++
				}
				objs = got
			}
			if paged == 0 {
				t.Fatal("the directory was never paged: the case tests nothing")
			}
		})
	}
}

// TestUpdateDirectoryRefuses checks that bad changes are refused, not encoded.
func TestUpdateDirectoryRefuses(t *testing.T) {
	objs, err := EncodeDirectory(bigDir(3000))
	if err != nil {
		t.Fatal(err)
	}
	good := ObjectEntry{Entry: Entry{Name: "zz", Type: EntryFile, BlockShift: 14}}
	page := ObjectEntry{Entry: Entry{Name: "zz", Type: EntryPage}, ID: [HashLen]byte{1}}
	for name, cs := range map[string][]DirChange{
		"unsorted":   {{Name: "zz", Entry: &good}, {Name: "aa"}},
		"misnamed":   {{Name: "yy", Entry: &good}},
		"page entry": {{Name: "zz", Entry: &page}},
	} {
		if _, err := UpdateDirectory(objs, cs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := UpdateDirectory(append(objs[:1:1], objs[2:]...), nil); err == nil {
		t.Error("a page missing: accepted")
	}
}
