package receiver

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// joinedFile is the set-up of the block-assembly tests: a file "f" of shape wanting all its
// blocks, with a temporary file in a test directory, and its data channel below top enqueued
// on s (a fake group).
func joinedFile(t *testing.T, s *session, shape merkle.Shape, top merkle.Hash) (*fileState, *target) {
	t.Helper()
	f := newFileState(wire.Entry{Name: "f", Size: shape.Size()}, shape, "f")
	f.needAll()
	tmp, err := os.Create(filepath.Join(t.TempDir(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	f.tmp = tmp
	tg := f.dataTarget(shape.TopLevel(), 0, top)
	s.enqueue(netip.MustParseAddr("ff15::1"), subData, tg)
	return f, tg
}
