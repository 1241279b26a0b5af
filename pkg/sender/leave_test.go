package sender

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// wantTrigger answers Wanted as told: MLD's verdict after its last-listener query.
type wantTrigger struct {
	nullNet
	wanted bool
}

func (w *wantTrigger) Wanted(int, netip.Addr) bool { return w.wanted }

// TestSpoofedLeavesDoNotStopAChannel: leaves carry a spoofable source, so a leave from the
// channel's only known member, repeated every 50 ms, must not stop it while MLD still finds a
// listener (its query is answered); once MLD's query goes unanswered the channel stops at
// the next check, and that early stop is counted.
func TestSpoofedLeavesDoNotStopAChannel(t *testing.T) {
	s := gatherSender(t, 16<<20) // a cycle of about 12,000 datagrams outlasts the test's rounds
	w := &wantTrigger{wanted: true}
	s.cfg.Trigger = w
	key := actKey{1, mcast.DataGroup(s.cfg.Scope, s.ix.Files[0].Tree.Top())}
	now := time.Now()
	s.activate(key, host(1), now, false)
	a := s.byKey[key]
	if a == nil {
		t.Fatal("join started nothing")
	}
	ctx := context.Background()
	for i := range 20 {
		s.left(key, host(1), now.Add(time.Duration(i)*50*time.Millisecond))
		s.round(ctx)
		if err := s.flush(ctx); err != nil {
			t.Fatal(err)
		}
		if a.removed || s.byKey[key] != a {
			t.Fatalf("leave %d from the only member stopped the channel while MLD still finds a listener", i+1)
		}
	}
	if st := s.Stats(); st.FastLeaves != 0 {
		t.Errorf("FastLeaves = %d while the channel runs", st.FastLeaves)
	}
	w.wanted = false // the last-listener query went unanswered
	a.nextCheck = time.Time{}
	s.round(ctx)
	if !a.removed {
		t.Fatal("channel still running after MLD found no listener")
	}
	if st := s.Stats(); st.FastLeaves != 1 {
		t.Errorf("FastLeaves = %d, want 1", st.FastLeaves)
	}
}

// TestSpoofedParityLeaves: a forged leave of a parity group does not stop its shards while
// MLD still finds a listener; once MLD does not, the layer stops within wantedEvery.
func TestSpoofedParityLeaves(t *testing.T) {
	var f fecState
	w := &wantTrigger{wanted: true}
	key := actKey{1, netip.MustParseAddr("ff15::99")}
	t0 := time.Unix(1000, 0)
	f.event(mld.Event{Ifindex: 1, Group: key.group, Source: host(1)}, t0)
	for i := range 10 {
		at := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		f.event(mld.Event{Ifindex: 1, Group: key.group, Source: host(1), Leave: true}, at)
		f.expire(w, at)
		if len(f.members[key]) == 0 {
			t.Fatalf("forged leave %d stopped the parity layer while MLD still finds a listener", i+1)
		}
	}
	w.wanted = false
	at := t0.Add(time.Second)
	f.expire(w, at)
	f.expire(w, at.Add(wantedEvery))
	if len(f.members[key]) != 0 {
		t.Fatal("parity layer still joined after MLD found no listener")
	}
}
