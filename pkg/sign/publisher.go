package sign

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// DefaultLifetime is how long a statement stays valid unless configured.
const DefaultLifetime = 24 * time.Hour

// MinLifetime is the shortest statement lifetime: a statement's times are whole seconds.
const MinLifetime = 2 * time.Second

// Publisher signs the generations of a share for a server (pkg/sender's Signer).
type Publisher struct {
	key      *SecretKey
	store    *Store
	lifetime time.Duration
	now      func() time.Time
}

// NewPublisher returns a publisher signing with key, keeping its generations in store, whose
// statements are valid for lifetime (at least MinLifetime). now is the clock (nil: time.Now).
func NewPublisher(key *SecretKey, store *Store, lifetime time.Duration, now func() time.Time) (*Publisher, error) {
	if key == nil || store == nil {
		return nil, errors.New("sign: a publisher needs a key and a state store")
	}
	if lifetime < MinLifetime {
		return nil, fmt.Errorf("sign: statement lifetime %v is shorter than %v", lifetime, MinLifetime)
	}
	if now == nil {
		now = time.Now
	}
	return &Publisher{key: key, store: store, lifetime: lifetime, now: now}, nil
}

// Key returns the publisher's public key as a manifest names it.
func (p *Publisher) Key() *wire.Publisher { return p.key.Public().Publisher() }

// Generation returns the generation for a new manifest of share and records it: at least
// atLeast, greater than every generation issued for the share with this key before (persisted,
// so across restarts), and at least the clock in nanoseconds (so a lost state directory does
// not send it back). A clock stepped back changes nothing: the persisted generation wins.
func (p *Publisher) Generation(share string, atLeast uint64) (uint64, error) {
	last, ok, err := p.store.Published(p.key.Public(), share)
	if err != nil {
		return 0, err
	}
	gen := atLeast
	if ok {
		if last.Generation == math.MaxUint64 {
			return 0, fmt.Errorf("sign: generation of share %q exhausted", share)
		}
		gen = max(gen, last.Generation+1)
	}
	if now := p.now().UnixNano(); now > 0 {
		gen = max(gen, uint64(now))
	}
	if err := p.store.SetPublished(p.key.Public(), share, Mark{Generation: gen}); err != nil {
		return 0, err
	}
	return gen, nil
}

// Sign returns the statement datagram for generation gen of share, whose manifest id is id,
// valid from now for the lifetime, and the time by which it must be signed again (with a new
// generation): half the lifetime from now, so that receivers never see a valid share expire
// and a replayed old generation expires soon.
func (p *Publisher) Sign(share string, gen uint64, id [wire.HashLen]byte) ([]byte, time.Time, error) {
	now := p.now()
	issued := now.Unix()
	st := &wire.Statement{Manifest: id, Generation: gen, Issued: uint64(issued),
		Expires: uint64(issued + int64(p.lifetime/time.Second)), Share: share}
	if err := p.key.Sign(st); err != nil {
		return nil, time.Time{}, err
	}
	return wire.AppendStatement(nil, st), now.Add(p.lifetime / 2), nil
}
