package receiver

import (
	"testing"
	"time"
)

// TestGathererLoneBlockAtOnce checks that a block coming after a pause is handed out at once,
// alone, even with a linger far longer than the test.
func TestGathererLoneBlockAtOnce(t *testing.T) {
	jobs := make(chan writeJob, 64)
	g := newGatherer(jobs)
	g.wait = time.Hour
	jobs <- writeJob{b: 1}
	start := time.Now()
	batch, ok := g.take(&backlog{ready: make(chan struct{}, 1)}, nil)
	if !ok || len(batch) != 1 || batch[0].b != 1 {
		t.Fatalf("take: %v %v, want the lone block 1", batch, ok)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the lone block waited %v", d)
	}
}

// TestGathererFillsBatchWhileStreaming checks that while blocks stream in, a worker waits for
// a full batch (the reader's signal ends the wait), and that without the signal it takes what
// came within its linger.
func TestGathererFillsBatchWhileStreaming(t *testing.T) {
	jobs := make(chan writeJob, 64)
	g := newGatherer(jobs)
	g.wait = time.Hour
	q := &backlog{ready: make(chan struct{}, 1)}
	g.last = time.Now() // a batch was just taken: streaming
	jobs <- writeJob{b: 0}
	got := make(chan []writeJob, 1)
	go func() {
		b, _ := g.take(q, nil)
		got <- b
	}()
	select {
	case b := <-got:
		t.Fatalf("took %d blocks without waiting for a batch while streaming", len(b))
	case <-time.After(50 * time.Millisecond):
	}
	for i := 1; i < verifyBatch+2; i++ {
		jobs <- writeJob{b: i}
	}
	g.signalFull(len(jobs))
	var b []writeJob
	select {
	case b = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the full-batch signal did not end the wait")
	}
	if len(b) != verifyBatch {
		t.Fatalf("took %d blocks, want a full batch of %d", len(b), verifyBatch)
	}
	for i, j := range b {
		if j.b != i {
			t.Fatalf("block %d taken as #%d: order lost", j.b, i)
		}
	}

	// Streaming, no signal: the linger ends the wait with what came.
	g.wait = 20 * time.Millisecond
	g.last = time.Now()
	b, ok := g.take(q, nil)
	if !ok || len(b) != 2 || b[0].b != verifyBatch {
		t.Fatalf("take after the linger: %d blocks (%v), want the 2 left", len(b), ok)
	}
}

// TestGathererBacklogAndClose checks that the backlog is taken when no fresh block waits and
// that a closed jobs channel ends a worker.
func TestGathererBacklogAndClose(t *testing.T) {
	jobs := make(chan writeJob, 4)
	g := newGatherer(jobs)
	q := &backlog{ready: make(chan struct{}, 1)}
	q.push(writeJob{b: 7})
	b, ok := g.take(q, nil)
	if !ok || len(b) != 1 || b[0].b != 7 {
		t.Fatalf("take: %v %v, want backlog block 7", b, ok)
	}
	close(jobs)
	if _, ok := g.take(q, nil); ok {
		t.Fatal("take on a closed jobs channel reported a batch")
	}
}
