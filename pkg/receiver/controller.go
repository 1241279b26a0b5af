package receiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// controller runs on Fetch's goroutine: it plans, joins and leaves channels (it alone calls
// Transport.Join and Leave for data, tree and parity channels), rejoins or repairs silent ones,
// and finishes files through the plan. It owns its fields; what it shares with the reader and
// the workers is in the session, under mu.
type controller struct {
	s            *session
	plan         *plan
	joined       []*sub // the subscriptions joined, at most Config.Channels (their fields under mu)
	lastProgress time.Time
	noParity     bool // joining a parity channel failed: do without
	// kept are the manifest channels left joined after the manifest phase, for the
	// generation watch (newer.go).
	kept []netip.Addr
}

// minRound is the least time between two rounds of the controller.
const minRound = 5 * time.Millisecond

// run drives the fetch: manifest, plan, channels, files, directories.
func (c *controller) run(ctx context.Context) (err error) {
	s := c.s
	if err := c.fetchManifest(ctx); err != nil {
		return err
	}
	l, err := newLayout(s.cfg, s.manifest)
	if err != nil {
		return err
	}
	p, err := newPlan(s, l)
	if err != nil {
		return err
	}
	c.plan = p // closed by cleanup, once the workers have stopped
	s.mu.Lock()
	err = s.startWatch(c.kept, time.Now())
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stopWatch()
		s.mu.Unlock()
	}()
	if err != nil {
		return err
	}
	// The copier uses the plan's files: it is stopped (deferred last, so run first) before
	// they are closed.
	cctx, stopCopier := context.WithCancel(ctx)
	copierDone := make(chan struct{})
	go func() { defer close(copierDone); s.copier.run(cctx) }()
	defer func() { stopCopier(); <-copierDone }()
	if err := c.transfer(ctx, p); err != nil {
		return err
	}
	if err := p.finishTree(s); err != nil {
		return err
	}
	p.resweep(ctx)
	return nil
}

// fetchManifest joins the manifest channel until a valid manifest is assembled.
func (c *controller) fetchManifest(ctx context.Context) error {
	s := c.s
	if m := s.cfg.Manifest; m != nil { // vetted by the caller (follow.go)
		return s.useManifest(m)
	}
	s.mu.Lock()
	for _, g := range s.manifestGroups() {
		s.enqueue(g, subManifest, nil)
	}
	s.mu.Unlock()
	step := s.manifestStep()
	under := strings.TrimRight(s.cfg.Name, "/")
	return s.trustError(c.drive(ctx, "manifest", func() bool { return s.manifest != nil }, func() error {
		if step != nil {
			if err := step(); err != nil {
				return err
			}
		}
		return s.objectStep(under)
	}))
}

// objectStep goes on with the walk of a version 2 manifest's tree objects, once one is
// accepted: top-down, those on the way to the name asked for (under) and below it only. It
// joins the channels of the objects the walk lacks (in carousel mode they come on the
// manifest channel, which stays joined) and, once the walk is complete, makes the manifest
// the flat list of the entries walked.
func (s *session) objectStep(under string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tree == nil || s.manifest != nil {
		return nil
	}
	if s.objs.err != nil {
		return fmt.Errorf("%w: a tree object of share %q: %v", ErrVerify, s.share, s.objs.err)
	}
	m, ids, err := s.tree.FlattenPruned(s.objs.have, under, ObjectPrune(s.cfg))
	if err != nil {
		return fmt.Errorf("%w: the manifest of share %q: %v", ErrVerify, s.share, err)
	}
	if m != nil {
		s.manifest = m
		return nil
	}
	s.objs.wanted(ids)
	if s.tree.Carousel {
		return nil
	}
	for _, id := range ids {
		g := mcast.ObjectGroup(s.cfg.Scope, id)
		if sb := s.chans.subs[g]; sb == nil || sb.done {
			s.enqueue(g, subObject, nil)
		}
	}
	return nil
}

// transfer starts files (a bounded number at a time), runs their tree walks and data
// channels, and finishes each file as soon as it is complete.
func (c *controller) transfer(ctx context.Context, p *plan) error {
	s := c.s
	return c.drive(ctx, "data", func() bool { return p.next == len(p.files) && p.inflight == 0 && p.pending == 0 },
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
func (c *controller) drive(ctx context.Context, phase string, done func() bool, step func() error) error {
	s := c.s
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, sb := range c.joined {
			_ = s.cfg.Transport.Leave(sb.group)
			c.leaveParity(sb)
		}
		c.joined = c.joined[:0]
	}()
	for {
		if step != nil {
			if err := step(); err != nil {
				return err
			}
		}
		now := time.Now()
		s.mu.Lock()
		c.leaveFinished()
		if done() {
			err := c.fileError()
			s.mu.Unlock()
			return err
		}
		err := c.fileError()
		if err == nil {
			err = c.joinQueued(now)
		}
		if err == nil {
			err = c.handleSilent(now)
		}
		if err == nil && phase == "data" {
			err = s.watchRound(now)
		}
		if err == nil {
			c.adjustParity(now)
		}
		if err != nil {
			s.mu.Unlock()
			return err
		}
		idle := now.Sub(s.clock.lastUseful)
		s.mu.Unlock()
		if idle >= s.cfg.IdleTimeout {
			return c.idleError(phase)
		}
		if s.cfg.OnProgress != nil && now.Sub(c.lastProgress) >= 200*time.Millisecond {
			c.lastProgress = now
			s.cfg.OnProgress(c.progress(phase))
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
func (c *controller) retire(sb *sub) {
	sb.done = true
	c.s.chans.drop(sb)
	_ = c.s.cfg.Transport.Leave(sb.group)
	c.leaveParity(sb)
}

// leaveFinished leaves the joined subscriptions that need nothing more (caller holds mu).
func (c *controller) leaveFinished() {
	kept := c.joined[:0]
	for _, sb := range c.joined {
		if sb.kind == subManifest && c.s.manifest != nil {
			// Kept joined for the generation watch (newer.go): a leave now and a join
			// later would cost a whole manifest cycle.
			sb.done = true
			c.s.chans.drop(sb)
			c.kept = append(c.kept, sb.group)
			continue
		}
		if c.s.subFinished(sb) {
			c.retire(sb)
			continue
		}
		kept = append(kept, sb)
	}
	c.joined = kept
}

// joinQueued joins queued subscriptions up to the Channels limit (caller holds mu).
func (c *controller) joinQueued(now time.Time) error {
	s := c.s
	for len(c.joined) < s.cfg.Channels && len(s.chans.queue) > 0 {
		sb := s.chans.queue[0]
		s.chans.queue = s.chans.queue[1:]
		if sb.done || s.subFinished(sb) {
			s.chans.drop(sb)
			continue
		}
		if err := s.cfg.Transport.Join(sb.group); err != nil {
			return fmt.Errorf("receiver: joining %s: %w", sb.group, err)
		}
		sb.joined, sb.joinedAt = true, now
		s.stats.Joins++
		c.joined = append(c.joined, sb)
	}
	return nil
}

// handleSilent deals with channels whose sender cycle ended with data still missing (quiet)
// or that bring nothing verifiable (stalled): it fetches just the missing blocks on narrower
// channels, or joins the same channel again once the sender will not take the join for a
// repeat (caller holds mu).
func (c *controller) handleSilent(now time.Time) error {
	s := c.s
	kept := c.joined[:0]
	defer func() { c.joined = kept }()
	for i, sb := range c.joined {
		if !sb.leftAt.IsZero() {
			kept = append(kept, sb)
			if now.Sub(sb.leftAt) < rejoinGap {
				continue
			}
			if err := s.cfg.Transport.Join(sb.group); err != nil {
				kept = append(kept, c.joined[i+1:]...)
				return fmt.Errorf("receiver: rejoining %s: %w", sb.group, err)
			}
			sb.leftAt, sb.joinedAt = time.Time{}, now
			s.stats.Rejoins++
			continue
		}
		s.seekLostLeaves(sb, now)
		if s.clock.quietFor(sb, now) < s.cfg.Retrigger && !s.clock.stalled(sb, now, s.cfg.StallAfter) && !sb.ended() {
			kept = append(kept, sb)
			continue
		}
		if sb.kind != subTree {
			s.cfg.Logger.Debug("channel silent", "group", sb.group, "kind", sb.kind, "quiet", s.clock.quietFor(sb, now),
				"stalled", s.clock.stalled(sb, now, s.cfg.StallAfter), "ended", sb.ended(), "elapsed", now.Sub(s.clock.started))
		}
		// A channel still sending (stalled, neither quiet nor ended) may be passing over
		// blocks already in on its way to those missing: it is not replaced by a wider one.
		running := s.clock.quietFor(sb, now) < s.cfg.Retrigger && !sb.ended()
		switch s.repair(sb, running) {
		case repairDone:
			c.retire(sb)
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
		if s.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
			missing := 0
			for _, t := range sb.targets {
				if t.f != nil {
					missing += t.f.countMissing(t.blockFirst, t.blockEnd)
				}
			}
			s.cfg.Logger.Debug("rejoining a channel", "group", sb.group, "kind", sb.kind, "targets", len(sb.targets),
				"missing", missing, "quiet", s.clock.quietFor(sb, now), "ended", sb.ended(), "elapsed", now.Sub(s.clock.started))
		}
	}
	return nil
}

// rejoinGap is how long a receiver stays out of a channel it leaves to join again: long
// enough for the kernel to send the leave's report on its own (it sends state changes a
// jiffy or so after they happen, and a leave followed at once by a join would merge into
// the join alone, which the sender would take for a repeat).
const rejoinGap = 20 * time.Millisecond

func (c *controller) idleError(phase string) error {
	s := c.s
	s.mu.Lock()
	refused := s.asm.refusedErr
	s.mu.Unlock()
	if phase == "manifest" && refused != nil {
		return fmt.Errorf("%w: the manifest received for share %q was refused: %v", ErrVerify, s.share, refused)
	}
	if phase == "manifest" {
		return fmt.Errorf("%w: no manifest for share %q heard in %v: is a server running on this link, and are --iface, --scope and --port the same on both sides?",
			ErrTimeout, s.share, s.cfg.IdleTimeout)
	}
	return fmt.Errorf("%w: nothing useful arrived for %v while fetching data%s", ErrTimeout, s.cfg.IdleTimeout, c.missingSummary())
}

// missingSummary describes what is still missing, for timeout errors.
func (c *controller) missingSummary() string {
	s := c.s
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

// fileError returns the first file's error, a failure of its leaf hash store included
// (caller holds mu).
func (c *controller) fileError() error {
	for _, f := range c.s.files {
		if f.err == nil && !f.finished && f.leaves.err != nil {
			f.err = fmt.Errorf("receiver: %s: %w", f.rel, f.leaves.err)
		}
		if f.err != nil {
			return f.err
		}
	}
	return nil
}

// progress snapshots the counters for a progress display.
func (c *controller) progress(phase string) Progress {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Progress{Phase: phase, Received: s.stats.BytesReceived, Elapsed: time.Since(s.clock.started)}
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
func (c *controller) cleanup() error {
	if c.plan != nil {
		return c.plan.close(c.s)
	}
	return nil
}

// adjustParity keeps the joined data channels that still bring enough blocks on as many
// parity layers as the measured loss calls for: it joins the missing layers at once, and
// leaves a layer no longer called for at most every fecSettle, so an early burst of loss does
// not fix the overhead for the whole transfer (caller holds mu).
func (c *controller) adjustParity(now time.Time) {
	s := c.s
	if s.cfg.FEC < 0 || c.noParity {
		return
	}
	for _, sb := range c.joined {
		if sb.kind != subData && sb.kind != subStream || len(sb.targets) == 0 {
			continue
		}
		size := sb.seqSize
		if s.cfg.FEC > 0 && size == 0 {
			size = 1 // fixed layers: join before the first piece
		}
		want := parityLayers(s.cfg.FEC, &s.loss, sb.targets[0].f.shape.BlockSize(), size)
		if want < sb.fec && now.Sub(sb.fecAt) >= fecSettle {
			sb.fec--
			sb.fecAt = now
			_ = s.cfg.Transport.Leave(mcast.ParityGroup(s.cfg.Scope, sb.group, uint8(sb.fec)))
			continue
		}
		if want <= sb.fec {
			continue
		}
		remaining := 0
		for _, t := range sb.targets {
			remaining += t.remaining
		}
		if remaining < minParityBlocks {
			continue
		}
		for j := sb.fec; j < want; j++ {
			if err := s.cfg.Transport.Join(mcast.ParityGroup(s.cfg.Scope, sb.group, uint8(j))); err != nil {
				// Parity is an optimisation: without it blocks are repaired as usual.
				s.cfg.Logger.Debug("cannot join a parity channel", "group", sb.group, "layer", j, "err", err)
				c.noParity = true
				return
			}
			sb.fec, sb.fecAt = j+1, now
		}
		if s.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
			p, _ := s.loss.rate()
			s.cfg.Logger.Debug("joined parity", "group", sb.group, "layers", sb.fec, "loss", p, "elapsed", now.Sub(s.clock.started))
		}
		s.stats.FECLayers = max(s.stats.FECLayers, sb.fec)
	}
}

// fecSettle is the least time between leaving two parity layers of a channel.
const fecSettle = 500 * time.Millisecond

// leaveParity leaves a channel's parity layers (caller holds mu).
func (c *controller) leaveParity(sb *sub) {
	s := c.s
	for j := range sb.fec {
		_ = s.cfg.Transport.Leave(mcast.ParityGroup(s.cfg.Scope, sb.group, uint8(j)))
	}
	sb.fec = 0
}
