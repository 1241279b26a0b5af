package receiver

import (
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/fec"
	"github.com/lcsync/lcsync/pkg/wire"
)

// subKind says what a channel subscription is for.
type subKind uint8

const (
	subManifest subKind = iota
	subTree             // a tree page (walk)
	subData             // a node's leaf hashes and blocks
	subStream           // carousel: every file's top data
)

func (k subKind) String() string {
	return [...]string{"manifest", "tree", "data", "stream"}[k]
}

// sub is one joined (or queued) channel.
type sub struct {
	group      netip.Addr
	kind       subKind
	targets    []*target
	joined     bool
	done       bool
	joinedAt   time.Time
	lastPacket time.Time // any datagram for this channel
	lastUseful time.Time // verified progress
	lastEnd    time.Time // the sender said the cycle is over
	leftAt     time.Time // left to be joined again (see handleSilent); zero otherwise
	fec        int       // parity layers joined
	fecAt      time.Time // when fec last changed
	// The loss meter's view of the channel (see track): the next block of target seqT to
	// count, and the sender's piece size.
	seqT    *target
	seqNext int
	seqSize int
}

// target is one node of one file that a subscription serves (identical content in several
// files shares one channel, so one sub may have several targets).
type target struct {
	sub   *sub
	f     *fileState
	k, i  int
	hash  merkle.Hash
	label wire.Label
	// run is the level (0 for data channels), first..end the absolute indices of the hashes
	// this target expects as tree packets; have marks those received (or already verified).
	level      int
	first, end int
	run        []merkle.Hash
	have       *bitset.BitSet
	verified   bool
	wnode      *wnode // tree targets: the walk node being expanded
	want       [2]int // leaf-walk targets: the leaves sought (empty for others)
	blockFirst int
	blockEnd   int
	remaining  int // needed blocks of [blockFirst, blockEnd) not yet done
	// firstBlock is when the first block datagram came on a data or stream target;
	// leavesSought whether the leaves its run lacked have been asked for (see seekLostLeaves).
	firstBlock   time.Time
	leavesSought bool
}

// blockState is a block being received.
type blockState struct {
	cov     coverage
	buf     []byte // nil once spilled to the temporary file
	spilled bool
	par     *blockParity // parity shards received (nil: none)
}

// fileState is one file being fetched.
type fileState struct {
	entry wire.Entry
	shape merkle.Shape
	rel   string // destination path relative to the root
	name  string // remote name

	local     *merkle.Tree // tree of the existing local file, same block size; nil if none
	walked    bool         // the walk established need and reuse (no reconciliation with leaves)
	walk      *wnode
	walking   int // tree subscriptions outstanding
	leafWalks int // leaf-walk pages outstanding (repair)
	// pages are the tree pages verified so far, by node (level, index): a later leaf walk
	// through the same node uses them instead of joining the tree channel again, which the
	// sender would take for a repeat of the earlier join and ignore.
	pages map[[2]int][]merkle.Hash

	leaves     []merkle.Hash
	leafOK     *bitset.BitSet // leaves known to chain up to the manifest's top
	leafHave   *bitset.BitSet // leaves received on a data channel, not yet verified
	need       *bitset.BitSet // blocks that must come over the network
	done       *bitset.BitSet // needed blocks verified and written
	unverified *bitset.BitSet // blocks written before their leaf was verified
	selfHashed *bitset.BitSet // unverified blocks whose hash is leaves[b] (see heldUnverified)
	reuse      *bitset.BitSet // blocks copied from the local file
	teed       bool           // the local copy was written into tmp as it was hashed (see tee.go)
	early      *bitset.BitSet // reused blocks handed to the copier (nil: none)
	copyJobs   int            // copier jobs not done
	copying    chan struct{}  // closed when copyJobs falls to 0; nil while it is 0
	copyErr    error          // the copier's first failure
	queued     *bitset.BitSet // complete blocks handed to a worker, not yet done or discarded
	remaining  int            // needed blocks not yet done
	blocks     map[int]*blockState
	targets    []*target // data targets over this file, for block accounting

	tmpMu    sync.Mutex // serialises creating tmp (ensureTemp)
	tmp      *os.File
	tmpRel   string
	finished bool
	planned  bool // data subscriptions queued
	dry      bool // dry run: no data is fetched
	streamed bool // fetched through a directory stream
	readied  bool // queued on session.ready
	err      error
}

func newFileState(e wire.Entry, shape merkle.Shape, rel string) *fileState {
	n := uint(shape.Blocks())
	return &fileState{
		entry: e, shape: shape, rel: rel, name: e.Name,
		leaves: make([]merkle.Hash, n), leafOK: bitset.New(n), leafHave: bitset.New(n), need: bitset.New(n),
		done: bitset.New(n), unverified: bitset.New(n), selfHashed: bitset.New(n), reuse: bitset.New(n), queued: bitset.New(n),
		blocks: map[int]*blockState{},
	}
}

// needAll marks every block needed (no usable local copy).
func (f *fileState) needAll() {
	n := uint(f.shape.Blocks())
	f.need.FlipRange(0, n)
	f.remaining = int(n)
}

// maybeReady queues f for finishing once it is complete (caller holds mu).
func (s *session) maybeReady(f *fileState) {
	if !f.readied && !f.finished && f.complete() {
		f.readied = true
		s.ready = append(s.ready, f)
		s.poke()
	}
}

// complete reports whether every needed block is in (in a dry run: whether the walk is done).
func (f *fileState) complete() bool {
	return f.planned && f.walking == 0 && (f.dry || f.remaining == 0)
}

// session is the state shared by the reader, the workers and the controller.
type session struct {
	cfg Config
	mu  sync.Mutex

	stats   Stats
	root    *os.Root     // the destination, for temporary files created as data arrives
	dc      *destfs.Dirs // root's directories, kept open
	started time.Time
	drained time.Time // when data last ended the reader's wait on an empty socket
	// Congestion signalling, owned by the reader goroutine.
	congJoined bool
	congAt     time.Time
	lastDrops  uint64
	meterDrops uint64 // socket drops already given to the loss meter
	waiting    bool   // the reader is waiting on an empty socket
	lastUseful time.Time
	wake       chan struct{}

	manifestAsm map[[32]byte]*assembly
	manifest    *wire.Manifest
	refused     map[[32]byte]bool // manifest ids that did not validate
	refusedErr  error             // why the last one was refused

	files   []*fileState
	byLabel map[wire.Label][]*target
	subs    map[netip.Addr]*sub
	queue   []*sub // waiting to be joined, in order

	ready   []*fileState // complete files waiting to be finished by the controller
	partial []partialRef // blocks with an in-memory buffer, oldest first
	inMem   int
	jobs    []writeJob // completed blocks collected under mu, sent to workers after unlocking
	// backlog holds blocks written before their leaf was known, to read back and verify once
	// it is: workers take them when no fresh block waits (see worker), so that a run of
	// leaves verified at once never blocks the reader. backlogHead is the next to take;
	// backlogReady signals that it is not empty.
	backlog      []writeJob
	backlogHead  int
	backlogReady chan struct{}
	scratch      []span
	bufPool      sync.Pool

	copyQ    []copyJob     // reused blocks waiting for the copier
	copyWake chan struct{} // signals copyQ

	loss     lossMeter
	codec    fec.Codec
	noParity bool // joining a parity channel failed: do without
}

type partialRef struct {
	f *fileState
	b int
}

// maxInMem bounds the blocks buffered in memory; more are spilled to the temporary files.
const maxInMem = 512

func newSession(cfg Config) *session {
	return &session{
		cfg:          cfg,
		started:      time.Now(),
		lastUseful:   time.Now(),
		wake:         make(chan struct{}, 1),
		copyWake:     make(chan struct{}, 1),
		backlogReady: make(chan struct{}, 1),
		manifestAsm:  map[[32]byte]*assembly{},
		refused:      map[[32]byte]bool{},
		waiting:      true, // the reader starts on an empty socket
		byLabel:      map[wire.Label][]*target{},
		subs:         map[netip.Addr]*sub{},
	}
}

// poke wakes the controller.
func (s *session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// advance records verified progress (a manifest accepted, a hash run or page verified, a
// block verified and written) for sub: it resets the idle timeout and the sub's stall clock.
// Datagrams that merely parse are not progress, so hostile traffic cannot keep a stalled
// fetch alive.
func (s *session) advance(sb *sub, now time.Time) {
	s.lastUseful = now
	if sb != nil {
		sb.lastUseful = now
	}
}
