package receiver

import (
	"net/netip"
	"time"

	"github.com/bits-and-blooms/bitset"
	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Sources (review M2). Block pieces carry no authentication of their own: only a whole block
// is checked, against its leaf. Were pieces from every host mixed into one assembly, a host
// that sends one forged byte of every block first would spoil every block, cycle after
// cycle. So a block's pieces are assembled per source address: the first source's in the
// block's primary assembly (which may spill to the temporary file and take parity), up to
// maxAlternates others in alternates kept in memory; whichever is complete first is verified.
// A source whose block fails verification is distrusted for the file for distrustFor: its
// pieces are ignored. A source whose block verified is good: its alternates are never evicted
// for an unknown source's, and once a file has a good source, only good sources' packets
// count as signs of life of a channel (forged pieces and end markers cannot hold a channel
// open, or end its cycle). A host that forges the genuine server's own source address gets
// none of this protection: a receiver cannot tell it from the server.

// maxAlternates bounds the assemblies of one block besides its primary one.
const maxAlternates = 3

// maxSources bounds the sources a file keeps a verdict on; distrustFor is how long a source
// whose block failed is ignored (a genuine server whose block failed for a reason of its own,
// such as a file rewritten in place, is ignored no longer than that).
const (
	maxSources  = 64
	distrustFor = 10 * time.Second
)

// srcVerdict is what a file knows of one source.
type srcVerdict struct {
	good     bool      // one of its blocks verified
	badUntil time.Time // one of its blocks failed: ignored until then
}

// sourceState is a file's verdicts on sources (guarded by mu).
type sourceState struct {
	srcs    map[netip.Addr]srcVerdict
	anyGood bool
}

// distrusted reports whether pieces from src are to be ignored for the file.
func (st *sourceState) distrusted(src netip.Addr, now time.Time) bool {
	v, ok := st.srcs[src]
	return ok && now.Before(v.badUntil)
}

// alive reports whether a packet from src shows that a channel of the file is alive: any
// source's before a source's block verified, after that only good sources'.
func (st *sourceState) alive(src netip.Addr) bool {
	return !st.anyGood || st.srcs[src].good
}

// good reports whether a block from src verified.
func (st *sourceState) good(src netip.Addr) bool { return st.srcs[src].good }

// verdict records that a block from src verified (ok) or failed.
func (st *sourceState) verdict(src netip.Addr, ok bool, now time.Time) {
	if !src.IsValid() {
		return // a transport that does not say: every datagram is from the same nobody
	}
	if st.srcs == nil {
		st.srcs = map[netip.Addr]srcVerdict{}
	}
	v, known := st.srcs[src]
	if !known && len(st.srcs) >= maxSources {
		for a, o := range st.srcs { // forget verdicts that no longer matter, then anyone but the good
			if !o.good && !now.Before(o.badUntil) {
				delete(st.srcs, a)
			}
		}
		for a, o := range st.srcs {
			if len(st.srcs) < maxSources {
				break
			}
			if !o.good {
				delete(st.srcs, a)
			}
		}
		if len(st.srcs) >= maxSources {
			return
		}
	}
	if ok {
		v.good, v.badUntil = true, time.Time{}
		st.anyGood = true
	} else {
		v.badUntil = now.Add(distrustFor)
	}
	st.srcs[src] = v
}

// candidate returns the assembly of block b (whose primary is bs) that collects src's pieces,
// making an alternate if there is none yet; nil if src's pieces are not to be kept (the
// alternates are taken by others that it may not evict). n is the size of the piece that
// asks (caller holds mu).
func (s *session) candidate(f *fileState, b int, bs *blockState, src netip.Addr, n int) *blockState {
	if bs.src == src {
		return bs
	}
	for _, a := range bs.alts {
		if a.src == src {
			return a
		}
	}
	if len(bs.alts) >= maxAlternates {
		// Evict the alternate that holds least, unless it is a good source's (and src is
		// not) or holds more than this piece brings.
		srcGood := f.sources.good(src)
		victim := -1
		for i, a := range bs.alts {
			if f.sources.good(a.src) && !srcGood {
				continue
			}
			if victim < 0 || a.cov.size() < bs.alts[victim].cov.size() {
				victim = i
			}
		}
		if victim < 0 || bs.alts[victim].cov.size() > n && !srcGood {
			return nil
		}
		s.dropAlt(bs, victim)
	}
	a := &blockState{src: src, alt: true}
	bs.alts = append(bs.alts, a)
	s.mem.live++
	if len(s.mem.alts) > 2*s.mem.live+1024 { // forget the dropped ones
		kept := s.mem.alts[:0]
		for _, r := range s.mem.alts {
			if !r.alt.dropped {
				kept = append(kept, r)
			}
		}
		clear(s.mem.alts[len(kept):])
		s.mem.alts = kept
	}
	s.mem.alts = append(s.mem.alts, altRef{bs, a})
	return a
}

// altRef names an alternate assembly and its block's primary, for trimming.
type altRef struct{ primary, alt *blockState }

// dropAlt drops alternate i of bs, freeing its memory (caller holds mu).
func (s *session) dropAlt(bs *blockState, i int) {
	a := bs.alts[i]
	buf := a.buf
	s.stats.WastedBytes += int64(a.cov.size())
	s.mem.release(a)
	a.buf, a.dropped = nil, true
	s.mem.live--
	if buf != nil {
		s.mem.put(buf)
	}
	bs.alts = append(bs.alts[:i], bs.alts[i+1:]...)
}

// dropAlts drops every alternate of bs (caller holds mu).
func (s *session) dropAlts(bs *blockState) {
	for len(bs.alts) > 0 {
		s.dropAlt(bs, len(bs.alts)-1)
	}
}

// trimAlts drops the oldest alternates while the assembler is over its memory bounds, before
// any primary is spilled (caller holds mu). It reports whether it freed anything.
func (s *session) trimAlts() bool {
	for len(s.mem.alts) > 0 {
		r := s.mem.alts[0]
		s.mem.alts = s.mem.alts[1:]
		if r.alt.dropped {
			continue
		}
		for i, a := range r.primary.alts {
			if a == r.alt {
				s.dropAlt(r.primary, i)
				return true
			}
		}
	}
	return false
}

// endFrom reports whether an end marker from src may end sb's cycle: it must come from a
// source that is alive (see sourceState.alive) for one of its files, or sb has no file.
func (s *session) endFrom(sb *sub, src netip.Addr) bool {
	if len(sb.targets) == 0 {
		return true
	}
	for _, t := range sb.targets {
		if t.f == nil || t.f.sources.alive(src) {
			return true
		}
	}
	return false
}

// maxAltRun is the longest run of a tree page that is assembled per source (a page of the
// default height has 16 nodes); longer ones, which only a manifest with a huge page height
// asks for, are assembled first come.
const maxAltRun = 1024

// altRun is another source's assembly of a tree page's run.
type altRun struct {
	src  netip.Addr
	run  []merkle.Hash
	have *bitset.BitSet
}

// onAltRun stores hashes [lo, hi) of tree packet p, from a source other than the one whose
// hashes t's run holds, in that source's assembly of the page; a complete one that folds to
// t's node replaces t's run and completes t, one that does not is dropped and its source
// distrusted for the file (caller holds mu).
func (s *session) onAltRun(t *target, p wire.TreePacket, lo, hi int, src netip.Addr, now time.Time) {
	var a *altRun
	for _, x := range t.alts {
		if x.src == src {
			a = x
		}
	}
	if a == nil {
		if len(t.alts) >= maxAlternates {
			least := 0 // evict the assembly that holds least
			for i, x := range t.alts {
				if x.have.Count() < t.alts[least].have.Count() {
					least = i
				}
			}
			t.alts = append(t.alts[:least], t.alts[least+1:]...)
		}
		a = &altRun{src: src, run: make([]merkle.Hash, len(t.run)), have: bitset.New(uint(len(t.run)))}
		t.alts = append(t.alts, a)
	}
	for j := lo; j < hi; j++ {
		if !a.have.Test(uint(j - t.first)) {
			a.run[j-t.first] = merkle.Hash(p.Hash(j - lo))
			a.have.Set(uint(j - t.first))
		}
	}
	if a.have.Count() != uint(len(a.run)) {
		return
	}
	for i, x := range t.alts {
		if x == a {
			t.alts = append(t.alts[:i], t.alts[i+1:]...)
			break
		}
	}
	if merkle.Fold(a.run) != t.hash {
		s.stats.Corrupt++
		t.f.sources.verdict(src, false, now)
		return
	}
	copy(t.run, a.run)
	t.have.SetAll()
	t.runSrc = src
	t.alts = nil
	s.stats.TreeBytes += int64(len(a.run) * merkle.HashSize)
	s.runComplete(t, now)
}
