package receiver

import (
	"math"
	"net/netip"

	"github.com/lcsync/lcsync/pkg/fec"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Forward error correction, receiver side (PROTOCOL.md §5.6): the reader measures how many
// block datagrams go missing; when losses make it worth it, the controller joins parity layers
// of the data channels, and blocks that miss a few pieces are rebuilt from parity shards by
// the workers instead of waiting for a repair channel.

// blockParity holds the parity shards received for one block.
type blockParity struct {
	size   int      // shard size: all of a block's parity shards must have it
	shards [][]byte // [stripe*wire.ParityLayers + layer]
}

// fecJob is what a worker needs to rebuild a block's missing shards.
type fecJob struct {
	size   int
	have   []bool // data shards received in full
	shards [][]byte
}

// lossMeter estimates the fraction of block datagrams lost on the way to this host (the
// reader's, under mu). Datagrams its own socket dropped (overruns) are not loss on the way:
// parity does not help against them (they come in runs, and more parity means more overruns),
// so they are taken off the count. Older samples fade: the counts are halved whenever they
// pass lossWindow.
type lossMeter struct{ got, lost, over float64 }

// lossMin is the number of samples (pieces) before the estimate is trusted. A lossy path
// drops datagram trains (a dozen pieces) rather than pieces, so the estimate is only as good
// as the number of trains behind it: 16384 pieces hold some 14 lost trains at 1%, and
// reaching 2% by chance from there takes a 3.6 sigma draw.
const (
	lossMin    = 16384
	lossWindow = 2 * lossMin
)

func (m *lossMeter) add(got, lost int) {
	m.got += float64(got)
	m.lost += float64(lost)
	if m.got+m.lost > lossWindow {
		m.got /= 2
		m.lost /= 2
		m.over /= 2
	}
}

// overrun records datagrams the socket dropped for want of buffer space.
func (m *lossMeter) overrun(n float64) { m.over += n }

func (m *lossMeter) rate() (float64, bool) {
	n := m.got + m.lost
	if n < lossMin {
		return 0, false
	}
	return max(m.lost-m.over, 0) / n, true
}

// track feeds the loss meter as block packets of target t arrive (caller holds mu). Blocks
// completed count when they complete (see counted); a block still missing pieces counts once
// the channel has moved more than wire.ParityInterleave blocks past it (a sender interleaves
// at most that many blocks), as the pieces it got and the pieces it lacks.
func (m *lossMeter) track(t *target, b int, p wire.BlockPacket) {
	sb := t.sub
	sb.seqSize = max(sb.seqSize, len(p.Data)) // the sender's piece size, learnt from the largest piece
	if sb.seqT != t || b < sb.seqNext-wire.ParityInterleave {
		sb.seqT, sb.seqNext = t, b // a new file, or the channel's next cycle
		return
	}
	f := t.f
	for ; sb.seqNext < b-wire.ParityInterleave; sb.seqNext++ {
		e := sb.seqNext
		if !f.missing(e) || f.unverified.Test(uint(e)) {
			continue // complete (and counted then), or not needed
		}
		n := f.shape.BlockLen(e)
		k := (n + sb.seqSize - 1) / sb.seqSize
		got := 0
		if bs := f.blocks[e]; bs != nil {
			for i := range k {
				if bs.cov.covers(i*sb.seqSize, min((i+1)*sb.seqSize, n)) {
					got++
				}
			}
		}
		m.add(got, k-got)
	}
}

// counted feeds the loss meter with a block handed to the workers: all its pieces (of size
// bytes, 0 if not known yet) arrived, or those job does not rebuild (caller holds mu).
func (m *lossMeter) counted(f *fileState, b int, job *fecJob, size int) {
	if job == nil {
		if size > 0 {
			m.add((f.shape.BlockLen(b)+size-1)/size, 0)
		}
		return
	}
	lost := 0
	for _, h := range job.have {
		if !h {
			lost++
		}
	}
	m.add(len(job.have)-lost, lost)
}

// minParityBlocks is the least a channel must still bring for parity to be worth joining.
const minParityBlocks = 8

// failCost weighs a block left missing after a cycle against the parity that would have saved
// it, in blocks: a repair costs a join, a wait for the cycle to end, and often more than the
// block itself on the wire.
const failCost = 5

// minLossForFEC is the measured loss below which parity is not joined: at 1% a pass leaves
// few enough blocks for repairs to cost less than parity on every block (measured at N=4: 1.07-1.11x
// the file on the wire without parity, 1.2-1.9x with it).
const minLossForFEC = 0.02

// parityLayers returns how many parity layers a channel sending blocks of bs bytes in pieces of
// size bytes should have, given Config.FEC and the measured loss.
func parityLayers(fixed int, loss *lossMeter, bs, size int) int {
	switch {
	case fixed < 0:
		return 0
	case fixed > 0:
		return min(fixed, wire.ParityLayers)
	}
	p, ok := loss.rate()
	if !ok || p < minLossForFEC || size <= 0 {
		return 0
	}
	shards, stripes, ok := wire.ParityShards(bs, min(size, bs))
	if !ok {
		return 0
	}
	return min(layersFor(p, min(shards, wire.ParityStripe), stripes), maxAutoLayers)
}

// maxAutoLayers caps the layers chosen from the measured loss: beyond a third of the data in
// parity, repairs are cheaper (and a burst of loss early on must not fix the rate for good).
const maxAutoLayers = 4

// layersFor picks the number of parity layers that minimises the expected cost per block, in
// blocks: r/k for the parity itself, plus failCost for each block still missing after one pass
// when each of its stripes of k data shards loses each shard with probability p.
func layersFor(p float64, k, stripes int) int {
	best, bestCost := 0, math.Inf(1)
	for r := 0; r <= wire.ParityLayers; r++ {
		stripeOK := 0.0 // P(at most r of k+r shards lost)
		for i := 0; i <= r; i++ {
			stripeOK += binomial(k+r, i) * math.Pow(p, float64(i)) * math.Pow(1-p, float64(k+r-i))
		}
		cost := float64(r)/float64(k) + failCost*(1-math.Pow(stripeOK, float64(stripes)))
		if cost < bestCost {
			best, bestCost = r, cost
		}
	}
	return best
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// maxParityStripes bounds the stripes of one block's parity: a sender's shards are a
// datagram's payload (at least about 1200 bytes), which gives at most 55 stripes for a block of
// 1 MiB.
const maxParityStripes = 64

// onParity stores a parity shard for every file the labelled node belongs to, on the parity
// layers this receiver joined.
func (s *session) onParity(p wire.ParityPacket, src netip.Addr) {
	targets := s.chans.byLabel[p.Label]
	if len(targets) == 0 {
		s.stats.Foreign++
		return
	}
	s.stats.ParityPackets++
	for _, t := range targets {
		if t.sub.kind != subData && t.sub.kind != subStream {
			continue
		}
		if int(p.Layer) >= t.sub.fec {
			// Not a layer this receiver joined (with --fec off: none): another receiver's
			// parity, or forged (review H4).
			s.stats.Foreign++
			continue
		}
		b := t.blockFirst + int(p.Block)
		if b < t.blockFirst || b >= t.blockEnd {
			s.stats.Malformed++
			continue
		}
		if _, _, ok := fec.Stripe(t.f.shape.BlockLen(b), len(p.Data), int(p.Stripe)); !ok {
			s.stats.Malformed++
			continue
		}
		if _, stripes, _ := wire.ParityShards(t.f.shape.BlockLen(b), len(p.Data)); stripes > maxParityStripes {
			// Shards far smaller than any datagram a sender fills: forged, and costly to
			// keep track of (review H4).
			s.stats.Malformed++
			continue
		}
		s.storeParity(t.f, b, p, src)
	}
}

// storeParity keeps a parity shard for block b of f and hands the block to a worker as soon as
// its missing shards can be rebuilt (caller holds mu).
func (s *session) storeParity(f *fileState, b int, p wire.ParityPacket, src netip.Addr) {
	if !f.missing(b) || f.finished {
		return // complete without it: the usual case for a receiver that lost nothing here
	}
	bs := f.blocks[b]
	if bs != nil && bs.src != src {
		return // parity rebuilds only the primary assembly, from its own source's shards (review M2)
	}
	if bs == nil || bs.buf == nil {
		// Sparse (too few of its pieces in for parity to rebuild it: repair will) or spilled
		// to the file: not rebuilt from parity, and no buffer is made for a shard (review H4).
		return
	}
	if bs.par == nil {
		_, stripes, _ := wire.ParityShards(f.shape.BlockLen(b), len(p.Data))
		bs.par = &blockParity{size: len(p.Data), shards: make([][]byte, stripes*wire.ParityLayers)}
	}
	i := int(p.Stripe)*wire.ParityLayers + int(p.Layer)
	if bs.par.size != len(p.Data) || bs.par.shards[i] != nil {
		return // another sender's geometry, or a repeat
	}
	bs.par.shards[i] = append([]byte(nil), p.Data...)
	if job, ok := rebuildable(f.shape.BlockLen(b), bs); ok {
		s.complete(f, b, bs, job, 0)
	}
}

// rebuildable reports whether every stripe of a block misses no more data shards than it has
// parity shards, and if so describes the rebuild.
func rebuildable(n int, bs *blockState) (*fecJob, bool) {
	par := bs.par
	shards, stripes, _ := wire.ParityShards(n, par.size)
	intact := func(i int) bool { return bs.cov.covers(i*par.size, min((i+1)*par.size, n)) }
	// Called for every piece and parity shard of a damaged block: count without allocating,
	// and describe the rebuild only once it is possible.
	for st := range stripes {
		avail := 0
		for _, sh := range par.shards[st*wire.ParityLayers : (st+1)*wire.ParityLayers] {
			if sh != nil {
				avail++
			}
		}
		for i := st * wire.ParityStripe; i < min((st+1)*wire.ParityStripe, shards) && avail >= 0; i++ {
			if !intact(i) {
				avail--
			}
		}
		if avail < 0 {
			return nil, false
		}
	}
	have := make([]bool, shards)
	for i := range have {
		have[i] = intact(i)
	}
	return &fecJob{size: par.size, have: have, shards: par.shards}, true
}

// rebuild restores the missing shards of a block from its parity (a worker's job). An error
// leaves garbage where shards were missing; the block then fails verification and is fetched
// again.
func rebuild(codec *fec.Codec, buf []byte, job *fecJob) error {
	_, stripes, _ := wire.ParityShards(len(buf), job.size)
	for st := range stripes {
		err := codec.Reconstruct(buf, job.size, st, func(i int) bool { return job.have[i] },
			job.shards[st*wire.ParityLayers:(st+1)*wire.ParityLayers])
		if err != nil {
			return err
		}
	}
	return nil
}
