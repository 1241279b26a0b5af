package receiver

import (
	"net/netip"
	"time"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

func (s *session) share() string {
	name := s.cfg.Name
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i]
		}
	}
	return name
}

func (s *session) manifestGroup() netip.Addr { return mcast.ManifestGroup(s.cfg.Scope, s.share()) }

func (s *session) pageHeight() int {
	if s.manifest == nil || s.manifest.PageHeight == 0 {
		return 1
	}
	return int(s.manifest.PageHeight)
}

// enqueue adds a target to the subscription of group g, creating and queueing the
// subscription if needed (caller holds mu). t may be nil (manifest).
func (s *session) enqueue(g netip.Addr, kind subKind, t *target) *sub {
	sb := s.subs[g]
	if sb == nil || sb.done {
		sb = &sub{group: g, kind: kind}
		s.subs[g] = sb
		s.queue = append(s.queue, sb)
	}
	if t == nil {
		return sb
	}
	t.sub = sb
	sb.targets = append(sb.targets, t)
	s.byLabel[t.label] = append(s.byLabel[t.label], t)
	if kind == subData || kind == subStream {
		t.f.targets = append(t.f.targets, t)
	}
	s.markKnown(t)
	if t.run != nil && t.have.Count() == uint(t.end-t.first) {
		s.runComplete(t, time.Now())
	}
	return sb
}

// dataTarget builds the target for the data channel of node (k, i) of f. It collects the
// node's leaf run only if some needed leaf under it is not known yet.
func (s *session) dataTarget(f *fileState, k, i int, h merkle.Hash) *target {
	t := &target{f: f, k: k, i: i, hash: h, label: wire.LabelOf(h)}
	t.blockFirst, t.blockEnd = f.shape.Span(k, i)
	for b := t.blockFirst; b < t.blockEnd; b++ {
		if f.need.Test(uint(b)) && !f.done.Test(uint(b)) {
			t.remaining++
		}
	}
	if k == 0 {
		if !f.leafOK.Test(uint(i)) { // a single-block file fetched fresh: its top is its leaf
			f.leaves[i] = h
			f.leafOK.Set(uint(i))
		}
		return t
	}
	t.first, t.end = f.shape.Descendants(k, i, 0)
	for b := t.first; b < t.end; b++ {
		if f.need.Test(uint(b)) && !f.leafOK.Test(uint(b)) {
			t.run = f.leaves[t.first:t.end]
			t.have = bitset.New(uint(t.end - t.first))
			break
		}
	}
	return t
}

// planData queues the data channels that fetch f's needed blocks (caller holds mu).
func (s *session) planData(f *fileState) {
	if f.planned {
		return
	}
	f.planned = true
	s.maybeReady(f)
	s.poke()
	if f.remaining == 0 || s.cfg.DryRun {
		return
	}
	if s.manifest.Carousel {
		top := merkle.Hash(f.entry.Top)
		s.enqueue(s.streamGroup(s.share()), subStream, s.dataTarget(f, f.shape.TopLevel(), 0, top))
		return
	}
	var nodes []*wnode
	if f.walk == nil {
		nodes = []*wnode{{k: f.shape.TopLevel(), hash: merkle.Hash(f.entry.Top)}}
	} else {
		nodes = cover(f.walk, nil)
	}
	for _, n := range nodes {
		s.enqueue(mcast.DataGroup(s.cfg.Scope, n.hash), subData, s.dataTarget(f, n.k, n.i, n.hash))
	}
}

// drop forgets a subscription's targets once it is left (caller holds mu).
func (s *session) drop(sb *sub) {
	for _, t := range sb.targets {
		list := s.byLabel[t.label]
		kept := list[:0]
		for _, o := range list {
			if o != t {
				kept = append(kept, o)
			}
		}
		if len(kept) == 0 {
			delete(s.byLabel, t.label)
		} else {
			s.byLabel[t.label] = kept
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
	if s.subs[sb.group] == sb {
		delete(s.subs, sb.group)
	}
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
		if !s.targetFinished(t) {
			return false
		}
	}
	return len(sb.targets) > 0
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

// pageLost reports whether a tree page's end marker came after the join with nothing before
// it: the page is sent once, right before its end marker, so it was lost (or went out just
// before the join). Joining again at once costs a page; waiting for silence, 400 ms.
func (sb *sub) pageLost() bool {
	return sb.kind == subTree && sb.lastEnd.After(sb.joinedAt) && !sb.lastPacket.After(sb.joinedAt)
}
