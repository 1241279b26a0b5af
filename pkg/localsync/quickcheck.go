package localsync

import (
	"io/fs"
	"time"

	"github.com/lcsync/lcsync/merkle"
)

// quickSame reports whether the regular destination file di passes the quick
// check against the regular source file si: the same size and the same
// modification time as sameMtime compares them.
func quickSame(si, di fs.FileInfo) bool {
	return si.Mode().IsRegular() && di.Mode().IsRegular() &&
		si.Size() == di.Size() && sameMtime(si.ModTime(), di.ModTime())
}

// sameMtime reports whether two modification times are equal for the quick
// check. They are compared to the nanosecond, except that a time with a zero
// nanosecond part is taken to come from a file system (or a copy) that keeps
// whole seconds only, and then matching seconds suffice. rsync's default
// (--modify-window=0) compares seconds only; this is stricter wherever both
// sides keep nanoseconds.
func sameMtime(a, b time.Time) bool {
	if a.Unix() != b.Unix() {
		return false
	}
	an, bn := a.Nanosecond(), b.Nanosecond()
	return an == bn || an == 0 || bn == 0
}

// quickUnchanged reports the regular source file si, whose destination di at
// rel passed the quick check, as unchanged and applies its attributes. No
// file is opened unless its mode must change.
func (s *syncer) quickUnchanged(parent *dstDir, srcPath, rel, name string, si, di fs.FileInfo) error {
	shape, err := merkle.NewShape(si.Size(), s.blockSize())
	if err != nil {
		return newError("open source", srcPath, err)
	}
	s.stats.Unchanged++
	s.stats.QuickChecked++
	s.stats.Blocks += int64(shape.Blocks())
	s.report(FileResult{Path: rel, Action: ActionUnchanged, Blocks: shape.Blocks(), QuickChecked: true})
	return s.sameFileAttrs(parent, rel, name, si, di, nil)
}

// opened calls the test hook for a file opened to read its contents.
func (s *syncer) opened(path string) {
	if s.opt.openedForRead != nil {
		s.opt.openedForRead(path)
	}
}
