// Package follow keeps a local directory a live mirror of a served share (issue 16's
// receiver side, `lcsync --follow NAME/ DST/`).
//
// A Follower stays joined to the share's manifest channels (receiver.WatchManifests: no
// polling; the sender pushes each new generation, and a rejoin every few minutes is the only
// safety net) and, for every verified generation newer than the one it applied last, runs one
// pass:
//
//  1. renames by content: a file of the new generation whose content (size, block size and
//     top hash) is that of a file of the last applied generation that disappears in the new
//     one is renamed in place inside DST, so no data crosses the wire for it (the last
//     manifest applied is kept in memory, and across a restart rebuilt from ObjectsName);
//  2. the delete guard: a generation that would delete more than MaxDelete percent of the
//     files in DST is refused, unless ForceDelete, and the follower waits for the next one;
//  3. receiver.Fetch with the vetted manifest (Config.Manifest) and Delete: the tree walk
//     reuses every unchanged local block, so the fetch moves only what changed, deletes what
//     is gone (nothing below a directory the sender could not read completely) and applies
//     attributes; files are replaced atomically as by any fetch. The files the follower
//     applied and has seen untouched since (same file, size and modification time: the
//     local index, index.go) are vouched for (Config.Known) and not read again;
//  4. the generation is recorded in DST (StateName), its tree objects (PROTOCOL.md §5.1) too
//     (ObjectsName, objects.go: a restarted follower walks the next generation from them,
//     fetching only the directories that changed; everything read back is checked by hash),
//     and OnApplied is called.
//
// A newer generation heard while a pass runs supersedes it as soon as the pass stops making
// progress for SupersedeAfter (its changed files are no longer served); a pass that keeps
// progressing finishes first. Files already in place stay; the next pass reuses them.
//
// Signed shares: the receiver.Gate in Config.Fetch vets every generation's manifest before
// it is applied, and its high-water mark refuses rollbacks. The recorded generation in DST
// protects an unsigned share against re-applying an older generation after a restart.
package follow
