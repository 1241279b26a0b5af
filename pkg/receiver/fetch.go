package receiver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/lcsync/lcsync/merkle"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
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
	s := newSession(cfg)
	jobs := make(chan writeJob, 64)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); s.worker(jobs) }()
	}
	readerDone := make(chan error, 1)
	go func() { readerDone <- s.read(jobs) }()

	err := s.run(ctx)

	cfg.Transport.Close()
	rerr := <-readerDone
	close(jobs)
	wg.Wait()
	s.cleanup()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.KernelDrops = cfg.Transport.Drops()
	s.stats.Loss, _ = s.loss.rate()
	s.stats.Duration = time.Since(s.started)
	if err == nil && rerr != nil && !errors.Is(rerr, net.ErrClosed) {
		err = fmt.Errorf("receiver: reading: %w", rerr)
	}
	return s.stats, err
}

// read is the socket's only reader: it handles datagrams and hands completed blocks to the
// workers.
func (s *session) read(jobs chan<- writeJob) error {
	var pending []writeJob
	for {
		s.mu.Lock()
		s.waiting = true // until a datagram comes, the socket is empty
		s.mu.Unlock()
		n := 0
		err := s.cfg.Transport.Receive(func(d []byte) {
			n++
			now := time.Now()
			s.mu.Lock()
			if s.waiting {
				s.waiting, s.drained = false, now
			}
			s.handle(d, now)
			if len(s.jobs) > 0 {
				pending = append(pending, s.jobs...)
				s.jobs = s.jobs[:0]
			}
			s.mu.Unlock()
		})
		for _, j := range pending {
			jobs <- j
		}
		clear(pending)
		pending = pending[:0]
		if err != nil {
			return err
		}
		s.meterOverruns()
		s.congestion(time.Now(), n >= backlogBatch)
	}
}

// backlogBatch is the batch size from which the reader suspects a backlog and looks at its
// socket's queue (a drained socket returns short batches; checking it costs two syscalls).
const backlogBatch = 32

// queueFilling reports whether the socket's receive queue is more than half full: the reader is
// falling behind, and drops will follow unless the sender slows down.
func (s *session) queueFilling() bool {
	q, ok := s.cfg.Transport.(interface{ QueueFill() (int, int, error) })
	if !ok {
		return false
	}
	used, limit, err := q.QueueFill()
	return err == nil && limit > 0 && 2*used > limit
}

// congestionHold is how long a receiver stays joined to the congestion channel per signal.
const congestionHold = 50 * time.Millisecond

// congestion signals the sender, through the share's congestion channel, that this socket
// dropped datagrams or, when busy (the last read was a full batch), that its queue is filling:
// joining the channel emits an MLD report the sender overhears (PROTOCOL.md §5.5). Leaving again
// soon after lets the next signal emit a new report. Called by the reader.
func (s *session) congestion(now time.Time, busy bool) {
	if s.cfg.NoCongestionSignal {
		return
	}
	g := mcast.CongestionGroup(s.cfg.Scope, s.share())
	if s.congJoined {
		if now.Sub(s.congAt) >= congestionHold {
			_ = s.cfg.Transport.Leave(g)
			s.congJoined = false
		}
		return
	}
	drops := s.cfg.Transport.Drops()
	if drops <= s.lastDrops && (!busy || !s.queueFilling()) {
		return
	}
	s.lastDrops = drops
	s.mu.Lock()
	carousel := s.manifest != nil && s.manifest.Carousel
	if !carousel {
		s.stats.Slowdowns++
	}
	s.mu.Unlock()
	if carousel || s.cfg.Transport.Join(g) != nil {
		return
	}
	s.congJoined, s.congAt = true, now
}

// minRound is the least time between two rounds of the controller.
const minRound = 5 * time.Millisecond

// maxBacklog bounds how far behind the socket the reader is assumed to be: a receive buffer
// holds well under a second of traffic at any rate that matters.
const maxBacklog = time.Second

// drainedAt returns the latest time the socket is known to have been empty: now while the
// reader waits on it, else when data last ended a wait (but no earlier than maxBacklog ago).
// Quiet and stall timers count only up to it, so a backlog is not mistaken for silence.
func (s *session) drainedAt(now time.Time) time.Time {
	if s.waiting {
		return now
	}
	if d := now.Add(-maxBacklog); s.drained.Before(d) {
		return d
	}
	return s.drained
}

// stalled reports whether a joined subscription made no verified progress for StallAfter
// (counted, like quietFor, only while the socket is drained): datagrams may still arrive on
// it, but they bring nothing that verifies (a hostile trickle, or only duplicates).
func (s *session) stalled(sb *sub, now time.Time) bool {
	drained := s.drainedAt(now)
	last := sb.lastUseful
	if last.Before(sb.joinedAt) {
		last = sb.joinedAt
	}
	return drained.Sub(last) >= s.cfg.StallAfter
}

// quietFor returns how long a subscription has been quiet, counting only time in which the
// reader had drained the socket: a backlog in the socket buffer is not silence.
func (s *session) quietFor(sb *sub, now time.Time) time.Duration {
	return s.drainedAt(now).Sub(sb.lastActivity())
}

// run drives the fetch: manifest, plan, channels, files, directories.
func (s *session) run(ctx context.Context) (err error) {
	if err := s.fetchManifest(ctx); err != nil {
		return err
	}
	l, err := s.layout()
	if err != nil {
		return err
	}
	p, err := s.prepare(l)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := p.close(); err == nil {
			err = cerr
		}
	}()
	// The copier uses the plan's files: it is stopped (deferred last, so run first) before
	// they are closed.
	cctx, stopCopier := context.WithCancel(ctx)
	copierDone := make(chan struct{})
	go func() { defer close(copierDone); s.copier(cctx) }()
	defer func() { stopCopier(); <-copierDone }()
	if err := s.transfer(ctx, p); err != nil {
		return err
	}
	return p.finishTree(s)
}

// fetchManifest joins the manifest channel until a valid manifest is assembled.
func (s *session) fetchManifest(ctx context.Context) error {
	s.mu.Lock()
	s.enqueue(s.manifestGroup(), subManifest, nil)
	s.mu.Unlock()
	return s.drive(ctx, "manifest", func() bool { return s.manifest != nil }, nil)
}

// transfer starts files (a bounded number at a time), runs their tree walks and data
// channels, and finishes each file as soon as it is complete.
func (s *session) transfer(ctx context.Context, p *plan) error {
	return s.drive(ctx, "data", func() bool { return p.next == len(p.files) && p.inflight == 0 && p.pending == 0 },
		func() error {
			if err := p.finishReady(ctx, s); err != nil {
				return err
			}
			return p.activate(ctx, s)
		})
}

// drive joins queued channels (at most Channels at once), leaves finished ones, rejoins silent
// ones, calls step (if any) outside the lock on every round, and returns when done() holds
// (checked under mu), on timeout or when ctx ends.
func (s *session) drive(ctx context.Context, phase string, done func() bool, step func() error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var joined []*sub
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, sb := range joined {
			_ = s.cfg.Transport.Leave(sb.group)
			s.leaveParity(sb)
		}
	}()
	lastProgress := time.Time{}
	for {
		if step != nil {
			if err := step(); err != nil {
				return err
			}
		}
		now := time.Now()
		s.mu.Lock()
		joined = s.leaveFinished(joined)
		if done() {
			s.mu.Unlock()
			return s.fileError()
		}
		err := s.fileErrorLocked()
		if err == nil {
			joined, err = s.joinQueued(joined, now)
		}
		if err == nil {
			joined, err = s.handleSilent(joined, now)
		}
		if err == nil {
			s.adjustParity(joined, now)
		}
		if err != nil {
			s.mu.Unlock()
			return err
		}
		idle := now.Sub(s.lastUseful)
		s.mu.Unlock()
		if idle >= s.cfg.IdleTimeout {
			return s.idleError(phase)
		}
		if s.cfg.OnProgress != nil && now.Sub(lastProgress) >= 200*time.Millisecond {
			lastProgress = now
			s.cfg.OnProgress(s.progress(phase))
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); errors.Is(cause, ErrTimeout) {
				return cause
			}
			return ctx.Err()
		case <-s.wake:
			// Coalesce bursts of wake-ups: thousands of blocks a second need not each run a
			// round (and hold mu) of their own.
			if d := minRound - time.Since(now); d > 0 {
				time.Sleep(d)
			}
		case <-tick.C:
		}
	}
}

// retire leaves a subscription that is finished or replaced (caller holds mu).
func (s *session) retire(sb *sub) {
	sb.done = true
	s.drop(sb)
	_ = s.cfg.Transport.Leave(sb.group)
	s.leaveParity(sb)
}

// leaveFinished leaves the joined subscriptions that need nothing more (caller holds mu).
func (s *session) leaveFinished(joined []*sub) []*sub {
	kept := joined[:0]
	for _, sb := range joined {
		if s.subFinished(sb) {
			s.retire(sb)
			continue
		}
		kept = append(kept, sb)
	}
	return kept
}

// joinQueued joins queued subscriptions up to the Channels limit (caller holds mu).
func (s *session) joinQueued(joined []*sub, now time.Time) ([]*sub, error) {
	for len(joined) < s.cfg.Channels && len(s.queue) > 0 {
		sb := s.queue[0]
		s.queue = s.queue[1:]
		if sb.done || s.subFinished(sb) {
			s.drop(sb)
			continue
		}
		if err := s.cfg.Transport.Join(sb.group); err != nil {
			return joined, fmt.Errorf("receiver: joining %s: %w", sb.group, err)
		}
		sb.joined, sb.joinedAt = true, now
		s.stats.Joins++
		joined = append(joined, sb)
	}
	return joined, nil
}

// handleSilent deals with channels whose sender cycle ended with data still missing (quiet)
// or that bring nothing verifiable (stalled): it fetches just the missing blocks on narrower
// channels, or joins the same channel again once the sender will not take the join for a
// repeat (caller holds mu).
func (s *session) handleSilent(joined []*sub, now time.Time) ([]*sub, error) {
	kept := joined[:0]
	for _, sb := range joined {
		if !sb.leftAt.IsZero() {
			kept = append(kept, sb)
			if now.Sub(sb.leftAt) < rejoinGap {
				continue
			}
			if err := s.cfg.Transport.Join(sb.group); err != nil {
				return kept, fmt.Errorf("receiver: rejoining %s: %w", sb.group, err)
			}
			sb.leftAt, sb.joinedAt = time.Time{}, now
			s.stats.Rejoins++
			continue
		}
		s.seekLostLeaves(sb, now)
		if s.quietFor(sb, now) < s.cfg.Retrigger && !s.stalled(sb, now) && !sb.ended() {
			kept = append(kept, sb)
			continue
		}
		if s.cfg.Logger != nil && sb.kind != subTree {
			s.cfg.Logger.Debug("channel silent", "group", sb.group, "kind", sb.kind, "quiet", s.quietFor(sb, now),
				"stalled", s.stalled(sb, now), "ended", sb.ended(), "elapsed", now.Sub(s.started))
		}
		switch s.repair(sb) {
		case repairDone:
			s.retire(sb)
			continue
		case repairWaiting:
			kept = append(kept, sb)
			continue
		}
		kept = append(kept, sb)
		if now.Sub(sb.joinedAt) < s.cfg.RejoinAfter && !sb.pageLost() {
			continue // a lost tree page is joined again at once
		}
		// Leave, and join again rejoinGap later: the sender sees the leave before the join,
		// so it takes the join for a new one and not for a repeat of the last.
		_ = s.cfg.Transport.Leave(sb.group)
		sb.leftAt = now
		if s.cfg.Logger != nil {
			missing := 0
			for _, t := range sb.targets {
				for b := t.blockFirst; b < t.blockEnd; b++ {
					if t.f != nil && t.f.missing(b) {
						missing++
					}
				}
			}
			s.cfg.Logger.Debug("rejoining a channel", "group", sb.group, "kind", sb.kind, "targets", len(sb.targets),
				"missing", missing, "quiet", s.quietFor(sb, now), "ended", sb.ended(), "elapsed", now.Sub(s.started))
		}
	}
	return kept, nil
}

// rejoinGap is how long a receiver stays out of a channel it leaves to join again: long
// enough for the kernel to send the leave's report on its own (it sends state changes a
// jiffy or so after they happen, and a leave followed at once by a join would merge into
// the join alone, which the sender would take for a repeat).
const rejoinGap = 20 * time.Millisecond

func (s *session) idleError(phase string) error {
	if phase == "manifest" && s.refusedErr != nil {
		return fmt.Errorf("%w: the manifest received for share %q was refused: %v", ErrVerify, s.share(), s.refusedErr)
	}
	if phase == "manifest" {
		return fmt.Errorf("%w: no manifest for share %q heard in %v: is a server running on this link, and are --iface, --scope and --port the same on both sides?",
			ErrTimeout, s.share(), s.cfg.IdleTimeout)
	}
	return fmt.Errorf("%w: nothing useful arrived for %v while fetching data%s", ErrTimeout, s.cfg.IdleTimeout, s.missingSummary())
}

// missingSummary describes what is still missing, for timeout errors.
func (s *session) missingSummary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, example := 0, ""
	for _, f := range s.files {
		if f.finished || f.err != nil {
			continue
		}
		n++
		if example == "" {
			example = fmt.Sprintf("%s (%d of %d blocks missing, walking %d, planned %v)", f.name, f.remaining, f.shape.Blocks(), f.walking, f.planned)
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(": %d files incomplete, such as %s", n, example)
}

func (s *session) fileError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fileErrorLocked()
}

func (s *session) fileErrorLocked() error {
	for _, f := range s.files {
		if f.err != nil {
			return f.err
		}
	}
	return nil
}

// progress snapshots the counters for a progress display.
func (s *session) progress(phase string) Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Progress{Phase: phase, Received: s.stats.BytesReceived, Elapsed: time.Since(s.started)}
	for _, f := range s.files {
		p.Files++
		if f.finished || (f.planned && f.remaining == 0 && f.walking == 0) {
			p.FilesDone++
		}
		p.Bytes += blockBytes(f, f.need)
		p.BytesDone += blockBytes(f, f.done)
	}
	if phase == "data" && p.Bytes == 0 && p.Files > p.FilesDone {
		p.Phase = "trees"
	}
	return p
}

// cleanup removes temporary files left by a failed or cancelled fetch.
func (s *session) cleanup() {
	for _, f := range s.files {
		if f.tmp != nil {
			f.tmp.Close()
			f.tmp = nil
		}
	}
}

// shapeOf returns an entry's tree shape.
func shapeOf(e wire.Entry) (merkle.Shape, error) {
	return merkle.NewShape(e.Size, e.BlockSize())
}

// blockBytes returns the size of the blocks set in b.
func blockBytes(f *fileState, b interface {
	Count() uint
	Test(uint) bool
}) int64 {
	n := int64(b.Count()) * int64(f.shape.BlockSize())
	if last := f.shape.Blocks() - 1; last >= 0 && b.Test(uint(last)) {
		n -= int64(f.shape.BlockSize() - f.shape.BlockLen(last))
	}
	return n
}
