// Package receiver fetches a served name (a file, a directory, a symlink, or a whole share)
// over IPv6 multicast into a local destination, moving only the blocks the local copy lacks
// (PROTOCOL.md §6).
//
// Steps: join the share's manifest channel and assemble and check the manifest; for a version
// 2 manifest, walk its tree objects top-down (only those on the way to the requested name and
// below it, each checked against the id its parent names) into the flat list of entries; select
// the entries under the requested name; for every file that exists locally with the same block
// size, hash the local copy and walk the remote tree top-down, page by page on tree channels,
// only into the branches that differ; cover the blocks still needed with as few data channels
// as possible; join at most Channels of them at once; verify every leaf run against a trusted
// node and every block against its leaf; write into a temporary file beside the destination,
// reusing unchanged blocks of the local copy; leave each channel as soon as its blocks are in;
// fsync and rename over the destination; apply modes and times. Meanwhile the manifest
// channel stays joined (and is joined again when the fetch stalls): a newer generation that
// changes the requested name starts the fetch again against it (Config.Listen) or ends it
// with ErrChanged (newer.go, review M10).
//
// A sender in MLD mode grants one cycle per join, so a channel that falls silent while blocks
// are still missing (loss, or a join that came in mid-cycle) is left and joined again. In
// carousel mode the receiver joins the share's stream channel instead and keeps what it needs.
//
// Every destination write goes through an os.Root opened on the destination directory, so a
// hostile manifest or a symlink already in the destination cannot make the receiver write
// outside it. Names are checked by the manifest decoder (pkg/wire); packets are bounds-checked
// by their parsers and then against the file geometry; data is trusted only after it hashes to
// a node that chains up to the manifest entry. For a signed share a Gate (pkg/sign) decides
// which manifest channels to join and which manifest to accept, before anything is planned
// (PROTOCOL.md §7); the share's stream and congestion channels then follow its publisher's key.
// A verified leaf is never replaced, a block held before its leaf is known is never
// overwritten by a copy that disagrees with it, and each file is hashed once more before its
// rename. Whatever arrives, memory stays under Config.MaxMemory: per-file state is made when a
// file starts (a file needing more than half of it is refused; the leaf hashes of a large
// file are kept in an unlinked temporary file behind a small cache, leaftable.go, so that
// costs about a byte a block), the first bytes of a block
// are kept as pieces, blocks in memory are capped (assembler.go), manifest chunks are kept as
// received on a fixed grid (manifest.go).
//
// Fetch returns when everything is in place, on the first fatal error, on timeout, or when
// ctx ends. Destination writes (temporary files, copies, attributes, renames, directory
// fsync, deletes) go through pkg/destfs, the layer local sync uses too.
//
// # Stages
//
// The files are named after the stage they hold:
//
//   - manifest.go, the manifest assembler: chunks in, a checked manifest out; objects.go, the
//     tree objects a walk wants (controller.go and follow.go walk them); newer.go, the
//     generation watch during the data phase;
//   - dest.go and finish.go, the destination: the layout of the requested name under DST, the
//     plan of files, directories and symlinks, temporary files, reused local blocks, commit;
//   - walk.go and cover.go, the planner: the tree walk against the local copy and the one rule
//     that covers needed blocks with data channels (cover), also used by repairs;
//   - subs.go, the subscriptions: channels by group and by label, the join queue;
//   - controller.go, the controller: joins, leaves, rejoins and repairs (repair.go), parity
//     layers (fec.go), file finishing, progress;
//   - reader.go, assembler.go, leaves.go and fec.go, the reader's side: datagrams to pieces to
//     blocks, hash runs to verified leaves, parity shards;
//   - workers.go and copier.go: blocks verified against their leaves and written; reused
//     blocks copied from the local copy and checked.
//
// # Concurrency
//
// A fetch runs these goroutines, each started and waited for by Fetch (or by the controller):
//
//   - the controller, on Fetch's goroutine (controller): it owns its own fields, the plan and
//     the layout, and alone joins and leaves data, tree and parity channels;
//   - the reader (reader): the socket's only reader; it owns pending and the congestion
//     signal, and alone joins and leaves the congestion channel; it exits when Fetch closes
//     the transport;
//   - Config.Workers workers (session.worker): they verify blocks a batch at a time, write
//     them into the temporary files and read back the backlog, taking their batches through
//     the gatherer, one worker gathering at a time; they exit when Fetch closes the jobs
//     channel, after the reader has exited;
//   - the copier (copier.run): it copies reused blocks of local copies; the controller starts
//     it once the plan exists and stops it (cancel, then wait) before the plan closes files;
//   - short-lived pools inside a call that waits for them: checkBlocks (reused blocks read
//     back and checked), merkle.Build (hashing a local copy).
//
// Everything else the stages share is in the session and guarded by session.mu: the session
// fields marked so, every fileState (but its read-only identity, and tempFile, which says
// how it is shared), every sub and target, the channel table, the assembler's memory, the
// loss meter. The reader holds mu while it handles a datagram (a spilled piece is written to
// its temporary file under mu); the workers, the copier and the controller hold it only to
// read or update state, never across a network call other than Join and Leave or across a
// copy or hash of a file.
//
// Other locks: fileState.tmpMu serialises the creation of a temporary file (ensureTemp);
// backlog.mu guards the backlog queue; gatherer.mu is held by the worker gathering a batch
// (taken with no other lock held, before backlog.mu); destfs.Dirs has its own lock for the open directories.
// The lock order is tmpMu, then mu, then backlog.mu; Dirs' lock is taken with at most tmpMu
// held, never with mu.
//
// Channels: jobs carries completed blocks from the reader to the workers (sent after the
// reader lets go of mu), gatherer.full tells the gathering worker a full batch waits; session.wake pokes the controller; backlog.ready wakes a worker for
// the backlog; copier.wake wakes the copier.
package receiver
