package localsync

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSyncCancelledBeforeStart(t *testing.T) {
	d := t.TempDir()
	writeFile(t, filepath.Join(d, "src", "f"), []byte("x"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Sync(ctx, filepath.Join(d, "src"), filepath.Join(d, "dst"), Options{}); err != context.Canceled {
		t.Fatalf("Sync = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(filepath.Join(d, "dst")); err == nil {
		t.Fatal("a cancelled sync created its destination")
	}
}

// TestSyncCancelledMidCopy cancels from inside the first chunk write of a
// large file, for a new file, an update (reads and clones) and in place.
func TestSyncCancelledMidCopy(t *testing.T) {
	const size = 8 << 20
	tests := []struct {
		name    string
		old     []byte // existing destination content, nil for none
		inplace bool
	}{
		{"new file", nil, false},
		{"update", data(31, size), false},
		{"update in place", data(31, size), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			src, dst := filepath.Join(d, "src"), filepath.Join(d, "dst")
			b := data(30, size)
			copy(b[:size/2], tc.old) // an update keeps half the blocks
			writeFile(t, src, b, 0o644)
			if tc.old != nil {
				writeFile(t, dst, tc.old, 0o644)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			writes := 0
			opt := Options{Inplace: tc.inplace, afterWrite: func() { writes++; cancel() }}
			st, err := Sync(ctx, src, dst, opt)
			if err != context.Canceled {
				t.Fatalf("Sync = %v, want context.Canceled", err)
			}
			if writes != 1 {
				t.Fatalf("%d chunks written after cancelling in the first", writes)
			}
			if st.BytesWritten+st.BytesCloned >= size {
				t.Fatalf("the whole file was copied: %+v", st)
			}
			noTemps(t, d)
			got, err := os.ReadFile(dst)
			switch {
			case tc.old == nil:
				if err == nil {
					t.Fatal("a cancelled copy left a destination file")
				}
			case !tc.inplace:
				if !bytes.Equal(got, tc.old) {
					t.Fatal("a cancelled update changed the destination")
				}
			}
		})
	}
}

// TestSyncCancelledBetweenFiles cancels after the first file.
func TestSyncCancelledBetweenFiles(t *testing.T) {
	d := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(d, "src", n), data(1, 5000), 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []string
	opt := Options{OnFile: func(r FileResult) {
		seen = append(seen, r.Path)
		if r.Path == "a" {
			cancel()
		}
	}}
	st, err := Sync(ctx, filepath.Join(d, "src")+"/", filepath.Join(d, "dst"), opt)
	if err != context.Canceled || st.Files != 1 {
		t.Fatalf("Sync = %+v, %v; want one file then context.Canceled (saw %v)", st, err, seen)
	}
	if _, err := os.Lstat(filepath.Join(d, "dst", "b")); err == nil {
		t.Fatal("b synced after cancellation")
	}
}
