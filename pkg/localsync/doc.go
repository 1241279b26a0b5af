// Package localsync copies a local file or directory tree onto another local
// path, rewriting only the blocks that differ. It is what `lcsync SRC DST`
// runs when both arguments are local paths.
//
// A regular file whose destination exists is compared block by block, with
// the block size and the rule of [merkle.Diff] (PROTOCOL.md §1: the block at
// the same index, same length and same bytes), but by reading both sides and
// comparing their bytes instead of hashing them: both files are on this host,
// so a hash (BLAKE2s-256, RFC 7693, about 425 MB/s a core) would only cost
// time, and a byte comparison cannot collide. Workers read the two files a
// slab at a time in parallel, and the source blocks that differ are written
// out as they are found, so the source is read once and what is written is
// what was compared. Hashing is for the network: a fetch compares the local
// copy's merkle tree with the server's.
//
// # Quick check
//
// As rsync does, a regular destination file that already has the source's
// size and modification time is taken as unchanged without being opened or
// read (reported with [FileResult.QuickChecked] and counted in
// [Stats.QuickChecked]); its attributes are still applied. The times are
// compared to the nanosecond, but when either has a zero nanosecond part it
// is taken to come from a file system (or a copy) that keeps whole seconds,
// and matching seconds suffice. rsync's default, --modify-window=0, compares
// whole seconds only; this is stricter wherever both sides keep nanoseconds.
// A window for file systems of coarser times (FAT's two seconds) is not
// offered: such files are compared, which is slower but never wrong.
//
// The trade-off is rsync's: a destination whose content differs behind the
// same size and time is left alone. [Options.Checksum] turns the quick check
// off, so every file is read and compared. Without [Options.Times] a synced
// file gets the time of writing, so the next sync compares it again; with it a
// second sync of an unchanged tree reads no file.
//
// # Which path receives the copy
//
// The rsync trailing-slash rule applies:
//
//   - SRC/ (a directory with a trailing slash) syncs the contents of SRC into
//     DST, creating DST if it does not exist (its parent must).
//   - SRC (a directory, no trailing slash) syncs the directory itself: into
//     DST/basename(SRC) when DST is an existing directory, otherwise DST
//     becomes the copy.
//   - A file SRC is copied to DST/basename(SRC) when DST is an existing
//     directory (or names a directory with a trailing slash, which is then
//     created), otherwise to DST itself.
//
// Directories are always synced recursively. A symbolic link given as SRC
// with a trailing slash is followed (its target's contents are synced); every
// other symbolic link is copied as a link.
//
// # What is copied
//
// Regular files, directories (nested and empty) and symbolic links. Links
// are copied as links with their target unchanged, even when it points
// outside the tree; they are never followed. Devices, FIFOs and sockets are
// skipped and counted in [Stats.Skipped]. A destination entry of another type
// than its source is replaced: a file or link by anything, a directory only
// when it is empty or [Options.Delete] is set (otherwise that entry fails).
//
// Every write to the destination goes through an [os.Root] opened on the
// destination directory, so nothing outside it is touched even when the
// destination holds symbolic links; a link found where a directory is needed
// is replaced by a real directory, never written through.
//
// # How a file is written
//
// By default a changed file is assembled in a temporary file beside it,
// named .NAME.lcsync-XXXXXXXX (NAME cut to fit 255 bytes; pkg/destfs, the
// destination layer shared with fetches, makes and commits it): the compare pass writes the changed blocks
// (the temporary file is created at the first one), unchanged block runs are
// then copied from the old destination with copy_file_range(2) (a kernel
// copy, or a reflink where the file system shares extents; plain reads and
// writes when it is not supported), and the file is fsynced, given its mode
// and mtime and renamed over the destination. A directory renamed into is
// fsynced once, when all its entries are synced. The destination is never
// torn, and on any error or cancellation the temporary file is removed. A
// file with no destination yet is copied whole without being compared first.
// With [Options.Inplace] the compare pass writes the changed blocks straight
// into the existing file, which is then truncated or extended to the new size
// and fsynced (a destination that is not a regular file is still replaced
// through a temporary file). An identical file is not written at all.
//
// # Attributes
//
// With [Options.Perms] files and directories get the source's permission
// bits (including setuid, setgid and sticky); without it an updated file
// keeps its destination permissions and a new one gets the source's, masked
// by the umask (new directories also get owner rwx, so they can be filled).
// With [Options.Times] files, directories and symbolic links get the
// source's modification time; without it they keep the time of writing.
// Ownership is not copied.
//
// # Deleting, dry runs and errors
//
// [Options.Delete] removes, in every synced directory, the entries the
// source directory does not have (a removed directory counts once), except
// temporary files of lcsync (.NAME.lcsync-XXXXXXXX): another sync or fetch
// may be assembling a file there.
// [Options.DryRun] computes and reports everything (reading both sides of the
// files the quick check does not settle) but touches nothing: no directory, temporary file, write or attribute change.
//
// A failure tied to one entry is reported as an [*Error] carrying the path;
// Sync goes on with the other entries and returns all failures joined
// (the first few in full, then a count). Errors wrap the underlying
// system error, so errors.Is(err, fs.ErrNotExist) or fs.ErrPermission
// work. Arguments that cannot be used wrap [ErrUsage]. Cancelling the context
// stops the sync promptly (between blocks), removes any temporary file and
// returns ctx.Err().
//
// The package never prints or logs: it reports through [Stats] and the
// optional [Options.OnFile] callback.
package localsync
