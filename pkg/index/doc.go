// Package index walks a served file or directory tree and hashes every regular file into a
// merkle tree, producing the share's manifest (PROTOCOL.md §5.1) together with what the
// sender needs to serve it: the file's place below the share, its tree and its identity when
// hashed (device, inode, size, modification and change time), so that a file changed since
// indexing is noticed and re-indexed instead of having stale blocks sent for it.
//
// A local user who can write into the share must not be able to make the server read
// anything else (a root server reading /etc/shadow through a symlink swapped in) or hang
// (a FIFO swapped in). So nothing below the share's directory is ever reached by path: the
// walk opens each directory relative to its parent's descriptor with O_NOFOLLOW and checks
// it is the inode it listed; files are opened the same way with O_NOFOLLOW|O_NONBLOCK, then
// fstat'ed, and read only if they are the regular file that was walked (when hashing) or
// hashed (File.Open, when serving). A name swapped for something else is re-indexed at the
// next refresh (File.Changed compares the whole identity, the change time included, so a
// rewrite with its modification time set back is seen too).
//
// Names follow PROTOCOL.md §2: serving /srv/share exposes share, share/a, share/a/b.txt…;
// serving a single file /srv/f.iso exposes f.iso. Symlinks inside the share are recorded as
// links (their targets are data) and never followed; devices, fifos and sockets are skipped.
// The argument itself is followed if it is a symlink, so `lcsync ./current` serves what
// current points to, under the name current.
//
// Every directory of a share is also a tree object (PROTOCOL.md §5.1, objects.go), large ones
// split into pages, and the objects are where the entries are kept (no flat list beside them):
// Update encodes again only the directories on the paths from the changed names to the share,
// and of a paged directory only the pages the changes fall in (wire.UpdateDirectory), looks
// old entries up in one page, splices the sorted file list, and shares every other object
// with the index before it, so that one change among 100,000 files costs about what it costs
// among 10,000.
//
// Hashing runs on a bounded pool: large files one at a time with every worker on the file,
// small files several at a time with one worker each.
//
// Memory does not grow with file sizes: a file of more than Options.MaxResident blocks
// (8192 by default) keeps only the upper levels of its tree in memory, at most about
// 2·MaxResident hashes, and its leaf hashes in an unlinked temporary file in Options.TreeDir
// (merkle.BuildStored); the levels between are read back a unit at a time and checked against
// the resident level. A 16 GiB file then costs 512 KiB of hashes instead of 64 MiB.
package index
