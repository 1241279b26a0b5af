package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/localsync"
)

// localSync copies local SRC into local DST, moving only the blocks that differ.
func localSync(ctx context.Context, e *env, src, dst string) error {
	o := e.o
	show := o.dryRun || o.verbose
	st, err := localsync.Sync(ctx, src, dst, localsync.Options{
		BlockSize: o.blockSize, Perms: o.perms, Times: o.times, Owner: o.owner, Group: o.group, Delete: o.delete,
		Inplace: o.inplace, DryRun: o.dryRun, Checksum: o.checksum,
		OnFile: func(r localsync.FileResult) {
			switch {
			case r.Action == localsync.ActionError:
				fmt.Fprintf(e.stderr, "lcsync: %s\n", escapeMessage(r.Err.Error()))
			case show && r.Action != localsync.ActionUnchanged || o.verbose:
				printAction(e, r.Action, r.Path, r.Blocks, r.ChangedBlocks, r.BytesCopied)
			}
		},
	})
	if o.dryRun || o.stats {
		fmt.Fprintf(e.stdout, "%sfiles %d (created %d, updated %d, unchanged %d, quick-checked %d), dirs %d, symlinks %d, deleted %d, skipped %d\n",
			dryPrefix(o.dryRun), st.Files, st.Created, st.Updated, st.Unchanged, st.QuickChecked, st.Dirs, st.Symlinks, st.Deleted, st.Skipped)
		fmt.Fprintf(e.stdout, "%sblocks %d, changed %d; bytes read %d, written %d, cloned %d, compared %d\n",
			dryPrefix(o.dryRun), st.Blocks, st.ChangedBlocks, st.BytesRead, st.BytesWritten, st.BytesCloned, st.ComparedBytes)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, localsync.ErrUsage):
		return usagef(err.Error())
	case errors.Is(err, merkle.ErrMismatch):
		return withCode(exitVerify, err)
	case errors.Is(err, context.Canceled):
		return err
	default:
		return withCode(exitIO, err)
	}
}

// printAction prints one line per entry for -v and -n, the name escaped (escapeName).
func printAction(e *env, action, path string, blocks, changed int, bytes int64) {
	if blocks > 0 || changed > 0 {
		fmt.Fprintf(e.stdout, "%-9s %s (%d of %d blocks, %s)\n", action, escapeName(path), changed, blocks, humanBytes(float64(bytes)))
		return
	}
	fmt.Fprintf(e.stdout, "%-9s %s\n", action, escapeName(path))
}

func dryPrefix(dry bool) string {
	if dry {
		return "dry run: would process "
	}
	return ""
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
