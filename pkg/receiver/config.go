package receiver

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/exclude"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Transport is a multicast receiving socket; NewTransport adapts *mcast.RecvConn.
type Transport interface {
	// Join and Leave change the groups whose datagrams are delivered.
	Join(g netip.Addr) error
	Leave(g netip.Addr) error
	// Receive blocks until datagrams arrive and calls fn for each (a batch at a time: once
	// the first has come, it waits no more, and the batch shares one clock reading); the
	// slice is only valid during the call. After Close it returns net.ErrClosed.
	Receive(fn func([]byte)) error
	// Drops returns how many datagrams the kernel dropped for lack of buffer space.
	Drops() uint64
	// Close ends Receive.
	Close() error
}

// SourceReceiver is an optional capability of a Transport: Receive that also says each
// datagram's source address. Block pieces from different sources are then assembled apart,
// so a host that forges pieces cannot spoil the genuine server's (review M2). Without it
// every datagram counts as coming from one source.
type SourceReceiver interface {
	ReceiveFrom(fn func(d []byte, src netip.Addr)) error
}

// QueueFiller is an optional capability of a Transport: how many bytes wait in the socket's
// receive queue, and its limit. A Transport without it never signals congestion before the
// kernel drops datagrams.
type QueueFiller interface {
	QueueFill() (used, limit int, err error)
}

// MessageCounter is an optional capability of a Transport: the mean number of datagrams a
// message read from the socket carried, what one message the kernel dropped is worth (a GRO
// train is one message). Without it a dropped message counts as one datagram.
type MessageCounter interface {
	DatagramsPerMessage() float64
}

// Config describes one fetch.
type Config struct {
	// Name is the remote name: "share", "share/dir", "share/dir/" or "share/file". A trailing
	// slash on a directory means "its contents", as with rsync.
	Name string
	// Dest is the local destination path.
	Dest string
	// Transport receives the datagrams.
	Transport Transport
	// Scope of the derived group addresses.
	Scope mcast.Scope
	// Channels bounds how many data and tree channels are joined at once (default 256).
	Channels int
	// Perms applies the manifest's permission bits; Times its modification times.
	Perms, Times bool
	// Delete removes destination entries absent from the fetched directory.
	Delete bool
	// Exclude, if set, leaves out of the fetch the entries it excludes (rsync's receiver-side
	// rules; paths relative to the destination root, as the fetch lays them out: "a/b" for
	// a fetch of "share/dir/", "dir/a/b" for one of "share/dir" into an existing directory).
	// An excluded entry is neither fetched nor, with Delete, deleted; the name asked for
	// itself is always fetched. Nil: nothing is excluded but lcsync's temporary files, which
	// are never deleted either.
	Exclude *exclude.Matcher
	// DryRun fetches only the manifest and the trees and reports what would change.
	DryRun bool
	// Timeout bounds the whole fetch (0: none); IdleTimeout ends it when nothing useful
	// arrives for that long (default 30s).
	Timeout, IdleTimeout time.Duration
	// Retrigger is how long a channel may stay silent, with data still missing, before it is
	// left and joined again (default 400ms). Rejoin waits at least RejoinAfter since the
	// previous join of that channel (default 200ms); it leaves the channel and joins it
	// again 20 ms later, so the sender sees a new join rather than a repeat of the last.
	Retrigger, RejoinAfter time.Duration
	// StallAfter treats a channel that brings nothing verifiable for that long as silent too
	// (default 2s), so useless or hostile traffic on it cannot hold a fetch.
	StallAfter time.Duration
	// NoCongestionSignal stops the receiver from telling the sender, through the share's
	// congestion channel, that it drops datagrams.
	NoCongestionSignal bool
	// FEC chooses the parity layers joined on data channels (PROTOCOL.md §5.6): 0 as many as
	// the measured loss makes worth it, a negative value none, 1 to 8 that many on every data
	// channel from the start.
	FEC int
	// Workers verify and write blocks (default 2).
	Workers int
	// MaxMemory bounds what the fetch holds in memory, whatever arrives (default
	// DefaultMaxMemory): half of it for the hashes and bookkeeping of the files in flight (a
	// file needing more is refused; see StoredLeaves), a quarter for blocks being received (beyond it they are
	// spilled to their temporary files, or dropped and fetched again).
	MaxMemory int64
	// StoredLeaves: a file of more blocks than this keeps its leaf hashes, 32 bytes a block,
	// in an unlinked temporary file in LeafDir ("" for os.TempDir(), that is $TMPDIR) behind
	// a cache of 512 KiB, instead of in memory, so that its bookkeeping costs about a byte a
	// block (0: DefaultStoredLeaves; negative: every file's are held in memory).
	StoredLeaves int
	LeafDir      string
	// Gate, if set, vets manifests for signed shares (PROTOCOL.md §7; pkg/sign's Gate):
	// which manifest channels to join, and which manifest to accept.
	Gate Gate
	// Manifest, if set, is the share's manifest, already assembled and vetted (by
	// WatchManifests): the fetch skips its manifest phase and plans against it at once.
	Manifest *wire.Manifest
	// Objects, if set, are tree objects (PROTOCOL.md §5.1) WatchManifests takes as fetched
	// already, by id: a follower's from before a restart, which it checked hash to their ids
	// (see Found.Objects). Only those a walk uses are kept after it. A fetch ignores them.
	Objects map[[wire.HashLen]byte]*wire.Object
	// Listen, if set, opens a new receiving socket. A fetch that hears a newer generation of
	// the share that changes the requested name (the server re-indexed: the old version's
	// channels are no longer served) starts again against it on a new socket, at most
	// maxRestarts times; files already in place are kept, and local copies are reused as
	// usual. Nil: such a fetch fails at once with ErrChanged.
	Listen func() (Transport, error)
	// Known, if set, is asked before a local copy of a file is hashed: true vouches that the
	// regular file at rel (relative to the destination root, fi its Lstat) holds entry e
	// already — a follower that wrote it and has seen it untouched since — so it is taken
	// as unchanged without being read. Nil: every local copy is hashed.
	Known func(rel string, fi fs.FileInfo, e wire.Entry) bool
	// LocalTree, if set, is asked before a local copy that is not Known is hashed: a tree
	// returned is the tree of the regular file at rel (fi its Stat, taken on the file as
	// opened) as it is now — a follower that applied it, kept its leaves (KeepLeaves) and has
	// seen the same destfs.Identity since — so the copy is cloned into the temporary file
	// inside the kernel (copy_file_range: a reflink where the file system shares extents)
	// instead of being read and hashed, and before the rename only the fetched blocks are
	// hashed once more, the others taking their leaves from the tree. Nil (or nil returned):
	// the local copy is hashed, and the assembled file hashed whole before the rename.
	LocalTree func(rel string, fi fs.FileInfo, e wire.Entry) *merkle.Tree
	// KeepLeaves, if set, is asked when a fetched file is complete: true puts its leaf
	// hashes, as hashed from the assembled file before the rename, in FileResult.Leaves.
	KeepLeaves func(e wire.Entry) bool
	// Changed, if set, limits the fetch to the entries below the requested name it returns
	// true for (manifest names; the caller includes the directories above them): every other
	// entry is taken to be in place in DST already, is not looked at, and is kept by Delete,
	// which lists only the directories fetched. A follower passes the entries that differ
	// from the generation it applied last, so that a pass costs what changed, not the size
	// of the mirror. Nil: every entry is fetched or checked.
	Changed func(name string) bool
	// Logger receives progress notes (nil: silent).
	Logger *slog.Logger
	// OnProgress, if set, is called about five times a second from Fetch's goroutine.
	OnProgress func(Progress)
	// OnFile, if set, is called once per entry when its outcome is known (for -v and dry runs).
	OnFile func(FileResult)
}

// Progress is a snapshot for progress displays.
type Progress struct {
	// Phase is "manifest", "trees" or "data".
	Phase string
	// Files and FilesDone count the files being fetched.
	Files, FilesDone int
	// Bytes and BytesDone count the bytes that have to arrive over the network.
	Bytes, BytesDone int64
	// Received counts datagram payload bytes, useful or not.
	Received int64
	// Elapsed since the fetch started.
	Elapsed time.Duration
}

// FileResult describes what happened (or, in a dry run, would happen) to one entry.
type FileResult struct {
	// Name is the remote name; Path the local path; Rel the path below the destination's
	// root (slash-separated, as Config.Known and LocalTree get it).
	Name, Path, Rel string
	// Action is one of "create", "update", "unchanged", "mkdir", "symlink", "delete".
	Action string
	// Blocks is the file's block count; Fetch the blocks fetched (or to fetch); Bytes their size.
	Blocks, Fetch int
	Bytes         int64
	// Leaves are a fetched file's leaf hashes when Config.KeepLeaves asked for them.
	Leaves []merkle.Hash
}

// Defaults.
const (
	DefaultChannels    = 256
	DefaultIdleTimeout = 30 * time.Second
	DefaultMaxMemory   = 256 << 20
)

// minMaxMemory is the least MaxMemory a fetch accepts.
const minMaxMemory = 16 << 20

// stateBudget is the part of MaxMemory for the per-block state of files in flight.
func (c *Config) stateBudget() int64 { return c.MaxMemory / 2 }

// blockBudget is the part of MaxMemory for blocks being received.
func (c *Config) blockBudget() int { return int(c.MaxMemory / 4) }

// sizeString formats a byte count with a binary unit, for messages.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

func (c *Config) setDefaults() error {
	if c.Transport == nil {
		return errors.New("receiver: Config needs a Transport")
	}
	name := strings.TrimSuffix(c.Name, "/")
	if err := wire.CheckName(name); err != nil {
		return fmt.Errorf("receiver: remote name %q: %w", c.Name, err)
	}
	if c.Dest == "" {
		return errors.New("receiver: empty destination")
	}
	if c.Channels <= 0 {
		c.Channels = DefaultChannels
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Retrigger <= 0 {
		c.Retrigger = 400 * time.Millisecond
	}
	if c.RejoinAfter <= 0 {
		c.RejoinAfter = 200 * time.Millisecond
	}
	if c.StallAfter <= 0 {
		c.StallAfter = 2 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.StoredLeaves == 0 {
		c.StoredLeaves = DefaultStoredLeaves
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.MaxMemory < minMaxMemory {
		return fmt.Errorf("receiver: a memory bound of %s is below the least of %s", sizeString(c.MaxMemory), sizeString(minMaxMemory))
	}
	if c.Scope == 0 {
		c.Scope = mcast.ScopeSite
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
