package destfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func tempFile(t *testing.T, b []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCopier(t *testing.T) {
	src := make([]byte, 3<<20+5)
	_, _ = rand.Read(src)
	for _, through := range []bool{false, true} {
		s, d := tempFile(t, src), tempFile(t, make([]byte, len(src)))
		chunks := 0
		c := &Copier{noClone: through, OnChunk: func() { chunks++ }}
		if through {
			c.Buf = make([]byte, 1<<20)
		}
		if err := c.Copy(context.Background(), d, s, 1000, int64(len(src)-2000)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(d.Name())
		want := append(append(make([]byte, 1000), src[1000:len(src)-1000]...), make([]byte, 1000)...)
		if !bytes.Equal(got, want) {
			t.Errorf("through=%v: copy differs", through)
		}
		if c.Cloned+c.Written != int64(len(src)-2000) || chunks == 0 || through && c.Cloned != 0 {
			t.Errorf("through=%v: cloned %d, written %d, %d chunks", through, c.Cloned, c.Written, chunks)
		}
	}
}

func TestCopierErrors(t *testing.T) {
	for _, through := range []bool{false, true} {
		s, d := tempFile(t, make([]byte, 100)), tempFile(t, nil)
		c := &Copier{noClone: through}
		err := c.Copy(context.Background(), d, s, 50, 100) // the source ends at 100
		var pe *fs.PathError
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &pe) {
			t.Errorf("through=%v: short source: %v", through, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Copy(ctx, d, s, 0, 100); !errors.Is(err, context.Canceled) {
			t.Errorf("through=%v: cancelled: %v", through, err)
		}
	}
	// A destination opened read-only: a write error, not a fallback.
	s := tempFile(t, make([]byte, 100))
	p := filepath.Join(t.TempDir(), "ro")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	c := &Copier{}
	if err := c.Copy(context.Background(), ro, s, 0, 100); err == nil {
		t.Error("copy into a read-only file succeeded")
	}
}
