package sender

import (
	"fmt"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Signer signs the generations of a signed share (PROTOCOL.md §4.7); *sign.Publisher
// satisfies it. It is called from the sender's goroutine only.
type Signer interface {
	// Key returns the publisher's key, which the manifest names and the share's channels
	// are derived from.
	Key() *wire.Publisher
	// Generation returns the generation for a new manifest of share: at least atLeast, and
	// greater than every generation issued for the share before, across restarts.
	Generation(share string, atLeast uint64) (uint64, error)
	// Sign returns the statement datagram for generation gen of share, whose manifest id is
	// id, and the time by which the share must be signed again, with a new generation.
	Sign(share string, gen uint64, id [wire.HashLen]byte) ([]byte, time.Time, error)
}

// signing is the sender's signing state.
type signing struct {
	statement []byte    // the current manifest's statement datagram
	resignAt  time.Time // when the share gets a new generation, changed or not
}

// publisher returns the manifest's publisher field, nil for an unsigned share.
func (s *Sender) publisher() *wire.Publisher {
	if s.cfg.Signer == nil {
		return nil
	}
	return s.cfg.Signer.Key()
}

// publisherKey returns the key the share's channels are derived from, nil if unsigned.
func (s *Sender) publisherKey() mcast.Publisher {
	if p := s.publisher(); p != nil {
		return &p.Key
	}
	return nil
}

// signGeneration makes s.gen a generation the signer has not issued before (rebuild calls it
// before building a manifest).
func (s *Sender) signGeneration() error {
	if s.cfg.Signer == nil {
		return nil
	}
	gen, err := s.cfg.Signer.Generation(s.ix.Share, s.gen)
	if err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	s.gen = gen
	return nil
}

// signManifest signs the manifest blob just built (rebuild calls it).
func (s *Sender) signManifest(blob []byte) error {
	if s.cfg.Signer == nil {
		return nil
	}
	s.signing.statement = nil // fail closed: an unsigned manifest, not a stale statement
	d, due, err := s.cfg.Signer.Sign(s.ix.Share, s.gen, wire.ManifestID(blob))
	if err != nil {
		return fmt.Errorf("sender: signing generation %d: %w", s.gen, err)
	}
	if len(d) > s.geo.maxDatagram {
		return fmt.Errorf("sender: a statement of %d bytes does not fit a datagram of %d", len(d), s.geo.maxDatagram)
	}
	s.signing = signing{statement: d, resignAt: due}
	return nil
}

// signCycle puts the statement at the start of a manifest cycle, once, ahead of the chunks
// (which a small manifest repeats): a receiver that joins hears it before the manifest it
// vouches for is complete.
func (s *Sender) signCycle(c *cycle) {
	if c.kind != mcast.KindManifest || s.signing.statement == nil {
		return
	}
	c.chunks = append([][]byte{s.signing.statement}, c.chunks...)
	c.finish()
}

// resignIfDue gives the share a new, freshly signed generation when half the statement's
// lifetime has passed, changed or not: receivers never see a valid share expire, and a frozen
// or replayed old generation expires soon after.
func (s *Sender) resignIfDue() {
	if s.cfg.Signer == nil || time.Now().Before(s.signing.resignAt) || s.refreshing {
		return
	}
	s.gen++
	if err := s.rebuild(); err != nil {
		if s.cfg.Logger != nil {
			s.cfg.Logger.Error("signing a new generation failed; retrying in a minute", "err", err)
		}
		s.signing.resignAt = time.Now().Add(time.Minute)
		return
	}
	s.recycle()
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info("signed a new generation", "generation", s.gen, "next", s.signing.resignAt.Format(time.RFC3339))
	}
}

// untilResign shortens an idle wait (negative: none) so that the sender wakes to re-sign.
func (s *Sender) untilResign(wait time.Duration) time.Duration {
	if s.cfg.Signer == nil {
		return wait
	}
	d := max(time.Until(s.signing.resignAt), time.Millisecond)
	if wait < 0 || d < wait {
		return d
	}
	return wait
}
