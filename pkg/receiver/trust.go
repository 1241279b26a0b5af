package receiver

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// Gate vets the manifests of signed shares (PROTOCOL.md §7); *sign.Gate satisfies it. Its
// methods are called with the session's lock held, from the reader, so they must be quick
// (one signature verification at most) and must not call back into the receiver.
type Gate interface {
	// ManifestGroups returns the manifest channels to join for share: now, and later too if
	// no manifest was accepted within manifestLater.
	ManifestGroups(scope mcast.Scope, share string) (now, later []netip.Addr)
	// Statement takes a statement heard while the manifest is awaited.
	Statement(st *wire.Statement, now time.Time)
	// Accept decides on a manifest that decoded and whose blob hashed to id, before anything
	// is planned or written: nil accepts it; retry drops it for now (its statement may come
	// with the next cycle); any other error refuses it for good.
	Accept(m *wire.Manifest, id [wire.HashLen]byte, now time.Time) (retry bool, err error)
	// Heard returns, when the fetch ends without a manifest, an error that says what was
	// heard and refused, or nil if nothing was.
	Heard(share string) error
}

// manifestLater is how long a fetch waits for an acceptable manifest on the channels the
// gate names first before it joins the others too (see Gate.ManifestGroups).
const manifestLater = time.Second

// manifestGroups returns the manifest channels to join at once (caller holds mu).
func (s *session) manifestGroups() []netip.Addr {
	if s.cfg.Gate != nil {
		now, _ := s.cfg.Gate.ManifestGroups(s.cfg.Scope, s.share)
		return now
	}
	return []netip.Addr{s.manifestGroup()}
}

// manifestStep returns the manifest phase's step (nil if there is nothing to do): it joins
// the gate's later channels once manifestLater has passed without a manifest.
func (s *session) manifestStep() func() error {
	if s.cfg.Gate == nil {
		return nil
	}
	_, later := s.cfg.Gate.ManifestGroups(s.cfg.Scope, s.share)
	at := time.Now().Add(manifestLater)
	return func() error {
		if len(later) == 0 || time.Now().Before(at) {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.manifest == nil {
			for _, g := range later {
				s.enqueue(g, subManifest, nil)
			}
		}
		later = nil
		return nil
	}
}

// manifestSub returns a subscription to a manifest channel, nil if there is none (caller
// holds mu). Chunks do not say which manifest channel they came on, and need not.
func (s *session) manifestSub() *sub {
	if s.cfg.Gate == nil {
		return s.chans.subs[s.manifestGroup()]
	}
	now, later := s.cfg.Gate.ManifestGroups(s.cfg.Scope, s.share)
	for _, list := range [2][]netip.Addr{now, later} {
		for _, g := range list {
			if sb := s.chans.subs[g]; sb != nil {
				return sb
			}
		}
	}
	return nil
}

// publisher returns the key the accepted manifest names, which keys the share's stream and
// congestion channels (PROTOCOL.md §3); nil before a manifest or for an unsigned share.
func (s *session) publisher() mcast.Publisher {
	if s.manifest == nil || s.manifest.Publisher == nil {
		return nil
	}
	return &s.manifest.Publisher.Key
}

// streamGroup is the stream channel of directory dir of the share.
func (s *session) streamGroup(dir string) netip.Addr {
	return mcast.SignedStreamGroup(s.cfg.Scope, s.publisher(), dir)
}

// congestionGroup is the share's congestion channel.
func (s *session) congestionGroup() netip.Addr {
	return mcast.SignedCongestionGroup(s.cfg.Scope, s.publisher(), s.share)
}

// onStatement hands a statement heard while the manifest is awaited to the gate (caller
// holds mu).
func (s *session) onStatement(d []byte, now time.Time) {
	if s.cfg.Gate == nil || (s.manifest == nil && (s.tree != nil || s.manifestSub() == nil)) || (s.manifest != nil && !s.watch.on) {
		s.stats.Foreign++
		return
	}
	st, err := wire.ParseStatement(d)
	if err != nil {
		s.stats.Malformed++
		return
	}
	if st.Share != s.share {
		s.stats.Foreign++
		return
	}
	s.cfg.Gate.Statement(&st, now)
}

// vet asks the gate about a manifest that decoded (caller holds mu); see Gate.Accept.
func (s *session) vet(m *wire.Manifest, id [wire.HashLen]byte, now time.Time) (retry bool, err error) {
	if s.cfg.Gate == nil {
		return false, nil
	}
	return s.cfg.Gate.Accept(m, id, now)
}

// trustError replaces the error of a manifest phase that ended without a manifest (timed out,
// or only refused manifests heard) by the gate's account of what it heard and refused, if
// anything: "2 manifests signed by an unknown key", not "nothing heard".
func (s *session) trustError(err error) error {
	if err == nil || s.cfg.Gate == nil || !(errors.Is(err, ErrTimeout) || errors.Is(err, ErrVerify)) {
		return err
	}
	if herr := s.cfg.Gate.Heard(s.share); herr != nil {
		return fmt.Errorf("receiver: %w", herr)
	}
	return err
}
