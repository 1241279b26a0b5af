package receiver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Fetch runs one fetch to completion.
func Fetch(ctx context.Context, cfg Config) (Stats, error) {
	if err := cfg.setDefaults(); err != nil {
		return Stats{}, err
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("%w: --timeout %v passed", ErrTimeout, cfg.Timeout))
		defer cancel()
	}
	var total Stats
	for restarts := 0; ; restarts++ {
		st, err := fetchOnce(ctx, cfg)
		total.add(st)
		var ch *changedError
		if !errors.As(err, &ch) {
			return total, err
		}
		if cfg.Listen == nil || restarts >= maxRestarts {
			return total, err
		}
		tr, lerr := cfg.Listen()
		if lerr != nil {
			return total, fmt.Errorf("receiver: %w (listening again: %v)", err, lerr)
		}
		cfg.Logger.Info("the share changed on the server during the fetch; fetching the new version",
			"name", cfg.Name, "generation", ch.gen)
		cfg.Transport, cfg.Manifest = tr, ch.newer // nil: fetch the manifest afresh
	}
}

// maxRestarts bounds how often one fetch starts again because the share changed under it: a
// server whose files change all the time (or a host forging newer generations of an unsigned
// share) ends the fetch with ErrChanged rather than holding it forever.
const maxRestarts = 8

// fetchOnce runs one fetch against one manifest, on cfg.Transport, which it closes.
func fetchOnce(ctx context.Context, cfg Config) (Stats, error) {
	s := newSession(cfg)
	jobs := make(chan writeJob, 64)
	g := newGatherer(jobs)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); s.worker(g) }()
	}
	readerDone := make(chan error, 1)
	r := &reader{s: s, jobs: jobs, g: g}
	go func() { readerDone <- r.run() }()

	c := &controller{s: s}
	err := c.run(ctx)

	cfg.Transport.Close()
	rerr := <-readerDone
	close(jobs)
	wg.Wait()
	// Only now, with no worker left to create one, are the temporary files of the files not
	// finished removed.
	if cerr := c.cleanup(); err == nil {
		err = cerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.KernelDrops = cfg.Transport.Drops()
	s.stats.Loss, _ = s.loss.rate()
	s.stats.Duration = time.Since(s.clock.started)
	if err == nil && rerr != nil && !errors.Is(rerr, net.ErrClosed) {
		err = fmt.Errorf("receiver: reading: %w", rerr)
	}
	return s.stats, err
}
