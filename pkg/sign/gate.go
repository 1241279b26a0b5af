package sign

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// DefaultMaxSkew is how far in the future a statement may have been issued, by the
// receiver's clock, unless configured.
const DefaultMaxSkew = 5 * time.Minute

// Bounds on what a gate remembers, so that a host flooding statements or manifests cannot
// make it grow.
const (
	maxStatements = 16 // verified statements kept, by manifest id
	maxRefusals   = 64 // refused manifests remembered for the final message
)

// GateConfig configures a Gate.
type GateConfig struct {
	// Trusted are the keys a manifest may be signed with. Without any, every manifest is
	// accepted as without signing, and the gate only reports the key of a signed share so that
	// people can pin it.
	Trusted []PublicKey
	// Store keeps the high-water marks; required with Trusted.
	Store *Store
	// MaxSkew is how far in the future a statement may have been issued (default
	// DefaultMaxSkew; negative: not at all).
	MaxSkew time.Duration
	// Notice, if set, receives messages for the user: the key of a signed share fetched
	// without --trust, and equivocation.
	Notice func(msg string)
	// ReadOnly applies the high-water marks without moving them (a dry run changes nothing).
	ReadOnly bool
}

// Gate decides which manifests a fetch accepts (pkg/receiver's Gate). It is safe for
// concurrent use.
type Gate struct {
	cfg     GateConfig
	trusted map[[wire.KeyIDLen]byte]PublicKey

	mu       sync.Mutex
	verified map[[wire.HashLen]byte]wire.Statement // by manifest id, verified with a trusted key
	order    [][wire.HashLen]byte                  // verified ids, oldest first
	heard    map[[wire.HashLen]byte]wire.Statement // untrusted mode: unverified, by manifest id
	refused  map[[wire.HashLen]byte]string         // why each refused manifest was refused
	badSigs  int                                   // statements of trusted key ids that did not verify
	unknown  map[[wire.KeyIDLen]byte]bool          // key ids of statements from unknown keys
	equivoc  bool
	shown    bool // untrusted mode: the key was reported
	groups   groupCache
}

// NewGate returns a gate for cfg.
func NewGate(cfg GateConfig) (*Gate, error) {
	if len(cfg.Trusted) > 0 && cfg.Store == nil {
		return nil, errors.New("sign: trusting keys needs a state store for the high-water marks")
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	cfg.MaxSkew = max(cfg.MaxSkew, 0)
	g := &Gate{cfg: cfg, trusted: map[[wire.KeyIDLen]byte]PublicKey{},
		verified: map[[wire.HashLen]byte]wire.Statement{}, heard: map[[wire.HashLen]byte]wire.Statement{},
		refused: map[[wire.HashLen]byte]string{}, unknown: map[[wire.KeyIDLen]byte]bool{}}
	for _, k := range cfg.Trusted {
		if prev, dup := g.trusted[k.ID]; dup && prev != k {
			return nil, fmt.Errorf("%w: two trusted keys share the key id %s", ErrKey, k.IDString())
		}
		g.trusted[k.ID] = k
	}
	return g, nil
}

// ManifestGroups returns the manifest channels to join for share: at once, the channel each
// trusted key's publisher answers on (without trusted keys, the channel of the share's name);
// later, if no manifest was accepted by then, also the channel of the share's name, where
// every publisher of the name answers, so that the receiver can say what else it heard.
// The receiver asks for every manifest chunk, so the answer is kept for the last share.
func (g *Gate) ManifestGroups(scope mcast.Scope, share string) (now, later []netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := &g.groups; c.now != nil && c.scope == scope && c.share == share {
		return c.now, c.later
	}
	byName := mcast.ManifestGroup(scope, share)
	if len(g.cfg.Trusted) == 0 {
		now = []netip.Addr{byName}
	} else {
		for _, k := range g.cfg.Trusted {
			now = append(now, mcast.SignedManifestGroup(scope, &k.Key, share))
		}
		later = []netip.Addr{byName}
	}
	g.groups = groupCache{scope: scope, share: share, now: now, later: later}
	return now, later
}

// groupCache is the last answer of ManifestGroups.
type groupCache struct {
	scope      mcast.Scope
	share      string
	now, later []netip.Addr
}

// Statement takes a statement heard on a manifest channel. With trusted keys, one whose key
// id is trusted is verified at once (about 50 µs) and kept if it verifies; others are only
// counted. Without, statements are kept unverified for Accept to report the key.
func (g *Gate) Statement(st *wire.Statement, _ time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.trusted) == 0 {
		if len(g.heard) >= maxStatements {
			clear(g.heard)
		}
		g.heard[st.Manifest] = *st
		return
	}
	k, ok := g.trusted[st.KeyID]
	if !ok {
		if len(g.unknown) < maxRefusals {
			g.unknown[st.KeyID] = true
		}
		return
	}
	if _, have := g.verified[st.Manifest]; have {
		return
	}
	if Verify(k, st) != nil {
		g.badSigs++
		return
	}
	if len(g.order) >= maxStatements {
		delete(g.verified, g.order[0])
		g.order = g.order[1:]
	}
	g.verified[st.Manifest] = *st
	g.order = append(g.order, st.Manifest)
}

// Issued returns when the verified statement vouching for manifest id was issued (the first
// such statement heard, as a server signs a generation when it publishes it and again only
// as its statements near expiry). ok is false when no verified statement for id is kept.
func (g *Gate) Issued(id [wire.HashLen]byte) (t time.Time, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, ok := g.verified[id]
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(st.Issued), 0), true
}

// Accept decides on manifest m, whose blob hashed to id and decoded, for the share asked for.
// It returns nil to accept it; retry when its statement has not been heard yet (drop the
// manifest and assemble it again from the next cycle, which starts with the statement); or
// an error that refuses it for good. Accepting records the new high-water mark first.
func (g *Gate) Accept(m *wire.Manifest, id [wire.HashLen]byte, now time.Time) (retry bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.trusted) == 0 {
		g.report(m, id)
		return false, nil
	}
	if reason := g.check(m, id, now); reason != "" {
		if reason == reasonNoStatement {
			return true, nil
		}
		if len(g.refused) < maxRefusals {
			g.refused[id] = reason
		}
		return false, fmt.Errorf("%w: manifest %x of share %q: %s", ErrUntrusted, id[:8], m.Share, reason)
	}
	return false, nil
}

// reasonNoStatement is check's answer for a manifest whose statement has not been heard.
const reasonNoStatement = "no statement"

// check applies the rules and, if they pass, records the high-water mark; it returns why m
// is refused, or "".
func (g *Gate) check(m *wire.Manifest, id [wire.HashLen]byte, now time.Time) string {
	if m.Publisher == nil {
		return "unsigned"
	}
	k, ok := g.trusted[m.Publisher.KeyID]
	if !ok {
		return "signed by an unknown key " + PublicKeyOf(m.Publisher).IDString()
	}
	if k.Key != m.Publisher.Key {
		return "names the id of trusted key " + k.IDString() + " with another key"
	}
	st, ok := g.verified[id]
	if !ok {
		return reasonNoStatement
	}
	if reason := Rules(&st, m, now, g.cfg.MaxSkew); reason != "" {
		return reason
	}
	mark, ok, err := g.cfg.Store.Accepted(k, m.Share)
	if err != nil {
		return "cannot read this host's high-water mark: " + err.Error()
	}
	switch {
	case ok && st.Generation < mark.Generation:
		return fmt.Sprintf("older generation %d, this host accepted generation %d (a replay?)", st.Generation, mark.Generation)
	case ok && st.Generation == mark.Generation && id != mark.Manifest:
		g.equivoc = true
		msg := fmt.Sprintf("equivocation: key %s signed two different manifests as generation %d of share %q (%x and %x); is the key compromised?",
			k.IDString(), st.Generation, m.Share, mark.Manifest[:8], id[:8])
		if g.cfg.Notice != nil {
			g.cfg.Notice(msg)
		}
		return msg
	case ok && st.Generation == mark.Generation, g.cfg.ReadOnly:
		return "" // nothing to record
	}
	if err := g.cfg.Store.SetAccepted(k, m.Share, Mark{Generation: st.Generation, Manifest: id}); err != nil {
		return "cannot record the high-water mark: " + err.Error()
	}
	return ""
}

// Rules checks a statement that verified against the manifest it vouches for, at time now:
// the same share and generation, not expired, and not issued later than maxSkew from now. It
// returns why the statement does not hold, or "".
func Rules(st *wire.Statement, m *wire.Manifest, now time.Time, maxSkew time.Duration) string {
	switch t := now.Unix(); {
	case st.Share != m.Share:
		return fmt.Sprintf("the statement is for share %q", st.Share)
	case st.Generation != m.Generation:
		return fmt.Sprintf("the statement is for generation %d, the manifest is generation %d", st.Generation, m.Generation)
	case t > int64(st.Expires):
		return fmt.Sprintf("expired %v ago (a frozen or replayed share?)", time.Duration(t-int64(st.Expires))*time.Second)
	case int64(st.Issued) > now.Add(maxSkew).Unix():
		return fmt.Sprintf("issued %v in the future (more than --max-skew %v; check the clocks)",
			time.Duration(int64(st.Issued)-t)*time.Second, maxSkew)
	}
	return ""
}

// report tells the user, once, the key of a signed share fetched without trusted keys, so
// that it can be pinned.
func (g *Gate) report(m *wire.Manifest, id [wire.HashLen]byte) {
	if m.Publisher == nil || g.shown || g.cfg.Notice == nil {
		return
	}
	g.shown = true
	k := PublicKeyOf(m.Publisher)
	st, ok := g.heard[id]
	if ok && Verify(k, &st) == nil && st.Share == m.Share && st.Generation == m.Generation {
		g.cfg.Notice(fmt.Sprintf("share %q is signed by key %s; to accept only manifests it signed, fetch with --trust %s",
			m.Share, k.IDString(), k))
		return
	}
	g.cfg.Notice(fmt.Sprintf("share %q names key %s, but no statement signed by it was heard; not checked (--trust %s would insist)",
		m.Share, k.IDString(), k))
}

// Heard returns nil if nothing was refused; otherwise an error wrapping ErrUntrusted (and
// ErrEquivocation if a trusted key equivocated) that says what was heard and why none of it
// was accepted, e.g. "heard 2 manifests and refused them (…): 2 signed by an unknown key 1A2B…".
func (g *Gate) Heard(share string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.refused) == 0 && g.badSigs == 0 && len(g.unknown) == 0 {
		return nil
	}
	counts := map[string]int{}
	for _, r := range g.refused {
		counts[r]++
	}
	reasons := make([]string, 0, len(counts)+2)
	for r, n := range counts {
		reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(reasons)
	if g.badSigs > 0 {
		reasons = append(reasons, fmt.Sprintf("%d statements whose signature by a trusted key does not verify", g.badSigs))
	}
	if len(g.unknown) > 0 && len(g.refused) == 0 {
		ids := make([]string, 0, len(g.unknown))
		for id := range g.unknown {
			ids = append(ids, PublicKey{ID: id}.IDString())
		}
		sort.Strings(ids)
		reasons = append(reasons, "statements signed by unknown keys "+strings.Join(ids, ", "))
	}
	trusted := make([]string, 0, len(g.cfg.Trusted))
	for _, k := range g.cfg.Trusted {
		trusted = append(trusted, k.IDString())
	}
	what := "no manifest it could accept"
	switch n := len(g.refused); {
	case n == 1:
		what = "1 manifest and refused it"
	case n > 1:
		what = fmt.Sprintf("%d manifests and refused them", n)
	}
	err := fmt.Errorf("%w: share %q: heard %s (trusting key %s): %s",
		ErrUntrusted, share, what, strings.Join(trusted, ", "), strings.Join(reasons, "; "))
	if g.equivoc {
		err = fmt.Errorf("%w (%w)", err, ErrEquivocation)
	}
	return err
}
