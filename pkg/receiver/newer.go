package receiver

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// The generation watch (review M10). A server that re-indexes its share while a file is being
// fetched stops serving the channels of the file's old version: the fetch would wait for them
// until its idle timeout. So while data is fetched the share's manifest channels stay joined
// (the sender pushes a new generation to the hosts that listen there), and when nothing
// verifiable has come for a while the fetch leaves and joins them again, which makes the
// sender send its current manifest (and a sender without a watcher re-index first). A newer
// generation that changes the requested name, accepted by the gate if there is one, ends the
// attempt with a changedError: Fetch starts again against it (Config.Listen) or fails with
// ErrChanged. A newer generation that leaves the requested name as it is changes nothing.
// Carousel shares are not watched (their manifest channel carries the manifest all the time).

// genWatch is the state of the generation watch, guarded by mu; only the controller joins and
// leaves its channels.
type genWatch struct {
	on      bool         // the manifest channels are joined for the watch
	groups  []netip.Addr // those channels
	gen     uint64       // the newest generation heard that was looked at
	leftAt  time.Time    // left to be joined again (a check); zero otherwise
	checked time.Time    // when the channels were last joined
	newer   *wire.Manifest
	// moved is set when a newer version 2 generation was heard: its header does not say
	// whether the requested name changed (that takes its objects), so the attempt goes on
	// while it progresses (unchanged files keep their channels) and starts again, fetching
	// the manifest afresh, once it stalls.
	moved bool
}

// changedError ends an attempt whose share moved on to newer, which changes the requested name;
// newer is nil when it is a version 2 generation, whose manifest the next attempt fetches.
type changedError struct {
	name  string
	old   uint64
	gen   uint64 // the newer generation
	newer *wire.Manifest
}

func (e *changedError) Error() string {
	return fmt.Sprintf("%v: %s (generation %d, now %d)", ErrChanged, e.name, e.old, e.gen)
}

func (e *changedError) Unwrap() error { return ErrChanged }

// watchAssemblyBytes bounds the chunks the watch assembles at once, beyond twice the accepted
// manifest: the block budget of the data phase is not to be doubled by forged chunks.
const watchAssemblyBytes = 4 << 20

// checkAfter is how long the fetch must have made no verified progress before it asks the
// sender for its current manifest, and the least time between two such checks.
func (s *session) checkAfter() time.Duration {
	return max(s.cfg.StallAfter, s.cfg.IdleTimeout/6)
}

// startWatch begins the generation watch for the data phase (caller holds mu). joined lists
// the manifest channels that are still joined from the manifest phase; if there are none
// (the manifest was given) the channels are joined now.
func (s *session) startWatch(joined []netip.Addr, now time.Time) error {
	if s.manifest.Carousel || s.cfg.DryRun || (s.cfg.Manifest != nil && s.cfg.Listen == nil) {
		for _, g := range joined {
			_ = s.cfg.Transport.Leave(g)
		}
		return nil
	}
	w := &s.watch
	w.on, w.gen, w.checked = true, s.manifest.Generation, now
	w.groups = joined
	if len(joined) == 0 {
		w.groups = s.manifestGroups()
		for _, g := range w.groups {
			if err := s.cfg.Transport.Join(g); err != nil {
				return fmt.Errorf("receiver: joining the manifest channel %s: %w", g, err)
			}
		}
	}
	s.asm.partial = map[asmKey]*assembly{}
	if s.asm.accepted == 0 { // a manifest given by the caller: its size bounds the next one's
		if b, err := s.manifest.MarshalBinary(); err == nil {
			s.asm.accepted = len(b)
		}
	}
	s.asm.limit = min(maxAssemblyBytes, 2*s.asm.accepted+watchAssemblyBytes)
	return nil
}

// stopWatch leaves the watch's channels (caller holds mu).
func (s *session) stopWatch() {
	w := &s.watch
	if !w.on {
		return
	}
	if w.leftAt.IsZero() {
		for _, g := range w.groups {
			_ = s.cfg.Transport.Leave(g)
		}
	}
	w.on = false
}

// watchRound runs the watch's part of a controller round (caller holds mu): it reports a newer
// generation, and asks for the current manifest when the fetch has stalled.
func (s *session) watchRound(now time.Time) error {
	w := &s.watch
	if !w.on {
		return nil
	}
	if w.newer != nil {
		return &changedError{name: s.cfg.Name, old: s.manifest.Generation, gen: w.newer.Generation, newer: w.newer}
	}
	after := s.checkAfter()
	if w.moved && now.Sub(s.clock.lastUseful) >= after {
		return &changedError{name: s.cfg.Name, old: s.manifest.Generation, gen: w.gen}
	}
	switch {
	case !w.leftAt.IsZero() && now.Sub(w.leftAt) >= rejoinGap:
		for _, g := range w.groups {
			if err := s.cfg.Transport.Join(g); err != nil {
				return fmt.Errorf("receiver: rejoining the manifest channel %s: %w", g, err)
			}
		}
		w.leftAt, w.checked = time.Time{}, now
	case w.leftAt.IsZero() && now.Sub(s.clock.lastUseful) >= after && now.Sub(w.checked) >= after:
		s.cfg.Logger.Debug("no progress: asking for the current manifest", "elapsed", now.Sub(s.clock.started))
		for _, g := range w.groups {
			_ = s.cfg.Transport.Leave(g)
		}
		w.leftAt = now
	}
	return nil
}

// onLaterChunk feeds the generation watch with a manifest chunk heard after the manifest was
// accepted (caller holds mu).
func (s *session) onLaterChunk(c wire.ManifestChunk, src netip.Addr, now time.Time) {
	w := &s.watch
	if !w.on || w.newer != nil {
		s.stats.Foreign++
		return
	}
	m, res := s.asm.add(c, src, now)
	switch res {
	case chunkDuplicate:
		s.stats.Duplicates++
	case chunkMalformed:
		s.stats.Malformed++
	case chunkComplete:
		s.laterManifest(m, c.ID, now)
	}
}

// laterManifest decides on a manifest heard during the data phase (caller holds mu).
func (s *session) laterManifest(d decoded, id [wire.HashLen]byte, now time.Time) {
	w := &s.watch
	m := d.flat
	if m.Generation <= w.gen {
		s.asm.forget(id) // the current one, or older: not assembled again
		return
	}
	retry, err := s.vet(m, id, now)
	if retry {
		return // its statement comes with the next cycle
	}
	if err != nil {
		s.asm.forget(id)
		s.stats.Corrupt++
		s.cfg.Logger.Warn("refusing a newer manifest", "err", err)
		return
	}
	w.gen = m.Generation
	s.asm.forget(id)
	if d.tree != nil {
		w.moved = true
		return
	}
	if sameSelection(s.cfg.Name, s.manifest, m) {
		s.cfg.Logger.Debug("the share moved on; the fetched name is unchanged", "generation", m.Generation)
		return
	}
	w.newer = m
	s.poke()
}

// sameSelection reports whether the entries under the requested name are the same in both
// manifests (the channels of unchanged files are served in both generations).
func sameSelection(name string, a, b *wire.Manifest) bool {
	name = strings.TrimSuffix(name, "/")
	return a.Carousel == b.Carousel && a.PageHeight == b.PageHeight && reflect.DeepEqual(a.Under(name), b.Under(name))
}
