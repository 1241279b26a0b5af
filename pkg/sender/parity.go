package sender

import (
	"context"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/fec"
	"github.com/lcsync/lcsync/pkg/wire"
)

// parityRef names the channel and layer a parity group belongs to.
type parityRef struct {
	group netip.Addr
	layer uint8
}

// fecState tracks who joined which parity channels (PROTOCOL.md §5.6). Parity channels have
// no cycle of their own: while a channel's parity layer has members on an interface, every
// block the channel sends there is followed by that layer's parity shards.
type fecState struct {
	parityOf  map[netip.Addr]parityRef // parity groups of the cycles built so far
	members   map[actKey][]netip.Addr  // joined parity groups, by interface
	gen       uint64                   // bumped whenever members changes
	nextCheck time.Time                // next expiry check
	leftAt    time.Time                // last leave of a parity group
	codec     fec.Codec
	shards    [wire.ParityLayers][]byte // parity scratch
}

// parityCheckEvery is how often joined parity groups are checked with the Trigger (MLD), so a
// member whose leave was lost does not keep parity flowing for ever.
const parityCheckEvery = time.Second

// leaveCheckFor is how long after a leave parity groups are checked every wantedEvery: longer
// than any Last Listener Query Time the server uses.
const leaveCheckFor = 3 * time.Second

// event applies a join, refresh or leave of a parity group. A leave, whose source anyone on
// the link can forge, removes nothing: it makes expire ask MLD at once and then every
// wantedEvery for a while, so the layer stops once MLD's last-listener query goes unanswered.
func (f *fecState) event(ev mld.Event, now time.Time) {
	key := actKey{ev.Ifindex, ev.Group}
	if ev.Leave {
		if len(f.members[key]) > 0 {
			f.leftAt, f.nextCheck = now, now
		}
		return
	}
	list := f.members[key]
	if !slices.Contains(list, ev.Source) && len(list) < 256 {
		f.set(key, append(list, ev.Source))
	}
}

func (f *fecState) set(key actKey, list []netip.Addr) {
	if f.members == nil {
		f.members = map[actKey][]netip.Addr{}
	}
	if len(list) == 0 {
		delete(f.members, key)
	} else {
		f.members[key] = list
	}
	f.gen++
}

// expire forgets parity groups MLD says nobody listens to any more.
func (f *fecState) expire(t Trigger, now time.Time) {
	if len(f.members) == 0 || now.Before(f.nextCheck) {
		return
	}
	f.nextCheck = now.Add(parityCheckEvery)
	if now.Sub(f.leftAt) < leaveCheckFor {
		f.nextCheck = now.Add(wantedEvery)
	}
	for key := range f.members {
		if !t.Wanted(key.ifindex, key.group) {
			f.set(key, nil)
		}
	}
}

// mask returns the parity layers of channel a that have members on its interface.
func (f *fecState) mask(a *active) uint8 {
	if a.fecGen == f.gen+1 {
		return a.fecMask
	}
	a.fecMask = 0
	if len(f.members) > 0 && a.cyc.parity[0].IsValid() {
		for j, g := range a.cyc.parity {
			if len(f.members[actKey{a.key.ifindex, g}]) > 0 {
				a.fecMask |= 1 << j
			}
		}
	}
	a.fecGen = f.gen + 1 // +1: a fresh active (fecGen 0) never looks current
	return a.fecMask
}

// queueParity queues the parity shards of block (its bytes are data) for the layers someone
// joined, right behind its last piece.
func (s *Sender) queueParity(a *active, p *part, block int, data []byte) {
	mask := s.fec.mask(a)
	if mask == 0 {
		return
	}
	layers := bits.Len8(mask)
	size := min(s.geo.piece, len(data))
	_, stripes, ok := wire.ParityShards(len(data), size)
	if !ok {
		return
	}
	shards := s.fec.shards[:layers]
	for j := range shards {
		if cap(shards[j]) < size {
			shards[j] = make([]byte, s.geo.piece)
		}
		shards[j] = shards[j][:size]
	}
	sent := 0
	for st := range stripes {
		if err := s.fec.codec.Encode(data, size, st, shards); err != nil {
			return // cannot happen for a geometry ParityShards accepted
		}
		for j := range layers {
			if mask&(1<<j) == 0 {
				continue
			}
			buf := s.out.add(a.key.ifindex, a.cyc.parity[j])
			s.out.set(wire.AppendParity(buf, wire.ParityPacket{
				Label: p.label, Block: uint32(block - p.blockFirst), Stripe: uint16(st), Layer: uint8(j), Data: shards[j],
			}))
			sent++
		}
	}
	s.count(func(st *Stats) { st.ParityPackets += uint64(sent) })
}

// interleave is how many blocks a window of a channel with parity listeners spans.
const interleave = wire.ParityInterleave

// emitWindow queues up to interleave whole blocks starting at block, column by column: piece 0
// of every block, then piece 1, ..., then each block's parity. A datagram train (or a burst a
// switch or queue drops) then costs each block at most a piece or two, which parity rebuilds,
// where sent block by block it would cost whole blocks that parity cannot. It returns the
// datagrams of the cycle queued, 0 to fall back to block-by-block sending.
func (s *Sender) emitWindow(ctx context.Context, a *active, p *part, block int, now time.Time) int {
	end := min(block+interleave, p.blockEnd)
	sh := p.file.Tree.Shape()
	total := 0
	for b := block; b < end; b++ {
		k := int(ceilDiv(int64(sh.BlockLen(b)), int64(s.geo.piece)))
		if a.budget > 0 && int64(total+k) > a.budget {
			end = b
			break
		}
		total += k
	}
	if end-block < 2 {
		return 0
	}
	for len(s.win) < end-block {
		s.win = append(s.win, nil)
	}
	win := s.win[:end-block]
	for i := range win {
		var ok bool
		if win[i], ok = s.read(ctx, p, block+i, win[i], now); !ok {
			return 0
		}
	}
	a.loaded = false
	for col := 0; ; col++ {
		// Blocks with a piece in this column, as trains of equal-sized segments.
		queued := false
		for i := 0; i < len(win); {
			off := col * s.geo.piece
			if off >= len(win[i]) {
				i++
				continue
			}
			seg := min(s.geo.piece, len(win[i])-off)
			j := i
			if s.seg != nil {
				for j+1 < len(win) && col*s.geo.piece < len(win[j+1]) && min(s.geo.piece, len(win[j+1])-off) == seg {
					j++
				}
			}
			if j == i {
				s.out.set(p.appendPiece(s.out.add(a.key.ifindex, a.key.group), s.geo, block+i, col, win[i]))
			} else {
				buf := s.out.addTrain(a.key.ifindex, a.key.group)
				for b := i; b <= j; b++ {
					buf = p.appendPiece(buf, s.geo, block+b, col, win[b])
				}
				s.out.setTrain(buf, wire.BlockHeaderLen+seg, j-i+1)
			}
			queued = true
			i = j + 1
		}
		if !queued {
			break
		}
	}
	for i, data := range win {
		s.queueParity(a, p, block+i, data)
	}
	s.count(func(st *Stats) { st.BlockPackets += uint64(total) })
	return total
}
