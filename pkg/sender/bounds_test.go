package sender

import (
	"context"
	"testing"
	"time"

	"github.com/lcsync/lcsync/mld"
)

// TestWalkersBounded: manifest joins from 100,000 (forged) sources leave at most maxWalkers
// hosts remembered per interface, so a root page's gather costs a bounded time, and the
// sources stop counting after walkerTTL.
func TestWalkersBounded(t *testing.T) {
	w := walkers{}
	t0 := time.Unix(1000, 0)
	for i := range 100_000 {
		w.note(1, addrN(i), t0.Add(time.Duration(i)*time.Microsecond))
	}
	if n := len(w[1]); n > maxWalkers {
		t.Fatalf("%d walkers remembered, cap %d", n, maxWalkers)
	}
	if n := len(w.hosts(1, t0.Add(time.Second))); n == 0 || n > maxWalkers {
		t.Fatalf("%d walkers returned", n)
	}
	if n := len(w.hosts(1, t0.Add(walkerTTL+time.Second))); n != 0 {
		t.Fatalf("%d walkers still counted after walkerTTL", n)
	}
}

// slowTrigger queues manifest joins from many sources.
type slowTrigger struct {
	nullNet
	events []mld.Event
}

func (s *slowTrigger) TakeEvents(dst []mld.Event) []mld.Event {
	dst = append(dst, s.events...)
	s.events = nil
	return dst
}

// TestHeldJoinsBounded: manifest joins from many (forged) sources while a re-index runs are
// held once per channel and source, and at most maxHeld of them.
func TestHeldJoinsBounded(t *testing.T) {
	s := gatherSender(t, 64<<10)
	trig := &slowTrigger{}
	s.cfg.Trigger = trig
	s.refreshing = true // a re-index is running: manifest joins wait for it
	for i := range 50_000 {
		trig.events = append(trig.events, mld.Event{Ifindex: 1, Group: s.tab.manifest, Source: addrN(i % 20_000)})
	}
	s.takeEvents(context.Background())
	if len(s.held) > maxHeld || len(s.held) == 0 {
		t.Fatalf("%d manifest joins held, want 1..%d", len(s.held), maxHeld)
	}
}

// TestRootServedBounded: a root page activated again and again by (forged) sources remembers
// at most maxRootServed hosts.
func TestRootServedBounded(t *testing.T) {
	s := gatherSender(t, 64<<20)
	top := s.ix.Files[0].Tree.Shape().TopLevel()
	root := s.treeKey(top, 0)
	t0 := time.Unix(1000, 0)
	for round := range 200 {
		now := t0.Add(time.Duration(round) * time.Second)
		for i := range maxServed {
			s.activate(root, addrN(round*maxServed+i), now, false)
		}
		if a := s.byKey[root]; a != nil {
			s.deactivate(a, now)
		}
	}
	if n := len(s.rootServed[root]); n > maxRootServed {
		t.Fatalf("%d hosts remembered for one root page, cap %d", n, maxRootServed)
	}
}
