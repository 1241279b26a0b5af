package mld

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// RFC 3810 §9 defaults.
const (
	// DefaultRobustness is the Robustness Variable (RFC 3810 §9.1).
	DefaultRobustness = 2
	// DefaultQueryInterval is the interval between General Queries (RFC 3810 §9.2).
	DefaultQueryInterval = 125 * time.Second
	// DefaultQueryResponseInterval is the Maximum Response Delay of General Queries (RFC 3810 §9.3).
	DefaultQueryResponseInterval = 10 * time.Second
	// DefaultLastListenerQueryInterval is the Maximum Response Delay of
	// Multicast-Address-Specific Queries and the gap between them (RFC 3810 §9.8).
	DefaultLastListenerQueryInterval = time.Second
	// DefaultSweepInterval is how often expired groups are cleared from the filters.
	DefaultSweepInterval = time.Second
)

// maxListeningInterval bounds the Multicast Address Listening Interval so that expiry ticks,
// in milliseconds, stay far below the filter's rebase point.
const maxListeningInterval = 24 * time.Hour

// Config configures a Listener (and a State). Zero durations and counts take the RFC 3810
// defaults; use DefaultConfig for a Config that also takes part in querier election.
type Config struct {
	// Ifaces are the links to listen on. Empty means every interface that is up and
	// multicast-capable when Listen is called.
	Ifaces []net.Interface
	// Growable lets Listener.AddLink add links later (the packet socket then hears every
	// interface and ignores those not listened on, even when there is one link at first).
	Growable bool

	// Robustness is the Robustness Variable R (RFC 3810 §9.1); 0 means 2. It is also the
	// Last Listener Query Count and the Startup Query Count.
	Robustness int
	// QueryInterval is the interval between our General Queries when we are the querier
	// (RFC 3810 §9.2); 0 means 125 s. The Startup Query Interval is a quarter of it.
	QueryInterval time.Duration
	// QueryResponseInterval is the Maximum Response Delay in our General Queries
	// (RFC 3810 §9.3); 0 means 10 s.
	QueryResponseInterval time.Duration
	// LastListenerQueryInterval is the Maximum Response Delay of, and the gap between, the
	// Multicast-Address-Specific Queries sent after a leave (RFC 3810 §9.8); 0 means 1 s.
	LastListenerQueryInterval time.Duration
	// SweepInterval is how often expired groups are cleared; 0 means 1 s.
	SweepInterval time.Duration

	// Capacity is the number of groups each link's filter is sized for; 0 means 100,000.
	Capacity int
	// FalsePositive is the filter's false-positive rate at Capacity; 0 means 1 %.
	FalsePositive float64

	// Querier makes the listener take part in querier election (RFC 3810 §7.6.2) and send
	// queries while it is the querier. DefaultConfig sets it.
	Querier bool
	// Clock is the time source; nil means the system clock.
	Clock Clock
	// Logger receives debug-level events; nil means silent.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with the RFC 3810 timers, the default filter size, all
// multicast interfaces and querier election on.
func DefaultConfig() Config {
	return Config{Querier: true}
}

// timers are the durations derived from a Config (RFC 3810 §9).
type timers struct {
	robustness int
	qi, qri    time.Duration
	mali       time.Duration // Multicast Address Listening Interval: R*QI + QRI
	llqi       time.Duration
	llqt       time.Duration // Last Listener Query Time: LLQI * LLQC (LLQC = R)
	oqpi       time.Duration // Other Querier Present Interval: R*QI + QRI/2
	sqi        time.Duration // Startup Query Interval: QI/4
	sweep      time.Duration
	goneTTL    time.Duration // how long a confirmed leave is remembered
}

// timers validates cfg and derives the RFC 3810 timers from it.
func (cfg Config) timers() (timers, error) {
	t := timers{
		robustness: orDefault(cfg.Robustness, DefaultRobustness),
		qi:         orDefault(cfg.QueryInterval, DefaultQueryInterval),
		qri:        orDefault(cfg.QueryResponseInterval, DefaultQueryResponseInterval),
		llqi:       orDefault(cfg.LastListenerQueryInterval, DefaultLastListenerQueryInterval),
		sweep:      orDefault(cfg.SweepInterval, DefaultSweepInterval),
	}
	switch {
	case t.robustness < 1 || t.robustness > 100:
		return t, fmt.Errorf("mld: robustness %d is not in [1, 100]", t.robustness)
	case t.qi < time.Millisecond, t.qri < time.Millisecond, t.llqi < time.Millisecond, t.sweep < time.Millisecond:
		return t, fmt.Errorf("mld: query, response, last listener and sweep intervals must be at least 1 ms (%v, %v, %v, %v)",
			t.qi, t.qri, t.llqi, t.sweep)
	case t.qri > t.qi:
		return t, fmt.Errorf("mld: query response interval %v is longer than the query interval %v", t.qri, t.qi)
	}
	r := time.Duration(t.robustness)
	t.mali = r*t.qi + t.qri
	if t.mali > maxListeningInterval || t.llqi > maxListeningInterval/r {
		return t, fmt.Errorf("mld: listening interval %v (R*QI + QRI) or last listener query time is over %v", t.mali, maxListeningInterval)
	}
	t.llqt = t.llqi * r
	t.oqpi = r*t.qi + t.qri/2
	t.sqi = t.qi / 4
	t.goneTTL = t.llqt + t.qri
	return t, nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
