package destfs

import (
	"os"
	"slices"
)

// Extras returns, sorted, the names of the entries of directory dir that keep rejects: what
// --delete removes. Temporary names ([IsTemp]) are never returned: another fetch or sync may
// be assembling a file under one.
func Extras(dir *os.File, keep func(name string) bool) ([]string, error) {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	gone := names[:0]
	for _, n := range names {
		if !keep(n) && !IsTemp(n) {
			gone = append(gone, n)
		}
	}
	return gone, nil
}
