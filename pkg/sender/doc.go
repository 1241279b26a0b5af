// Package sender serves an indexed share on IPv6 multicast channels (PROTOCOL.md §3-§5).
//
// Every channel has a cycle: the manifest's chunks, a tree object's chunks, a tree page, or a
// data channel's leaf
// hashes followed by its blocks cut into pieces. The sender keeps a set of active channels and
// sends them round-robin, a burst at a time, in batches through one token bucket shared by all
// channels (--bwlimit), optionally pausing after each datagram (--delay).
//
// Which channels are active depends on the mode:
//
//   - MLD mode (the default): a channel becomes active when a Trigger reports a join for its
//     group and is granted one complete cycle from there; the sender then stops even if the
//     group stays joined, until the next report. It stops at once when the Trigger says nobody
//     wants the group any more. With nobody joined, nothing is sent at all. Reports repeated by
//     the same host within a short window (the kernel sends each state change twice) do not
//     extend a cycle; a report from another host does.
//   - Carousel mode: the manifest (followed by every tree object) and the share's stream
//     channel are sent forever, on every
//     interface, without listening to MLD.
//
// Blocks are read with ReadAt into per-channel buffers from a small cache of open files.
// Before a file's blocks are read the sender checks, at most once a second, whether the
// file's size or modification time changed since it was indexed; a changed file stops being
// served until it has been hashed again, and then the manifest gets a new generation.
//
// The group table maps every channel to what it carries. For a file whose tree keeps only its
// upper levels in memory (see package index), the groups of its lower levels are in a sorted
// index in an unlinked temporary file (lowtable.go), built once per tree: a lookup reads one
// 16 KiB page of it, so memory stays flat with the data, and tree packets below the resident
// levels are read back from the tree's leaf store.
//
// A manifest request is never answered from a stale index (fresh.go): without a watcher the
// share is walked again first, the request held meanwhile; with one (Config.Watch, --watch)
// the index follows the watcher's batches and each new generation is pushed to the hosts
// that listen to the manifest (live.go), behind a guard against mass disappearances.
//
// A signed share (Config.Signer, PROTOCOL.md §7) gets a statement at the start of every
// manifest cycle, keyed share-level channels, and a new generation every half lifetime.
//
// The sender owns its Trigger interface; *mld.Listener satisfies it directly, and tests use a fake.
package sender
