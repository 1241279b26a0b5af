package receiver

import "testing"

// TestDrainTakesWaitingBlocksUpToABatch checks that a worker takes the blocks waiting at that
// moment, no more than verifyBatch, and never waits for more.
func TestDrainTakesWaitingBlocksUpToABatch(t *testing.T) {
	jobs := make(chan writeJob, 2*verifyBatch)
	if got := drain(jobs, []writeJob{{b: -1}}); len(got) != 1 {
		t.Fatalf("drain of an empty channel: %d blocks, want the lone one", len(got))
	}
	for i := range verifyBatch + 3 {
		jobs <- writeJob{b: i}
	}
	got := drain(jobs, nil)
	if len(got) != verifyBatch {
		t.Fatalf("drain took %d blocks, want %d", len(got), verifyBatch)
	}
	for i, j := range got {
		if j.b != i {
			t.Fatalf("block %d taken as #%d: order lost", j.b, i)
		}
	}
	if len(jobs) != 3 {
		t.Fatalf("%d blocks left waiting, want 3", len(jobs))
	}
	close(jobs)
	if got := drain(jobs, nil); len(got) != 3 {
		t.Fatalf("drain of a closed channel took %d blocks, want the 3 left", len(got))
	}
}

// TestBacklogTakeBatches checks that the backlog hands out its oldest blocks a batch at a time
// and signals another worker while some remain.
func TestBacklogTakeBatches(t *testing.T) {
	q := &backlog{ready: make(chan struct{}, 1)}
	for i := range verifyBatch + 5 {
		q.push(writeJob{b: i})
	}
	<-q.ready
	got := q.take(nil)
	if len(got) != verifyBatch || got[0].b != 0 || got[verifyBatch-1].b != verifyBatch-1 {
		t.Fatalf("first take: %d blocks starting at %d, want %d from 0", len(got), got[0].b, verifyBatch)
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("blocks remain but no worker was signalled")
	}
	got = q.take(got[:0])
	if len(got) != 5 || got[0].b != verifyBatch {
		t.Fatalf("second take: %d blocks, want the 5 left", len(got))
	}
	if got := q.take(nil); len(got) != 0 {
		t.Fatalf("take of an empty backlog: %d blocks", len(got))
	}
	select {
	case <-q.ready:
		t.Fatal("an empty backlog signalled")
	default:
	}
}
