package sender

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// geometry holds the per-datagram capacities for the configured MTU.
type geometry struct {
	maxDatagram int // bytes per datagram
	perTree     int // hashes per tree packet
	piece       int // block bytes per block packet
}

func newGeometry(mtu int) (geometry, error) {
	md, err := wire.MaxDatagram(mtu)
	if err != nil {
		return geometry{}, fmt.Errorf("sender: %w", err)
	}
	return geometry{maxDatagram: md, perTree: wire.TreeHashes(md), piece: wire.BlockPayload(md)}, nil
}

// part is the contribution of one node of one file to a cycle: a run of hashes sent as tree
// packets, then (for data channels) the node's blocks cut into pieces.
type part struct {
	fileIdx    int
	file       *index.File
	label      wire.Label
	treeLevel  int
	treeFirst  int // absolute index of the first hash at treeLevel
	treeEnd    int
	nTree      int64
	blockFirst int // absolute index of the node's first leaf
	blockEnd   int
	piecesFull int   // pieces of a full block
	pieces     int64 // pieces of all blocks
	repeat     int64 // tree packets are sent this many times in a row (0 or 1: once)
}

func (p *part) len() int64 { return p.nTree*p.reps() + p.pieces }

func (p *part) reps() int64 { return max(1, p.repeat) }

// cycle is the ordered content of one channel.
type cycle struct {
	kind    mcast.Kind
	group   netip.Addr
	chunks  [][]byte // manifest and object datagrams
	parts   []part   // tree, data and stream channels
	offsets []int64  // offsets[i] = position of parts[i]; last element = total
	total   int64
	// parity are the channel's parity layers (data and stream channels only).
	parity [wire.ParityLayers]netip.Addr
}

func (c *cycle) finish() {
	c.offsets = make([]int64, len(c.parts)+1)
	for i := range c.parts {
		c.offsets[i+1] = c.offsets[i] + c.parts[i].len()
	}
	c.total = c.offsets[len(c.parts)] + int64(len(c.chunks))
}

// dataPart is a data channel's content for node (k, i) of file f.
func dataPart(g geometry, fi int, f *index.File, k, i int) (part, error) {
	s := f.Tree.Shape()
	h, err := f.Tree.Get(k, i)
	if err != nil {
		return part{}, err
	}
	p := part{fileIdx: fi, file: f, label: wire.LabelOf(h)}
	if k > 0 {
		p.treeFirst, p.treeEnd = s.Descendants(k, i, 0)
		p.nTree = ceilDiv(int64(p.treeEnd-p.treeFirst), int64(g.perTree))
	}
	p.blockFirst, p.blockEnd = s.Span(k, i)
	p.piecesFull = int(ceilDiv(int64(s.BlockSize()), int64(g.piece)))
	last := p.blockEnd - 1
	p.pieces = int64(last-p.blockFirst)*int64(p.piecesFull) + ceilDiv(int64(s.BlockLen(last)), int64(g.piece))
	return p, nil
}

// treePart is a tree channel's content for node (k, i): its page (PROTOCOL.md §5.2).
func treePart(g geometry, fi int, f *index.File, k, i, height int) (part, error) {
	s := f.Tree.Shape()
	h, err := f.Tree.Get(k, i)
	if err != nil {
		return part{}, err
	}
	p := part{fileIdx: fi, file: f, label: wire.LabelOf(h)}
	p.treeLevel = max(0, k-height)
	p.treeFirst, p.treeEnd = s.Descendants(k, i, p.treeLevel)
	p.nTree = ceilDiv(int64(p.treeEnd-p.treeFirst), int64(g.perTree))
	// Once: a receiver that lost its page learns it from the end packet that follows and
	// joins again at once (PROTOCOL.md §5.2).
	p.repeat = 1
	return p, nil
}

// smallManifest is the most chunks a manifest may have to be sent twice per cycle.
const smallManifest = 8

// newCycle builds the cycle of a group from the table entry r. It fails only when a stored
// tree's hashes cannot be read.
func newCycle(g geometry, ix *index.Index, tab *table, group netip.Addr, r ref, manifest [][]byte, height int) (*cycle, error) {
	c := &cycle{kind: r.kind, group: group}
	switch r.kind {
	case mcast.KindManifest:
		c.chunks = manifest
		if len(manifest) <= smallManifest {
			// Twice, like a tree page: a lost chunk would cost the receiver a rejoin, 1.6 s.
			c.chunks = append(append([][]byte(nil), manifest...), manifest...)
		}
	case mcast.KindObject:
		// Cut at the configured size; the index built the object, so it is not too long.
		if chunks, err := wire.ObjectChunks(tab.objects[r.index], g.maxDatagram); err == nil {
			c.chunks = chunks
		}
	case mcast.KindStream:
		// A directory's stream: the top data cycle of every file below it, in name order.
		dir := tab.dirs[r.index]
		for fi, f := range ix.Files {
			name := f.Entry.Name
			below := name == dir || len(name) > len(dir) && name[:len(dir)] == dir && name[len(dir)] == '/'
			if below && f.Tree != nil && f.Tree.Shape().Blocks() > 0 {
				p, err := dataPart(g, fi, f, f.Tree.Shape().TopLevel(), 0)
				if err != nil {
					return nil, err
				}
				c.parts = append(c.parts, p)
			}
		}
	case mcast.KindData:
		p, err := dataPart(g, int(r.file), ix.Files[r.file], int(r.level), int(r.index))
		if err != nil {
			return nil, err
		}
		c.parts = []part{p}
	case mcast.KindTree:
		p, err := treePart(g, int(r.file), ix.Files[r.file], int(r.level), int(r.index), height)
		if err != nil {
			return nil, err
		}
		c.parts = []part{p}
	}
	c.finish()
	return c, nil
}

// locate returns the part and the position within it for a cycle position of a tree, data or
// stream cycle.
func (c *cycle) locate(pos int64) (*part, int64) {
	i := sort.Search(len(c.parts), func(i int) bool { return c.offsets[i+1] > pos })
	return &c.parts[i], pos - c.offsets[i]
}

// blockAt returns which block (absolute index) and which piece a position within a part
// names, or ok=false for a tree packet position.
func (p *part) blockAt(q int64) (block, piece int, ok bool) {
	if q < p.nTree*p.reps() {
		return 0, 0, false
	}
	r := q - p.nTree*p.reps()
	return p.blockFirst + int(r/int64(p.piecesFull)), int(r % int64(p.piecesFull)), true
}

// appendTree appends tree packet q of part p. It fails only when a stored tree's hashes
// cannot be read; dst is then returned as it was.
func (p *part) appendTree(dst []byte, g geometry, q int64, scratch []byte, run []merkle.Hash) ([]byte, error) {
	q %= p.nTree // repeats send the same packets again
	first := p.treeFirst + int(q)*g.perTree
	end := min(first+g.perTree, p.treeEnd)
	run, err := p.file.Tree.Hashes(p.treeLevel, first, end, run[:0])
	if err != nil {
		return dst, err
	}
	scratch = scratch[:0]
	for _, h := range run {
		scratch = append(scratch, h[:]...)
	}
	return wire.AppendTree(dst, wire.TreePacket{
		Label: p.label, Level: uint8(p.treeLevel), Index: uint32(first - p.treeFirst), Hashes: scratch,
	}), nil
}

// appendPiece appends the block packet for piece `piece` of block `block`, whose bytes are data.
func (p *part) appendPiece(dst []byte, g geometry, block, piece int, data []byte) []byte {
	off := piece * g.piece
	end := min(off+g.piece, len(data))
	return wire.AppendBlock(dst, wire.BlockPacket{
		Label: p.label, Block: uint32(block - p.blockFirst), Offset: uint32(off), Data: data[off:end],
	})
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
