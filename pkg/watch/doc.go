// Package watch reports which paths of a served tree changed, as batches ready to be
// re-indexed, for `lcsync --watch` (issue 16).
//
// The backend is Linux inotify(7), through golang.org/x/sys/unix: one watch per directory
// (inotify is not recursive), added before the directory's entries are listed, so that
// nothing created meanwhile is missed; a directory that appears is watched before it is
// reported, and reported whole (Change.Tree) so that the indexer walks it after its watch
// exists. When events may have been lost — the kernel's queue overflowed (IN_Q_OVERFLOW), a
// watch failed, or the root itself moved or vanished — the watcher asks for a full rescan
// (Batch.Rescan) instead of trusting the event stream. When the per-user watch limit is
// reached (ENOSPC, or EMFILE for instances) it says which sysctl to raise
// (fs.inotify.max_user_watches, with the number of directories) and falls back to polling:
// a walk every Config.Poll that compares size, modification and change times, inode and mode.
//
// Debouncing: a file is ready when it is closed after writing (IN_CLOSE_WRITE), or when no
// event touched it for Config.Settle; a file that never goes quiet (a log) is reported at
// most once per Config.MaxDelay, and so is a file that keeps being rewritten and closed
// (it must then be quiet for a second, or wait for MaxDelay). Deletions, renames and new
// directories are ready at once. A batch closes Config.Window after the last path that
// became ready, and at the latest Config.BatchMax after the first, so that a burst (an
// untar) becomes a few batches instead of one per file.
//
// The watcher does not hash anything: a file that changes while the indexer hashes it is
// the indexer's to detect (pkg/index Update re-hashes it), and its events bring it back in a
// later batch.
package watch
