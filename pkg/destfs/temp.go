package destfs

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"
)

// NameMax is the longest file name (one path component) in bytes on the file systems lcsync
// writes to (NAME_MAX).
const NameMax = 255

// tempTag marks temporary names; a temporary name is "." + a prefix of the name + tempTag +
// 8 hex digits.
const tempTag = ".lcsync-"

// tempTries is how many random names CreateTemp tries before giving up on clashes.
const tempTries = 16

// TempName returns a random hidden name for assembling the entry called name beside it. It
// fits in NameMax bytes whatever name's length: a long name is cut, at a UTF-8 character
// boundary, to make room for the marks.
func TempName(name string) string {
	limit := NameMax - 1 - len(tempTag) - 8
	if len(name) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	r := rand.Uint32()
	for r < keptNames {
		r = rand.Uint32()
	}
	return fmt.Sprintf(".%s%s%08x", name, tempTag, r)
}

// keptNames: a temporary-looking name whose 8 hex digits are below it is a file lcsync keeps
// beside the entries (KeptName), never one TempName makes.
const keptNames = 16

// KeptName returns the name of a file lcsync keeps in a destination for itself (such as a
// follower's state, i < 16): it looks like a temporary name, so IsTemp reports it (no
// --delete removes it, no server indexes it), but SweepTemps never takes it for stale.
func KeptName(name string, i int) string {
	return fmt.Sprintf(".%s%s%08x", name, tempTag, i%keptNames)
}

// isKept reports whether name (a temporary-looking name) is a KeptName.
func isKept(name string) bool {
	i := strings.LastIndex(name, tempTag)
	if i < 0 || len(name)-i-len(tempTag) != 8 {
		return false
	}
	var n uint32
	_, err := fmt.Sscanf(name[i+len(tempTag):], "%08x", &n)
	return err == nil && n < keptNames
}

// IsTemp reports whether name (a base name) looks like a temporary name of lcsync: another
// fetch or sync may be assembling a file under it.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempTag)
}

// CreateTemp calls create with temporary names for name until one does not fail with
// fs.ErrExist, and returns that name. create makes the entry (a file, a symbolic link) in
// the directory name is in.
func CreateTemp(name string, create func(tmp string) error) (string, error) {
	var err error
	for range tempTries {
		tmp := TempName(name)
		if err = create(tmp); err == nil {
			return tmp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	return "", err
}

// OpenTemp creates a new temporary file for the entry name of directory d, with permission
// perm, locked (see [LockTemp]), and returns it and its name.
func OpenTemp(d *os.Root, name string, perm fs.FileMode) (*os.File, string, error) {
	var f *os.File
	tmp, err := CreateTemp(name, func(tmp string) (err error) {
		f, err = d.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if err := LockTemp(f); err != nil {
		f.Close()
		_ = d.Remove(tmp)
		return nil, "", err
	}
	return f, tmp, nil
}
