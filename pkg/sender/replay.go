package sender

import "github.com/lcsync/lcsync/pkg/mcast"

// replay is a run of a part's tree packets sent again, out of turn: tree packets next..end-1
// of part.
type replay struct {
	part      *part
	next, end int64
}

// replayHashes serves a host that joined a data or stream channel mid-part. A part's leaf
// hashes go out before its blocks, and the blocks can only be verified against them; without
// help the host would hold every block it receives unverified until the cycle wraps round to
// the hashes again, and take the silence of its verifier for a stalled channel. So the hashes
// it missed are sent again at once, ahead of the blocks: a few hundred datagrams for a part of
// 512 MiB, against a part's worth of blocks kept waiting (PROTOCOL.md §5.3).
func (a *active) replayHashes() {
	if a.cyc.kind != mcast.KindData && a.cyc.kind != mcast.KindStream || a.cyc.total == 0 {
		return
	}
	p, q := a.cyc.locate(a.pos % a.cyc.total)
	missed := min(q, p.nTree) // tree packets of this part already sent
	if missed == 0 {
		return // at the part's start: its hashes come next anyway
	}
	r := &a.replay
	if r.part == p && r.next < r.end {
		// A replay is under way: start it again, so this host gets all of it.
		r.next, r.end = 0, max(r.end, missed)
		return
	}
	*r = replay{part: p, end: missed}
}
