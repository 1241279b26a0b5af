package receiver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestCheckReused: the finished temporary file is checked against the manifest's top; a reused
// block that changed under the receiver is named, and a correct file passes.
func TestCheckReused(t *testing.T) {
	const bs = 1024
	want := bytes.Repeat([]byte("0123456789abcdef"), 8*bs/16+3) // 8 blocks and a partial one
	wt, err := merkle.Build(context.Background(), bytes.NewReader(want), int64(len(want)), bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	local := bytes.Clone(want)
	local[5*bs+7] ^= 1 // block 5 differs locally and was fetched; the rest is reused
	lt, err := merkle.Build(context.Background(), bytes.NewReader(local), int64(len(local)), bs, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		corrupt int // byte to flip in the temporary file, -1 for none
		err     string
	}{
		{"intact", -1, ""},
		{"reused block changed", 2*bs + 1, "block 2"},
		{"last partial block changed", len(want) - 1, "block 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wire.Entry{Name: "f", Size: int64(len(want)), Top: wt.Top()}
			f := newFileState(e, wt.Shape(), "f")
			f.local = lt
			for b := range wt.Shape().Blocks() {
				if b != 5 {
					f.reuse.Set(uint(b))
				}
			}
			got := bytes.Clone(want)
			if tc.corrupt >= 0 {
				got[tc.corrupt] ^= 0x80
			}
			path := filepath.Join(t.TempDir(), "tmp")
			if err := os.WriteFile(path, got, 0o600); err != nil {
				t.Fatal(err)
			}
			if f.tmp, err = os.Open(path); err != nil {
				t.Fatal(err)
			}
			defer f.tmp.Close()
			err := checkReused(context.Background(), f, 2)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("checkReused = %v, want nil", err)
			case tc.err != "" && (!errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("checkReused = %v, want ErrVerify naming %q", err, tc.err)
			}
		})
	}
}
