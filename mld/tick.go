package mld

import "time"

// Tick runs everything due at the Clock's current time: the periodic sweep of expired
// groups, General Queries and querier election timeouts, Multicast-Address-Specific Query
// retransmissions, and leaves and verifications whose deadline passed. It returns the time
// at which Tick next has work.
func (s *State) Tick() time.Time {
	now := s.clock.Now()
	if !now.Before(s.nextSweep) {
		tk := s.tick(now)
		for _, l := range s.order {
			l.filter.Sweep(tk)
		}
		s.pruneGone(now)
		s.nextSweep = now.Add(s.t.sweep)
	}
	for _, l := range s.order {
		s.runQuerier(l, now)
	}
	s.runPending(now)
	return s.NextDeadline()
}

// NextDeadline returns the time at which Tick next has work. It is never later than the
// next sweep.
func (s *State) NextDeadline() time.Time {
	next := s.nextSweep
	if !s.pendingMin.IsZero() && s.pendingMin.Before(next) {
		next = s.pendingMin
	}
	for _, l := range s.order {
		if d := s.querierDeadline(l); !d.IsZero() && d.Before(next) {
			next = d
		}
	}
	return next
}
