package index

import (
	"path/filepath"
)

// excluded reports whether the walker leaves the entry at rel (relative to the share root,
// in the OS's separators) out of the index: the rules in Options.Exclude, and lcsync's own
// temporary files always. Excluded entries are not counted as skipped: leaving them out is
// what was asked for.
func (w *walker) excluded(rel string, dir bool) bool {
	return w.opt.Exclude.Match(filepath.ToSlash(rel), dir)
}
