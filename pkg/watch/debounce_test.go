package watch

import (
	"testing"
	"time"
)

func testDebouncer() *debouncer {
	return newDebouncer(Config{Settle: 100 * time.Millisecond, MaxDelay: 10 * time.Second, Window: 50 * time.Millisecond, BatchMax: time.Second})
}

// step advances the clock to the debouncer's next deadline (at most until end) and returns
// the batches sent on the way.
func run(d *debouncer, now *time.Time, end time.Time) []Batch {
	var out []Batch
	for {
		send, next := d.tick(*now)
		if send {
			out = append(out, d.take(*now))
			continue
		}
		if next.IsZero() || next.After(end) {
			*now = end
			return out
		}
		*now = next
	}
}

// TestClosedFileIsReadyAtOnce: a file closed after writing goes out a Window later, not a
// Settle later.
func TestClosedFileIsReadyAtOnce(t *testing.T) {
	d := testDebouncer()
	t0 := time.Unix(1000, 0)
	now := t0
	d.note("f", wContent, now)
	d.note("f", wClosed, now)
	bs := run(d, &now, t0.Add(time.Second))
	if len(bs) != 1 || len(bs[0].Changes) != 1 {
		t.Fatalf("batches %+v", bs)
	}
	if send, _ := d.tick(t0.Add(49 * time.Millisecond)); send {
		t.Error("empty debouncer sends")
	}
}

// TestUnclosedWriteWaitsForQuiet: a file written without a close goes out Settle after its
// last write.
func TestUnclosedWriteWaitsForQuiet(t *testing.T) {
	d := testDebouncer()
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		d.note("f", wContent, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	now := t0.Add(80 * time.Millisecond)
	if send, next := d.tick(now); send || !next.Equal(t0.Add(180*time.Millisecond)) {
		t.Fatalf("tick = %v, %v; want a wait until the file is quiet for 100ms", send, next)
	}
	bs := run(d, &now, t0.Add(time.Second))
	if len(bs) != 1 {
		t.Fatalf("batches %+v", bs)
	}
}

// TestLogPublishedAtMostEveryMaxDelay: a file appended every 100ms for 60s, whether it is
// closed after each append or not, goes out at most once per MaxDelay (plus the first time).
func TestLogPublishedAtMostEveryMaxDelay(t *testing.T) {
	for _, closes := range []bool{false, true} {
		d := testDebouncer()
		t0 := time.Unix(1000, 0)
		now := t0
		var sent []time.Time
		for i := range 600 {
			at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
			for _, b := range run(d, &now, at) {
				if len(b.Changes) > 0 {
					sent = append(sent, now)
				}
			}
			d.note("log", wContent, at)
			if closes {
				d.note("log", wClosed, at)
			}
		}
		if len(sent) > 60/10+2 {
			t.Errorf("closes=%v: %d batches in 60s, want at most one per 10s: %v", closes, len(sent), sent)
		}
		if len(sent) < 5 {
			t.Errorf("closes=%v: only %d batches in 60s: a log must still be published every MaxDelay", closes, len(sent))
		}
	}
}

// TestFileRewrittenEvery2sIsNotHot: a file rewritten and closed every 2s goes out at each
// rewrite, a Window after the close.
func TestFileRewrittenEvery2sIsNotHot(t *testing.T) {
	d := testDebouncer()
	t0 := time.Unix(1000, 0)
	now := t0
	for i := range 10 {
		at := t0.Add(time.Duration(i) * 2 * time.Second)
		run(d, &now, at)
		d.note("f", wClosed, at)
		bs := run(d, &now, at.Add(60*time.Millisecond))
		if len(bs) != 1 {
			t.Fatalf("rewrite %d: %d batches within 60ms of the close", i, len(bs))
		}
	}
}

// TestBurstBatched: 1000 files closed over one second (an untar) go out in few batches; each
// batch closes Window after its last ready path or BatchMax after its first.
func TestBurstBatched(t *testing.T) {
	d := testDebouncer()
	t0 := time.Unix(1000, 0)
	now := t0
	var bs []Batch
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		bs = append(bs, run(d, &now, at)...)
		d.note(string(rune('a'+i%26))+string(rune(i)), wClosed, at)
	}
	bs = append(bs, run(d, &now, t0.Add(3*time.Second))...)
	n := 0
	for _, b := range bs {
		n += len(b.Changes)
	}
	if n != 1000 || len(bs) > 3 {
		t.Errorf("%d changes in %d batches, want 1000 in at most 3", n, len(bs))
	}
}

// TestRescanTakesEverything: a rescan goes out at once and covers what was pending.
func TestRescanTakesEverything(t *testing.T) {
	d := testDebouncer()
	t0 := time.Unix(1000, 0)
	d.note("f", wContent, t0)
	d.needRescan()
	send, _ := d.tick(t0)
	if !send {
		t.Fatal("a rescan waits")
	}
	b := d.take(t0)
	if !b.Rescan || len(b.Changes) != 0 || d.pending() {
		t.Errorf("batch %+v, pending %v", b, d.pending())
	}
}

// TestKinds: deletions win over earlier writes, writes over attribute changes, and a
// deleted then recreated file is a plain change.
func TestKinds(t *testing.T) {
	d := testDebouncer()
	t0 := time.Unix(1000, 0)
	d.note("meta", wMeta, t0)
	d.note("both", wMeta, t0)
	d.note("both", wClosed, t0)
	d.note("dir", wTree, t0)
	d.note("back", wGone, t0)
	d.note("back", wClosed, t0)
	now := t0
	bs := run(d, &now, t0.Add(time.Second))
	want := map[string]Change{"meta": {Rel: "meta", Meta: true}, "both": {Rel: "both"}, "dir": {Rel: "dir", Tree: true}, "back": {Rel: "back"}}
	for rel, w := range want {
		if c, ok := change(bs, rel); !ok || c != w {
			t.Errorf("%s: %+v, want %+v", rel, c, w)
		}
	}
}
