package follow_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/follow"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sender"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a sender on a fake link serving src, and a follower of it into dst.
type rig struct {
	t        *testing.T
	n        *mcasttest.Net
	s        *sender.Sender
	src, dst string
	applied  chan follow.Applied
	f        *follow.Follower // the follower follow started last
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, n: mcasttest.NewNet(), src: filepath.Join(t.TempDir(), "share"), dst: filepath.Join(t.TempDir(), "mirror"),
		applied: make(chan follow.Applied, 16)}
	if err := os.MkdirAll(r.src, 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) serve() { r.serveAt(0) }

// serveAt serves src at rate bits per second (0: unlimited).
func (r *rig) serveAt(rate float64) {
	t := r.t
	ix, err := index.Build(context.Background(), r.src, index.Options{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sender.New(sender.Config{Index: ix, Transport: r.n, Trigger: r.n, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sender: %v", err)
		}
	})
}

// follow runs a follower until the returned stop is called.
func (r *rig) follow(mod func(*follow.Config)) (stop func() error) {
	cfg := follow.Config{Name: "share/", Dest: r.dst, Rejoin: 200 * time.Millisecond,
		Fetch:     receiver.Config{IdleTimeout: 5 * time.Second, Retrigger: 100 * time.Millisecond, Times: true, Perms: true},
		Listen:    func() (receiver.Transport, error) { return r.n.Conn(0), nil },
		OnApplied: func(a follow.Applied) { r.applied <- a },
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := follow.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.f = f
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func (r *rig) write(name string, b []byte) {
	p := filepath.Join(r.src, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// next waits for the next applied generation.
func (r *rig) next(what string) follow.Applied {
	r.t.Helper()
	select {
	case a := <-r.applied:
		return a
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no generation applied within 10s (%s)", what)
		return follow.Applied{}
	}
}

// same checks that dst holds exactly src's files.
func (r *rig) same() {
	r.t.Helper()
	want, got := tree(r.t, r.src), tree(r.t, r.dst)
	for name, b := range want {
		if g, ok := got[name]; !ok || !bytes.Equal(g, b) {
			r.t.Errorf("%s: missing or different in the mirror", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			r.t.Errorf("%s: in the mirror, not in the source", name)
		}
	}
}

func tree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == follow.StateName || d.Name() == follow.ObjectsName {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestFollowerAppliesGenerations(t *testing.T) {
	r := newRig(t)
	big := random(200 * 1024)
	r.write("big", big)
	r.write("d/a", random(3000))
	r.write("d/b", random(100))
	r.serve()
	stop := r.follow(nil)
	a := r.next("first")
	r.same()

	// Rename by content: no data bytes for the moved file; a change and a new file too.
	if err := os.Rename(filepath.Join(r.src, "big"), filepath.Join(r.src, "d", "big2")); err != nil {
		t.Fatal(err)
	}
	r.write("d/a", random(3000))
	r.write("new", random(10))
	r.s.Reindex()
	b := r.next("rename")
	if b.Generation <= a.Generation {
		t.Errorf("generation %d applied after %d", b.Generation, a.Generation)
	}
	if b.Renamed != 1 || b.RenamedBytes != int64(len(big)) {
		t.Errorf("renamed %d files (%d bytes), want 1 (%d)", b.Renamed, b.RenamedBytes, len(big))
	}
	if b.Stats.NeededBytes > 10*1024 {
		t.Errorf("%d bytes fetched for a rename, a 3000-byte change and a 10-byte file", b.Stats.NeededBytes)
	}
	r.same()

	// The delete guard: removing 3 of 4 files is refused, and the next generation that
	// passes is applied.
	for _, n := range []string{"d/a", "d/b", "new"} {
		os.Remove(filepath.Join(r.src, n))
	}
	r.s.Reindex()
	select {
	case a := <-r.applied:
		t.Fatalf("generation %d deleting 3 of 4 files was applied", a.Generation)
	case <-time.After(1500 * time.Millisecond):
	}
	r.write("d/a", random(3000))
	r.write("d/b", random(100))
	r.write("new", random(10))
	r.s.Reindex()
	c := r.next("after the refused one")
	r.same()
	st := r.f.Stats()
	if st.Applied != 3 || st.Refused != 1 || st.Failed != 0 || st.Renamed != 1 || st.Generation != c.Generation ||
		st.FetchedBytes < uint64(len(big)) || st.Fetched < 5 || st.Signed || st.Lag != c.Lag {
		t.Errorf("stats %+v after 3 generations applied (the last %d), 1 refused, 1 rename", st, c.Generation)
	}
	if c.Lag <= 0 || c.Lag > 10*time.Second || c.Published.IsZero() || st.AppliedAt.Before(c.Published) {
		t.Errorf("lag %v, published %v, applied at %v", c.Lag, c.Published, st.AppliedAt)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A restarted follower finds its generation recorded: nothing applied until a change.
	stop = r.follow(nil)
	select {
	case a := <-r.applied:
		t.Fatalf("generation %d applied again after a restart", a.Generation)
	case <-time.After(800 * time.Millisecond):
	}
	r.write("later", random(50))
	r.s.Reindex()
	r.next("after the restart")
	r.same()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestSecondFollowerRefused: a mirror is applied to by one follower at a time.
func TestSecondFollowerRefused(t *testing.T) {
	r := newRig(t)
	r.write("a", random(500))
	r.serve()
	stop := r.follow(nil)
	defer stop()
	r.next("first")
	f, err := follow.New(follow.Config{Name: "share/", Dest: r.dst,
		Listen: func() (receiver.Transport, error) { return r.n.Conn(0), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Run(ctx); err == nil || !strings.Contains(err.Error(), "another follower") {
		t.Fatalf("a second follower of the same mirror: %v", err)
	}
}

func TestFollowerForceDelete(t *testing.T) {
	r := newRig(t)
	for _, n := range []string{"a", "b", "c"} {
		r.write(n, random(500))
	}
	r.serve()
	stop := r.follow(func(c *follow.Config) { c.ForceDelete = true })
	defer stop()
	r.next("first")
	os.Remove(filepath.Join(r.src, "a"))
	os.Remove(filepath.Join(r.src, "b"))
	r.s.Reindex()
	r.next("deleting 2 of 3")
	r.same()
}

func TestNewRefusesBadConfig(t *testing.T) {
	listen := func() (receiver.Transport, error) { return nil, errors.New("no") }
	for _, c := range []follow.Config{
		{Name: "share", Dest: "x", Listen: listen},
		{Name: "share/", Dest: "", Listen: listen},
		{Name: "share/", Dest: "x"},
		{Name: "share/", Dest: "x", Listen: listen, MaxDelete: 101},
		{Name: "../x/", Dest: "x", Listen: listen},
	} {
		if _, err := follow.New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// TestFollowerStopsPromptly cancels followers at random points of their passes: Run must
// return at once every time.
func TestFollowerStopsPromptly(t *testing.T) {
	r := newRig(t)
	r.write("big", random(2<<20))
	r.serve()
	for i := range 20 {
		stop := r.follow(nil)
		if i%2 == 0 {
			r.write(fmt.Sprintf("f%d", i), random(300*1024))
			r.s.Reindex()
		}
		time.Sleep(time.Duration(i*7) * time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- stop() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(3 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("Run did not return within 3s of the cancel (round %d):\n%s", i, buf[:runtime.Stack(buf, true)])
		}
	drain:
		for {
			select {
			case <-r.applied:
			default:
				break drain
			}
		}
	}
}

// TestFollowerSupersedes changes a file while the first pass is fetching it: the pass stalls
// (the old content is no longer served) and is abandoned for the newer generation, which is
// the first one applied.
func TestFollowerSupersedes(t *testing.T) {
	r := newRig(t)
	r.write("big", random(1<<20))
	r.serveAt(4e6) // about 2 s for the file
	var gens []uint64
	stop := r.follow(func(c *follow.Config) {
		c.SupersedeAfter = 300 * time.Millisecond
		c.Fetch.StallAfter = 200 * time.Millisecond
	})
	defer stop()
	time.Sleep(500 * time.Millisecond)
	newer := random(1 << 20)
	r.write("big", newer)
	r.s.Reindex()
	a := r.next("the newer generation")
	gens = append(gens, a.Generation)
	got, err := os.ReadFile(filepath.Join(r.dst, "big"))
	if err != nil || !bytes.Equal(got, newer) {
		t.Fatalf("the mirror does not hold the newer content (%v)", err)
	}
	if a.Stats.Files != 1 {
		t.Errorf("applied generation %d fetched %d files, want 1", a.Generation, a.Stats.Files)
	}
	select {
	case b := <-r.applied:
		t.Errorf("generation %d applied after %v", b.Generation, gens)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestFollowerKeepsObjects: a follower restarted walks the next generation from the tree
// objects it recorded (fetching only the directories that changed) and renames by content
// against the generation it applied before the restart (no data for a moved file); without
// the record it fetches every object again and the moved file's data.
func TestFollowerKeepsObjects(t *testing.T) {
	r := newRig(t)
	for d := range 12 {
		for f := range 3 {
			r.write(fmt.Sprintf("d%02d/f%d", d, f), random(100+f))
		}
	}
	big := random(64 * 1024)
	r.write("d00/big", big)
	r.serve()
	stop := r.follow(nil)
	r.next("first")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.dst, follow.ObjectsName)); err != nil {
		t.Fatalf("no objects recorded: %v", err)
	}
	// While the follower is down: a move to another directory, and one file changed.
	step := func(what, to string) (follow.Applied, uint64) {
		t.Helper()
		if err := os.Rename(filepath.Join(r.src, "d00", "big"), filepath.Join(r.src, to)); err != nil {
			t.Fatal(err)
		}
		r.write("d05/f1", random(101))
		r.s.Reindex()
		time.Sleep(300 * time.Millisecond) // the new generation is served before the follower asks
		before := r.s.Stats().ObjectPackets
		stop := r.follow(nil)
		a := r.next(what)
		after := r.s.Stats().ObjectPackets
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		r.same()
		return a, after - before
	}
	a, objects := step("after a restart", "d07/big")
	if a.Renamed != 1 || a.RenamedBytes != int64(len(big)) || a.Stats.NeededBytes > 4096 {
		t.Errorf("after a restart: renamed %d (%d bytes), %d bytes fetched; want the move renamed in place", a.Renamed, a.RenamedBytes, a.Stats.NeededBytes)
	}
	// The changed objects: the share's, d00's, d05's, d07's (a datagram or two each).
	if objects > 8 {
		t.Errorf("after a restart: %d object datagrams sent, want those of the 4 changed directories", objects)
	}

	// Without the record: every object, and the moved file's data.
	if err := os.Remove(filepath.Join(r.dst, follow.ObjectsName)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(r.src, "d07", "big"), filepath.Join(r.src, "d00", "big")); err != nil {
		t.Fatal(err)
	}
	b, objectsFresh := step("after a restart without the record", "d09/big")
	if b.Renamed != 0 || objectsFresh < 13 {
		t.Errorf("without the record: renamed %d, %d object datagrams; want 0 and every directory's (13)", b.Renamed, objectsFresh)
	}
	t.Logf("object datagrams for a generation after a restart: %d with the record, %d without", objects, objectsFresh)
}

// TestMeasureFollowersBlockChange (LCSYNC_MEASURE=1) prints the sender's bytes for one changed
// block of a 16 MiB file with 1 and 4 followers.
func TestMeasureFollowersBlockChange(t *testing.T) {
	if os.Getenv("LCSYNC_MEASURE") == "" {
		t.Skip("set LCSYNC_MEASURE=1")
	}
	for _, n := range []int{1, 4} {
		r := newRig(t)
		big := random(16 << 20)
		r.write("big", big)
		for i := range 50 {
			r.write(fmt.Sprintf("d/f%d", i), random(100))
		}
		r.serve()
		var stops []func() error
		apps := make(chan follow.Applied, 64)
		for i := range n {
			dst := filepath.Join(t.TempDir(), fmt.Sprint("m", i))
			r.dst = dst
			host := r.n.Conn(0) // each follower's sockets come from one host, as on a real link
			stops = append(stops, r.follow(func(c *follow.Config) {
				c.OnApplied = func(a follow.Applied) { apps <- a }
				c.Listen = func() (receiver.Transport, error) { return r.n.ConnOf(host, 0), nil }
			}))
		}
		for range n {
			<-apps
		}
		time.Sleep(500 * time.Millisecond)
		before := r.s.Stats()
		copy(big[8<<20:], random(4096))
		r.write("big", big)
		r.s.Reindex()
		for range n {
			select {
			case <-apps:
			case <-time.After(20 * time.Second):
				t.Fatal("timeout")
			}
		}
		after := r.s.Stats()
		t.Logf("N=%d: %d bytes, %d datagrams, %d cycles: manifest %d, object %d, tree %d, block %d, replay %d datagrams", n, after.Bytes-before.Bytes, after.Datagrams-before.Datagrams, after.Cycles-before.Cycles,
			after.ManifestPackets-before.ManifestPackets, after.ObjectPackets-before.ObjectPackets, after.TreePackets-before.TreePackets,
			after.BlockPackets-before.BlockPackets, after.ReplayPackets-before.ReplayPackets)
		for _, s := range stops {
			s()
		}
	}
}

// TestFollowerClonesLargeFiles: a large file the follower applied, changed on the server, is
// cloned from the mirror on its kept leaves (receiver.Config.LocalTree) instead of being read
// and hashed: after a block change, a chmod, a rename and an append. A local edit of the
// mirror's copy (the file no longer has the identity recorded) makes it hashed as before, and
// every pass leaves the mirror exactly the source.
func TestFollowerClonesLargeFiles(t *testing.T) {
	r := newRig(t)
	big := random(1100 * 1024) // 1100 blocks of 1 KiB: its leaves are kept
	r.write("big", big)
	r.write("small", random(3000))
	r.serve()
	stop := r.follow(nil)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	if a := r.next("first"); a.Stats.Cloned != 0 {
		t.Errorf("first pass: %d bytes cloned from an empty mirror", a.Stats.Cloned)
	}
	r.same()
	change := func(what string, cloned int64) {
		t.Helper()
		r.s.Reindex()
		a := r.next(what)
		r.same()
		if a.Stats.Cloned != cloned {
			t.Errorf("%s: %d bytes cloned, want %d", what, a.Stats.Cloned, cloned)
		}
		if cloned > 0 && a.Stats.NeededBytes > 16*1024 {
			t.Errorf("%s: %d bytes fetched", what, a.Stats.NeededBytes)
		}
	}
	big[500*1024+7] ^= 1
	r.write("big", big)
	change("one block changed", int64(len(big)))

	big[10] ^= 1
	r.write("big", big)
	change("another block changed (leaves kept from the cloned pass)", int64(len(big)))

	if err := os.Chmod(filepath.Join(r.src, "big"), 0o600); err != nil {
		t.Fatal(err)
	}
	change("chmod", 0)
	big[20*1024] ^= 1
	r.write("big", big)
	change("a block changed after the chmod", int64(len(big)))

	if err := os.Rename(filepath.Join(r.src, "big"), filepath.Join(r.src, "big2")); err != nil {
		t.Fatal(err)
	}
	change("renamed", 0)
	old := len(big)
	big = append(big, random(10*1024)...)
	r.write("big2", big)
	change("appended to after the rename", int64(old))

	// A local edit of the mirror's copy: the recorded identity no longer holds.
	p := filepath.Join(r.dst, "big2")
	mine, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	mine[5] ^= 1
	if err := os.WriteFile(p, mine, 0o600); err != nil {
		t.Fatal(err)
	}
	big[900*1024] ^= 1
	r.write("big2", big)
	change("changed on both sides", 0)
}

// TestFollowerRenamesDirectories: a directory renamed on the server is renamed whole in the
// mirror (one rename: the directory keeps its inode), its files, links and subdirectories
// with it, no data fetched; one that holds a local extra is moved file by file instead, and
// the extra goes as any local extra does.
func TestFollowerRenamesDirectories(t *testing.T) {
	r := newRig(t)
	r.write("d/e/f1", random(5000))
	r.write("d/g", random(3000))
	r.write("d/empty", nil)
	r.write("other", random(100))
	if err := os.Symlink("g", filepath.Join(r.src, "d", "l")); err != nil {
		t.Fatal(err)
	}
	r.serve()
	stop := r.follow(nil)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	r.next("first")
	r.same()
	inode := func(rel string) uint64 {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(r.dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := inode("d")
	if err := os.MkdirAll(filepath.Join(r.src, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(r.src, "d"), filepath.Join(r.src, "x", "d2")); err != nil {
		t.Fatal(err)
	}
	r.s.Reindex()
	a := r.next("directory renamed")
	r.same()
	if got := inode("x/d2"); got != before {
		t.Errorf("the mirror's directory was not renamed whole (inode %d, was %d)", got, before)
	}
	if a.Renamed != 4 || a.Stats.NeededBytes != 0 {
		t.Errorf("renamed %d entries, fetched %d bytes; want 4 (3 files and a link), 0", a.Renamed, a.Stats.NeededBytes)
	}

	// A local extra in the mirror's directory: moved file by file, the extra deleted.
	if err := os.WriteFile(filepath.Join(r.dst, "x", "d2", "mine"), []byte("local"), 0o644); err != nil {
		t.Fatal(err)
	}
	before = inode("x/d2")
	if err := os.Rename(filepath.Join(r.src, "x", "d2"), filepath.Join(r.src, "y")); err != nil {
		t.Fatal(err)
	}
	r.s.Reindex()
	a = r.next("directory with a local extra renamed")
	r.same()
	if got := inode("y"); got == before {
		t.Error("a directory holding a local extra was renamed whole")
	}
	if a.Renamed != 2 || a.Stats.NeededBytes != 0 {
		t.Errorf("renamed %d entries, fetched %d bytes; want 2 (the files with data: the fetch makes the rest), 0", a.Renamed, a.Stats.NeededBytes)
	}
}
