package sender

import (
	"context"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// TestReplayHashes: a host that joins a data channel after the hashes of the part being sent
// went out gets those hashes again at once, ahead of the next block, and only those it
// missed; a join at the part's start replays nothing.
func TestReplayHashes(t *testing.T) {
	s := gatherSender(t, 4<<20) // 64 leaves of 64 KiB: two tree packets at MTU 1500
	top := s.ix.Files[0].Tree
	key := actKey{1, mcast.DataGroup(s.cfg.Scope, top.Top())}
	t0 := time.Unix(1000, 0)
	s.activate(key, host(1), t0, false)
	a := s.byKey[key]
	if a == nil {
		t.Fatal("the join started no channel")
	}
	nTree := a.cyc.parts[0].nTree
	if nTree < 2 {
		t.Fatalf("want a part with at least two tree packets, got %d", nTree)
	}

	s.activate(key, host(2), t0.Add(time.Millisecond), false) // still at the start
	if a.replay.end != 0 {
		t.Fatalf("a join at the part's start replays %d packets", a.replay.end)
	}

	a.pos = 1 // one tree packet out
	s.activate(key, host(3), t0.Add(2*time.Millisecond), false)
	if a.replay.next != 0 || a.replay.end != 1 {
		t.Fatalf("a join after one tree packet: replay %d..%d, want 0..1", a.replay.next, a.replay.end)
	}

	a.pos = nTree + 5 // into the blocks, replay not yet sent
	s.activate(key, host(4), t0.Add(3*time.Millisecond), false)
	if a.replay.next != 0 || a.replay.end != nTree {
		t.Fatalf("a join among the blocks: replay %d..%d, want 0..%d", a.replay.next, a.replay.end, nTree)
	}

	s.burst(context.Background(), a, t0.Add(4*time.Millisecond))
	q := s.out.queue
	if int64(len(q)) <= nTree {
		t.Fatalf("burst queued %d datagrams, want more than %d", len(q), nTree)
	}
	for i := range nTree {
		p, err := wire.ParseTree(q[i].d.Payload)
		if err != nil {
			t.Fatalf("datagram %d is not a tree packet: %v", i, err)
		}
		if want := uint32(i) * uint32(s.geo.perTree); p.Level != 0 || p.Index != want {
			t.Fatalf("tree packet %d: level %d index %d, want level 0 index %d", i, p.Level, p.Index, want)
		}
	}
	b, err := wire.ParseBlock(q[nTree].d.Payload)
	if err != nil || b.Block != 0 || int(b.Offset) != 5*s.geo.piece {
		t.Fatalf("after the replay: %+v, %v; want block 0 from piece 5", b, err)
	}
	if st := s.Stats(); st.ReplayPackets != uint64(nTree) {
		t.Fatalf("ReplayPackets = %d, want %d", st.ReplayPackets, nTree)
	}

	s.activate(key, host(4), t0.Add(5*time.Millisecond), false) // a repeat: nothing again
	if a.replay.next != a.replay.end {
		t.Fatalf("a repeated join replays again: %d..%d", a.replay.next, a.replay.end)
	}
}
