package sender

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// nullNet sends nowhere and reports no joins: the tests below drive the sender's channel
// table directly.
type nullNet struct{}

func (nullNet) Send(_ int, ds []mcast.Datagram) (int, error) { return len(ds), nil }
func (nullNet) Ifaces() []net.Interface                      { return []net.Interface{{Index: 1, Name: "null0"}} }
func (nullNet) Wanted(int, netip.Addr) bool                  { return true }
func (nullNet) Notify() <-chan struct{}                      { return nil }
func (nullNet) TakeEvents(dst []mld.Event) []mld.Event       { return dst }

// gatherSender serves one file of size random bytes in 64 KiB blocks (random, so that no two
// nodes share a channel).
func gatherSender(t *testing.T, size int64) *Sender {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "share")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := index.Build(context.Background(), dir, index.Options{BlockSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Index: ix, Transport: nullNet{}, Trigger: nullNet{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func host(i byte) netip.Addr { return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 15: i}) }

// treeKey returns the key of the tree page of node (k, i) of the served file.
func (s *Sender) treeKey(k, i int) actKey {
	return actKey{1, mcast.TreeGroup(s.cfg.Scope, uint8(k), [32]byte(s.ix.Files[0].Tree.Node(k, i)))}
}

// TestRootGather: the root page of a large file waits for the hosts that joined the manifest
// and goes out as soon as the last of them joins it, waiting in proportion to the file's size below 512 MiB; a host
// that takes the wait for silence and joins again (leaving first) finds it going on; a lone
// host does not wait.
func TestRootGather(t *testing.T) {
	s := gatherSender(t, 64<<20)
	t0 := time.Unix(1000, 0)
	man := actKey{1, s.tab.manifest}
	s.activate(man, host(1), t0, false)
	s.activate(man, host(2), t0.Add(time.Millisecond), false)
	top := s.ix.Files[0].Tree.Shape().TopLevel()
	root := s.treeKey(top, 0)
	s.activate(root, host(1), t0.Add(time.Second), false)
	a := s.byKey[root]
	if a == nil || !a.pause.Equal(t0.Add(time.Second+s.cfg.RootGather/8)) || len(a.expect) != 2 {
		t.Fatalf("root page of a 64 MiB file after the first join: %+v, want a wait of %v", a, s.cfg.RootGather/8)
	}
	// Host 1 leaves and joins again 20 ms later: the same wait goes on.
	s.left(root, host(1), t0.Add(time.Second+100*time.Millisecond))
	s.activate(root, host(1), t0.Add(time.Second+120*time.Millisecond), false)
	if s.byKey[root] != a || a.removed || !a.pause.Equal(t0.Add(time.Second+s.cfg.RootGather/8)) {
		t.Fatalf("a rejoin during the wait started it anew: %+v", s.byKey[root])
	}
	at := t0.Add(time.Second + 120*time.Millisecond)
	s.activate(root, host(2), at, false)
	if !a.pause.Equal(at) || a.expect != nil {
		t.Fatalf("root page still waits after every host joined: pause %v, expect %v", a.pause.Sub(t0), a.expect)
	}

	lone := gatherSender(t, 64<<20)
	lone.activate(actKey{1, lone.tab.manifest}, host(1), t0, false)
	root = lone.treeKey(top, 0)
	lone.activate(root, host(1), t0.Add(time.Second), false)
	if a := lone.byKey[root]; a == nil || !a.pause.Equal(t0.Add(time.Second+lone.cfg.Gather)) || a.expect != nil {
		t.Fatalf("a lone host's root page waits: %+v", a)
	}

	small := gatherSender(t, 1<<20)
	small.activate(actKey{1, small.tab.manifest}, host(1), t0, false)
	small.activate(actKey{1, small.tab.manifest}, host(2), t0, false)
	stop := small.ix.Files[0].Tree.Shape().TopLevel()
	root = small.treeKey(stop, 0)
	small.activate(root, host(1), t0.Add(time.Second), false)
	if a := small.byKey[root]; a == nil || a.expect != nil {
		t.Fatalf("a small file's root page waits: %+v", a)
	}
}

// TestWalkGather: a page below the root waits for the hosts its parent page served, and
// waits are given up for the file once they mostly time out.
func TestWalkGather(t *testing.T) {
	s := gatherSender(t, 64<<20)
	t0 := time.Unix(1000, 0)
	man := actKey{1, s.tab.manifest}
	s.activate(man, host(1), t0, false)
	s.activate(man, host(2), t0, false)
	sh := s.ix.Files[0].Tree.Shape()
	top, h := sh.TopLevel(), s.cfg.PageHeight
	root := s.treeKey(top, 0)
	s.activate(root, host(1), t0, false)
	s.activate(root, host(2), t0, false)
	s.deactivate(s.byKey[root], t0.Add(10*time.Millisecond))

	// Children of the root page, on the level its page carries.
	now := t0.Add(20 * time.Millisecond)
	child := s.treeKey(top-h, 1)
	s.activate(child, host(2), now, false)
	a := s.byKey[child]
	if a == nil || !a.pause.Equal(now.Add(s.cfg.WalkGather)) || len(a.expect) != 2 {
		t.Fatalf("child page after the first join: %+v", a)
	}
	s.activate(child, host(1), now.Add(30*time.Millisecond), false)
	if a.expect != nil || !a.pause.Equal(now.Add(30*time.Millisecond)) {
		t.Fatalf("child page still waits after both hosts joined: %+v", a)
	}

	// Hosts whose old copies differ: the others never come, waits time out, and after a few
	// the file's channels stop waiting.
	waited := 0
	for i := 2; i < sh.LevelLen(top-h) && i < 16; i++ {
		k := s.treeKey(top-h, i)
		s.activate(k, host(1), now, false)
		a := s.byKey[k]
		if a.expect == nil {
			break
		}
		waited++
		s.gatherTimedOut(a)
	}
	if waited == 0 || waited > 10 {
		t.Fatalf("%d waits timed out before the file's channels stopped waiting", waited)
	}
}

// TestGatherRetry: nobody waits for a host a channel already served. A host that lost the
// root page and joins it again gets it at once (the others got theirs and will not come
// back; a wait longer than the receiver's rejoin interval would starve it for good), a page
// below does not wait for hosts it served lately, and a host that joined the manifest again
// since it got the root page is waited for again.
func TestGatherRetry(t *testing.T) {
	s := gatherSender(t, 64<<20)
	t0 := time.Unix(1000, 0)
	man := actKey{1, s.tab.manifest}
	for h := byte(1); h <= 3; h++ {
		s.activate(man, host(h), t0, false)
	}
	top, ph := s.ix.Files[0].Tree.Shape().TopLevel(), s.cfg.PageHeight
	root := s.treeKey(top, 0)
	for h := byte(1); h <= 3; h++ {
		s.activate(root, host(h), t0.Add(time.Second), false)
	}
	s.deactivate(s.byKey[root], t0.Add(time.Second+10*time.Millisecond))

	// Host 2 lost the page: its join again starts the page without a gather wait.
	at := t0.Add(time.Second + 300*time.Millisecond)
	s.left(root, host(2), at)
	s.activate(root, host(2), at.Add(20*time.Millisecond), false)
	if a := s.byKey[root]; a == nil || a.expect != nil || a.pause.After(at.Add(20*time.Millisecond+s.cfg.Gather)) {
		t.Fatalf("a retry of the root page waits: %+v", a)
	}
	s.deactivate(s.byKey[root], at.Add(30*time.Millisecond))

	// A page below served hosts 1 and 3; host 1 joins it again: no wait for 3.
	child := s.treeKey(top-ph, 0)
	s.activate(child, host(1), at, false)
	s.activate(child, host(3), at, false)
	s.deactivate(s.byKey[child], at.Add(5*time.Millisecond))
	s.left(child, host(1), at.Add(80*time.Millisecond))
	s.activate(child, host(1), at.Add(100*time.Millisecond), false)
	if a := s.byKey[child]; a == nil || a.expect != nil {
		t.Fatalf("a retry of a page waits for hosts it served: %+v", a)
	}

	// Hosts 1 and 3 fetch again later: they joined the manifest since their root page, so
	// the root waits for both again.
	later := t0.Add(time.Minute)
	s.activate(man, host(1), later, false)
	s.activate(man, host(3), later, false)
	s.activate(root, host(1), later.Add(time.Second), false)
	a := s.byKey[root]
	if a == nil || len(a.expect) != 2 || slices.Contains(a.expect, host(2)) {
		t.Fatalf("a new fetch's root page: %+v, want it to wait for hosts 1 and 3", a)
	}
}

// listedSender is gatherSender serving a 1 MiB file, with the key of the tree object that
// lists the file (new in this generation if fresh) and of the file's root page.
func listedSender(t *testing.T, fresh bool) (*Sender, actKey, actKey) {
	t.Helper()
	s := gatherSender(t, 1<<20)
	id, ok := s.ix.EntryObject(s.ix.Files[0].Entry.Name)
	if !ok {
		t.Fatal("no object lists the file")
	}
	obj := actKey{1, mcast.ObjectGroup(s.cfg.Scope, id)}
	s.tab.fresh = map[netip.Addr]bool{obj.group: fresh}
	return s, obj, s.treeKey(s.ix.Files[0].Tree.Shape().TopLevel(), 0)
}

// TestListedGather: after a generation that changed a file, its root page waits (whatever
// the file's size) for the hosts that fetched the new object listing it, and goes out once
// they have all joined; an object that did not change in the generation makes nobody wait.
func TestListedGather(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, fresh := range []bool{true, false} {
		s, obj, root := listedSender(t, fresh)
		s.served[obj] = servedRec{hosts: []netip.Addr{host(1), host(2)}, at: t0}
		at := t0.Add(100 * time.Millisecond)
		s.activate(root, host(2), at, false)
		a := s.byKey[root]
		if !fresh {
			if a == nil || a.expect != nil || !a.pause.Equal(at.Add(s.cfg.Gather)) {
				t.Fatalf("an unchanged directory's file waits: %+v", a)
			}
			continue
		}
		if a == nil || len(a.expect) != 2 || !a.pause.Equal(at.Add(s.cfg.RootGather/2)) {
			t.Fatalf("root page of a 1 MiB file just changed: %+v, want a wait of %v for 2 hosts", a, s.cfg.RootGather/2)
		}
		late := at.Add(200 * time.Millisecond)
		s.activate(root, host(1), late, false)
		if !a.pause.Equal(late) || a.expect != nil {
			t.Fatalf("root page still waits after both hosts joined: pause %v, expect %v", a.pause.Sub(t0), a.expect)
		}
	}
}

// TestListedGatherGivesUp: when a generation's root pages keep waiting in vain for a follower
// (one that fetched the directory's object but does not fetch the changed files: its own
// excludes, or it is gone), they stop waiting after a few timeouts, until the next generation.
func TestListedGatherGivesUp(t *testing.T) {
	s, obj, root := listedSender(t, true)
	at := time.Unix(1000, 0)
	waits := func(gen uint64, i byte) bool {
		t.Helper()
		s.gen = gen
		// Host 1 fetched the object and never comes; host 10+i comes for the file.
		s.served[obj] = servedRec{hosts: []netip.Addr{host(1), host(10 + i)}, at: at}
		s.activate(root, host(10+i), at, false)
		a := s.byKey[root]
		if a == nil {
			t.Fatal("no channel")
		}
		waited := a.expect != nil
		if waited {
			at = a.pause
			s.gatherTimedOut(a)
		}
		s.deactivate(a, at)
		s.compact()
		at = at.Add(time.Second)
		return waited
	}
	n := 0
	for i := byte(0); i < 20 && waits(7, i); i++ {
		n++
	}
	if n < 3 || n > 10 {
		t.Fatalf("root pages waited %d times in vain in one generation, want a few (3-10)", n)
	}
	if !waits(8, 30) {
		t.Fatal("the next generation's root page does not wait for its followers")
	}
}
