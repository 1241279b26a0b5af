// Package receiver fetches a served name (a file, a directory, a symlink, or a whole share)
// over IPv6 multicast into a local destination, moving only the blocks the local copy lacks
// (PROTOCOL.md §6).
//
// Steps: join the share's manifest channel and assemble and check the manifest; select the
// entries under the requested name; for every file that exists locally with the same block
// size, hash the local copy and walk the remote tree top-down, page by page on tree channels,
// only into the branches that differ; cover the blocks still needed with as few data channels
// as possible; join at most Channels of them at once; verify every leaf run against a trusted
// node and every block against its leaf; write into a temporary file beside the destination,
// reusing unchanged blocks of the local copy; leave each channel as soon as its blocks are in;
// fsync and rename over the destination; apply modes and times.
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
//
// One goroutine reads the socket; a small pool verifies and writes blocks; the caller's
// goroutine plans and drives the channel joins. Fetch returns when everything is in place, on
// the first fatal error, on timeout, or when ctx ends.
package receiver
