package localsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lcsync/lcsync/merkle"
)

// maxReportedErrors is how many entry failures Sync returns in full.
const maxReportedErrors = 10

// Sync copies src onto dst as described in the package documentation and
// returns what it did. Failures of single entries do not stop the sync: they
// are counted, reported through OnFile and returned joined at the end. The
// context stops the sync promptly; Sync then returns ctx.Err().
func Sync(ctx context.Context, src, dst string, opt Options) (Stats, error) {
	if src == "" || dst == "" {
		return Stats{}, fmt.Errorf("%w: empty source or destination path", ErrUsage)
	}
	if opt.BlockSize == 0 {
		opt.BlockSize = merkle.DefaultBlockSize
	}
	if err := merkle.CheckBlockSize(opt.BlockSize); err != nil {
		return Stats{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	s := &syncer{ctx: ctx, opt: opt, ours: make(map[devIno]bool)}
	err := s.run(src, dst)
	if s.root != nil {
		s.root.Close()
	}
	if ctx.Err() != nil {
		return s.stats, ctx.Err()
	}
	if err != nil {
		return s.stats, err
	}
	return s.stats, s.joinedErrors()
}

// plan says where the copy goes: a destination directory to open as the
// root, and either the source directory whose contents fill it (contents)
// or one source entry to copy into it under name.
type plan struct {
	rootPath string // destination directory receiving the copy
	create   bool   // rootPath does not exist yet and must be created
	contents bool   // copy the entries of srcPath into the root itself
	srcPath  string // source directory (contents) or entry
	srcInfo  fs.FileInfo
	name     string // entry name in the root when !contents
}

// resolve applies the trailing-slash rule of the package documentation.
func resolve(src, dst string) (plan, error) {
	slash := strings.HasSuffix(src, "/")
	srcPath := filepath.Clean(src)
	var si fs.FileInfo
	var err error
	if slash {
		si, err = os.Stat(srcPath) // SRC/ follows a link to a directory
	} else {
		si, err = os.Lstat(srcPath)
	}
	if err != nil {
		return plan{}, newError("stat source", src, err)
	}
	di, err := os.Stat(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return plan{}, newError("stat destination", dst, err)
	}
	dstExists := err == nil
	dstIsDir := dstExists && di.IsDir()
	dstPath := filepath.Clean(dst)

	if si.IsDir() {
		switch {
		case dstExists && !dstIsDir:
			return plan{}, fmt.Errorf("%w: cannot sync directory %s onto %s, which is not a directory", ErrUsage, src, dst)
		case slash || !dstExists:
			return plan{rootPath: dstPath, create: !dstExists, contents: true, srcPath: srcPath, srcInfo: si}, nil
		}
		name, err := baseName(srcPath)
		if err != nil {
			return plan{}, err
		}
		return plan{rootPath: dstPath, srcPath: srcPath, srcInfo: si, name: name}, nil
	}
	if slash {
		return plan{}, newError("stat source", src, syscall.ENOTDIR)
	}
	if dstIsDir || (!dstExists && strings.HasSuffix(dst, "/")) {
		name, err := baseName(srcPath)
		if err != nil {
			return plan{}, err
		}
		return plan{rootPath: dstPath, create: !dstExists, srcPath: srcPath, srcInfo: si, name: name}, nil
	}
	return plan{rootPath: filepath.Dir(dstPath), srcPath: srcPath, srcInfo: si, name: filepath.Base(dstPath)}, nil
}

// baseName returns the last element of a source path, resolving "." and
// ".." through the absolute path.
func baseName(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", newError("resolve source", p, err)
	}
	name := filepath.Base(abs)
	if name == "/" || name == "." || name == ".." {
		return "", fmt.Errorf("%w: source %s has no base name; use %s/ to sync its contents", ErrUsage, p, p)
	}
	return name, nil
}

// run resolves the plan, opens the destination root and walks.
func (s *syncer) run(src, dst string) error {
	p, err := resolve(src, dst)
	if err != nil {
		return err
	}
	s.rootPath = p.rootPath
	top := &dstDir{rel: "."}
	if p.create {
		s.report(FileResult{Path: ".", Action: ActionMkdir})
		if !s.opt.DryRun {
			perm := fs.FileMode(0o777)
			if p.contents {
				perm = dirCreatePerm(p.srcInfo)
			}
			if err := os.Mkdir(p.rootPath, perm); err != nil {
				return newError("create directory", p.rootPath, err)
			}
		}
	}
	if !s.opt.DryRun || !p.create {
		s.root, err = os.OpenRoot(p.rootPath)
		if err != nil {
			return newError("open destination directory", p.rootPath, err)
		}
		if top.f, err = s.root.Open("."); err != nil {
			return newError("open destination directory", p.rootPath, err)
		}
		defer top.f.Close()
		top.r = s.root
		if fi, err := s.root.Lstat("."); err == nil {
			s.rootID = idOf(fi)
		}
		s.sweep(top)
	}
	if !p.contents {
		if err := s.entry(top, p.srcPath, p.name, p.srcInfo); err != nil {
			_ = s.syncRenamed(top)
			return err
		}
		return s.syncRenamed(top)
	}
	if p.create {
		s.stats.Dirs++
	} else {
		s.stats.Dirs++
		s.report(FileResult{Path: ".", Action: ActionDir})
	}
	if err := s.fill(top, p.srcPath); err != nil {
		_ = s.syncRenamed(top)
		return err
	}
	if err := s.syncRenamed(top); err != nil {
		return err
	}
	if err := s.dirAttrs(nil, top, p.srcInfo, p.create); err != nil {
		s.fail(".", err)
	}
	return nil
}

// joinedErrors returns the recorded entry failures, nil if none.
func (s *syncer) joinedErrors() error {
	if s.stats.Errors == 0 {
		return nil
	}
	errs := s.errs
	if more := s.stats.Errors - len(s.errs); more > 0 {
		errs = append(errs, fmt.Errorf("localsync: %d more errors", more))
	}
	return errors.Join(errs...)
}
