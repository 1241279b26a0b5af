// Package index walks a served file or directory tree and hashes every regular file into a
// merkle tree, producing the share's manifest (PROTOCOL.md §5.1) together with what the
// sender needs to serve it: the local path, the tree and the size and modification time
// observed when hashing, so that a file changed since indexing is noticed and re-indexed
// instead of having stale blocks sent for it.
//
// Names follow PROTOCOL.md §2: serving /srv/share exposes share, share/a, share/a/b.txt…;
// serving a single file /srv/f.iso exposes f.iso. Symlinks inside the share are recorded as
// links (their targets are data) and never followed; devices, fifos and sockets are skipped.
// The argument itself is followed if it is a symlink, so `lcsync ./current` serves what
// current points to, under the name current.
//
// Hashing runs on a bounded pool: large files one at a time with every worker on the file,
// small files several at a time with one worker each.
package index
