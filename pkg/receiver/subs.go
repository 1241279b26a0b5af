package receiver

import (
	"net/netip"
	"time"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// subKind says what a channel subscription is for.
type subKind uint8

const (
	subManifest subKind = iota
	subTree             // a tree page (walk)
	subData             // a node's leaf hashes and blocks
	subStream           // carousel: every file's top data
	subObject           // a tree object of a version 2 manifest
)

func (k subKind) String() string {
	return [...]string{"manifest", "tree", "data", "stream", "object"}[k]
}

// sub is one joined (or queued) channel, guarded by mu. The reader stamps its packet times;
// only the controller joins and leaves it (joined, joinedAt, leftAt, fec, fecAt).
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
	// The loss meter's view of the channel (see lossMeter.track): the next block of target
	// seqT to count, and the sender's piece size.
	seqT    *target
	seqNext int
	seqSize int
}

// target is one node of one file that a subscription serves (identical content in several
// files shares one channel, so one sub may have several targets). Guarded by mu.
type target struct {
	sub   *sub
	f     *fileState
	k, i  int
	hash  merkle.Hash
	label wire.Label
	// run is the level (0 for data channels), first..end the absolute indices of the hashes
	// this target expects as tree packets; have marks those received (or already verified).
	// A data or stream target's leaf run is kept in its file's leaf table (leafRun set,
	// run nil: see runAt); a tree page's in run.
	level      int
	first, end int
	run        []merkle.Hash
	leafRun    bool
	have       *bitset.BitSet
	verified   bool
	walk       bool   // a tree page of the walk: expanded when verified
	want       [2]int // leaf-walk targets: the leaves sought (empty for others)
	blockFirst int
	blockEnd   int
	remaining  int // needed blocks of [blockFirst, blockEnd) not yet done
	// firstBlock is when the first block datagram came on a data or stream target;
	// leavesSought whether the leaves its run lacked have been asked for (see seekLostLeaves).
	firstBlock   time.Time
	leavesSought bool
	// runSrc is the source whose hashes a tree page's run holds; alts are other sources'
	// assemblies of it (see onAltRun).
	runSrc netip.Addr
	alts   []*altRun
}

// collects reports whether t collects hashes from tree packets: a tree page's run, or the
// leaf run of a data or stream channel some needed leaf under it lacks.
func (t *target) collects() bool { return t.run != nil || t.leafRun }

// runAt returns hash j (an absolute index) of t's run; a leaf run's is its file's leaf j.
func (t *target) runAt(j int) merkle.Hash {
	if t.leafRun {
		return t.f.leaves.get(j)
	}
	return t.run[j-t.first]
}

// setRun makes hash j of t's run h.
func (t *target) setRun(j int, h merkle.Hash) {
	if t.leafRun {
		t.f.leaves.set(j, h)
		return
	}
	t.run[j-t.first] = h
}

// foldRun folds t's run (§1.4).
func (t *target) foldRun() merkle.Hash {
	if t.leafRun {
		return t.f.leaves.fold(t.first, t.end)
	}
	return merkle.Fold(t.run)
}

// finished reports whether a target needs nothing more from its channel.
func (t *target) finished() bool {
	switch t.sub.kind {
	case subTree:
		return t.verified
	case subData, subStream:
		// Needed blocks are done only once verified against their leaves, so this also
		// means every leaf that mattered is known.
		return t.f.finished || t.f.err != nil || t.remaining == 0
	}
	return true
}

// channels is the table of subscriptions, guarded by mu: every one by group, the targets by
// label (how the reader finds what a datagram is for) and the queue of those not joined yet.
type channels struct {
	subs    map[netip.Addr]*sub
	byLabel map[wire.Label][]*target
	queue   []*sub // waiting to be joined, in order
}

func newChannels() channels {
	return channels{subs: map[netip.Addr]*sub{}, byLabel: map[wire.Label][]*target{}}
}

// add adds target t (nil for the manifest) to the subscription of group g, creating and
// queueing the subscription if needed.
func (c *channels) add(g netip.Addr, kind subKind, t *target) *sub {
	sb := c.subs[g]
	if sb == nil || sb.done {
		sb = &sub{group: g, kind: kind}
		c.subs[g] = sb
		c.queue = append(c.queue, sb)
	}
	if t == nil {
		return sb
	}
	t.sub = sb
	sb.targets = append(sb.targets, t)
	c.byLabel[t.label] = append(c.byLabel[t.label], t)
	if kind == subData || kind == subStream {
		t.f.targets = append(t.f.targets, t)
	}
	return sb
}

// drop forgets a subscription's targets once it is left.
func (c *channels) drop(sb *sub) {
	for _, t := range sb.targets {
		list := c.byLabel[t.label]
		kept := list[:0]
		for _, o := range list {
			if o != t {
				kept = append(kept, o)
			}
		}
		if len(kept) == 0 {
			delete(c.byLabel, t.label)
		} else {
			c.byLabel[t.label] = kept
		}
		if f := t.f; f != nil {
			fk := f.targets[:0]
			for _, o := range f.targets {
				if o != t {
					fk = append(fk, o)
				}
			}
			f.targets = fk
		}
	}
	if c.subs[sb.group] == sb {
		delete(c.subs, sb.group)
	}
}

// enqueue adds a target to the subscription of group g, creating and queueing the
// subscription if needed, and completes it at once if what it expects is known already
// (caller holds mu). t may be nil (manifest).
func (s *session) enqueue(g netip.Addr, kind subKind, t *target) *sub {
	sb := s.chans.add(g, kind, t)
	if t == nil {
		return sb
	}
	s.markKnown(t)
	if t.collects() && t.have.Count() == uint(t.end-t.first) {
		s.runComplete(t, time.Now())
	}
	return sb
}

// targetDone marks a target finished and its sub done when all its targets are (caller holds
// mu).
func (s *session) targetDone(t *target) {
	sb := t.sub
	for _, o := range sb.targets {
		if !o.finished() {
			return
		}
	}
	sb.done = true
	s.poke()
}

// subFinished reports whether a joined subscription can be left (caller holds mu).
func (s *session) subFinished(sb *sub) bool {
	if sb.done {
		return true
	}
	if sb.kind == subManifest {
		return s.manifest != nil
	}
	for _, t := range sb.targets {
		if !t.finished() {
			return false
		}
	}
	return len(sb.targets) > 0
}

// dataTarget builds the target for the data channel of node (k, i) of f. It collects the
// node's leaf run only if some needed leaf under it is not known yet (caller holds mu).
func (f *fileState) dataTarget(k, i int, h merkle.Hash) *target {
	t := &target{f: f, k: k, i: i, hash: h, label: wire.LabelOf(h)}
	t.blockFirst, t.blockEnd = f.shape.Span(k, i)
	for b := t.blockFirst; b < t.blockEnd; b++ {
		if f.need.Test(uint(b)) && !f.done.Test(uint(b)) {
			t.remaining++
		}
	}
	if k == 0 {
		if !f.leafOK.Test(uint(i)) { // a single-block file fetched fresh: its top is its leaf
			f.leaves.set(i, h)
			f.leafOK.Set(uint(i))
		}
		return t
	}
	t.first, t.end = f.shape.Descendants(k, i, 0)
	for b := t.first; b < t.end; b++ {
		if f.need.Test(uint(b)) && !f.leafOK.Test(uint(b)) {
			t.leafRun = true
			t.have = bitset.New(uint(t.end - t.first))
			break
		}
	}
	return t
}

// lastActivity is when the subscription was last joined or last received a datagram.
func (sb *sub) lastActivity() time.Time {
	if sb.lastPacket.After(sb.joinedAt) {
		return sb.lastPacket
	}
	return sb.joinedAt
}

// ended reports whether the sender's end marker came after everything else this subscription
// received since it was last joined: the cycle is over, whatever is missing will not come. An end
// marker before any datagram since the join does not count: it closes a cycle another host's
// join started, which our join crossed; the cycle our join asks for is still to come (and if
// it never does, the silence rules apply).
// A tree page's end marker is the exception (see pageLost).
func (sb *sub) ended() bool {
	return sb.pageLost() || !sb.lastEnd.IsZero() && sb.lastPacket.After(sb.joinedAt) && !sb.lastEnd.Before(sb.lastPacket)
}

// pageLost reports whether a tree page's (or a tree object's) end marker came after the join
// with nothing before it: the page is sent once, right before its end marker, so it was lost
// (or went out just before the join). Joining again at once costs a page; waiting for
// silence, 400 ms.
func (sb *sub) pageLost() bool {
	return (sb.kind == subTree || sb.kind == subObject) && sb.lastEnd.After(sb.joinedAt) && !sb.lastPacket.After(sb.joinedAt)
}
