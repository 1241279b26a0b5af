package sender

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReindex adds a file to a running MLD-mode sender's share, which nobody asks for, and
// checks that Reindex alone serves it with a new manifest generation.
func TestReindex(t *testing.T) {
	s := gatherSender(t, 100<<10)
	gen, src := s.Stats().Generation, s.ix.Source
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if err := os.WriteFile(filepath.Join(src, "new"), []byte("added later"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Reindex()
	s.Reindex() // collapses into the pending request
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Refreshes == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the share was not re-indexed within 10s of Reindex")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Refreshes != 1 || st.Generation != gen+1 {
		t.Errorf("after Reindex: %d refreshes, generation %d; want 1 and %d", st.Refreshes, st.Generation, gen+1)
	}
}
