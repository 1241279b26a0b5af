//go:build !linux

package index

import "io/fs"

// ctimeOf is Linux-only here (serving is): elsewhere updates compare size and mtime only.
func ctimeOf(fs.FileInfo) (int64, bool) { return 0, false }
