package mld

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/lcsync/lcsync/mld/bloom"
)

// A Link is one network interface as the State sees it.
type Link struct {
	// Index is the interface index, as in control messages.
	Index int
	// Name is the interface name, for statistics and logs.
	Name string
	// Addr is the interface's link-local address, the source of our queries and our
	// identity in querier election. Without one we never send queries on the link.
	Addr netip.Addr
}

// A QuerySender sends the MLDv2 query q on the link with index ifindex: General Queries to
// ff02::1, Multicast-Address-Specific Queries to the queried group. It is called with the
// State's caller holding whatever lock guards the State, so it must not call back into it.
type QuerySender func(ifindex int, q Query) error

// An Event says that a listener on link Ifindex reported interest in Group (a join, or a
// refresh of one), or with Leave set that it left Group. Source is the reporting host's
// address (:: for reports sent before the host had a link-local address), which lets a user
// tell repeated reports of one host from reports of several hosts: MLDv2 has no report
// suppression, so every listener reports for itself.
type Event struct {
	// Ifindex is the interface index the report arrived on.
	Ifindex int
	// Group is the multicast address reported.
	Group netip.Addr
	// Source is the address of the host that sent the report.
	Source netip.Addr
	// Leave is set when the report was a leave (CHANGE_TO_INCLUDE with no sources, a BLOCK
	// that may have emptied a source list, or an MLDv1 Done). The group stays wanted until
	// MLD's last-listener check fails.
	Leave bool
	// Refresh is set for a current-state record (MODE_IS_EXCLUDE, MODE_IS_INCLUDE): a host
	// answering a query that it is still a member, as opposed to a state change (a new join).
	Refresh bool
}

// Bounds on the exact side tables, so that hostile or buggy reports cannot make them grow
// without limit. Past a bound the State errs on the side of "wanted": groups then simply
// expire after the Multicast Address Listening Interval.
const (
	maxPending = 1 << 16 // pending leaves and verifications per link
	maxGone    = 1 << 16 // recently confirmed leaves per link
	minJoins   = 1 << 10 // lower bound of the join queue's capacity
)

// rebaseAt and rebaseStep keep filter ticks (milliseconds since the epoch) below 2^31.
const (
	rebaseAt   = 1 << 31
	rebaseStep = 1 << 30
)

// State is the router-side MLD state machine of RFC 3810 §7 for a set of links: which groups
// have listeners, pending leaves, querier election and the queries to send. It is fed parsed
// messages (HandleMessage) and asked Wanted; Tick runs whatever is due at the Clock's time.
// A State is not safe for concurrent use; Listener serialises access with a mutex.
type State struct {
	t        timers
	querier  bool
	clock    Clock
	send     QuerySender
	log      *slog.Logger
	epoch    time.Time    // filter tick 0
	filters  bloom.Config // of every link's filter
	links    map[int]*link
	order    []*link // links in the order they were added, for Stats
	joins    []Event
	joinSet  map[Event]struct{}
	maxJoins int

	nextSweep  time.Time
	pendingMin time.Time // earliest pending query or deadline over all links; zero if none
	stats      Stats
}

// link is the per-interface state.
type link struct {
	Link
	filter  *bloom.Filter
	pending map[netip.Addr]*pending
	gone    map[netip.Addr]time.Time // confirmed leaves, until the given time

	querier      bool       // we are the querier
	otherQuerier netip.Addr // the querier we yielded to
	otherUntil   time.Time  // end of the Other Querier Present Interval
	startupLeft  int        // startup General Queries still to send
	nextGQ       time.Time  // next General Query while querier
	v1Until      time.Time  // an MLDv1 querier was heard; remembered until then

	mali      time.Duration // our Multicast Address Listening Interval
	otherMALI time.Duration // the one derived from the other querier's General Queries
}

// NewState returns the state for links, timed and sized by cfg (cfg.Ifaces is ignored).
// send is called for every query to send; it may be nil when cfg.Querier is false.
func NewState(cfg Config, links []Link, send QuerySender) (*State, error) {
	t, err := cfg.timers()
	if err != nil {
		return nil, err
	}
	if cfg.Querier && send == nil {
		return nil, fmt.Errorf("mld: a querier state needs a query sender")
	}
	clock := cfg.Clock
	if clock == nil {
		clock = systemClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := clock.Now()
	s := &State{
		t: t, querier: cfg.Querier, clock: clock, send: send, log: log, epoch: now,
		links: map[int]*link{}, joinSet: map[Event]struct{}{},
		maxJoins:  max(orDefault(cfg.Capacity, bloom.DefaultCapacity), minJoins),
		nextSweep: now.Add(t.sweep),
	}
	s.filters = bloom.Config{Capacity: cfg.Capacity, FalsePositive: cfg.FalsePositive}
	for _, l := range links {
		if err := s.AddLink(l); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddLink starts tracking link l, with no groups; if we may query there, it starts as the
// querier with its Startup Queries due at once (RFC 3810 §7.6.2). A link already tracked is
// an error.
func (s *State) AddLink(l Link) error {
	if _, dup := s.links[l.Index]; dup {
		return fmt.Errorf("mld: interface index %d listed twice", l.Index)
	}
	f, err := bloom.New(s.filters)
	if err != nil {
		return fmt.Errorf("mld: filter for %s: %w", l.Name, err)
	}
	ls := &link{
		Link: l, filter: f, pending: map[netip.Addr]*pending{}, gone: map[netip.Addr]time.Time{},
		querier: s.canQuery(l), startupLeft: s.t.robustness, nextGQ: s.clock.Now(), mali: s.t.mali,
	}
	s.links[l.Index] = ls
	s.order = append(s.order, ls)
	return nil
}

// RemoveLink forgets link ifindex: its groups, pending checks, querier role and the events
// it queued that were not taken yet. It reports whether the link was tracked.
func (s *State) RemoveLink(ifindex int) bool {
	l := s.links[ifindex]
	if l == nil {
		return false
	}
	delete(s.links, ifindex)
	s.order = slices.DeleteFunc(s.order, func(x *link) bool { return x == l })
	kept := s.joins[:0]
	for _, j := range s.joins {
		if j.Ifindex == ifindex {
			delete(s.joinSet, j)
			continue
		}
		kept = append(kept, j)
	}
	clear(s.joins[len(kept):])
	s.joins = kept
	return true
}

// canQuery reports whether we may send queries on l.
func (s *State) canQuery(l Link) bool { return s.querier && l.Addr.IsValid() }

// tick returns now as a filter tick, rebasing the filters when the tick nears 2^31.
func (s *State) tick(now time.Time) uint32 {
	ms := now.Sub(s.epoch).Milliseconds()
	for ms >= rebaseAt {
		for _, l := range s.order {
			l.filter.Rebase(rebaseStep)
		}
		s.epoch = s.epoch.Add(rebaseStep * time.Millisecond)
		ms -= rebaseStep
	}
	return uint32(max(ms, 0))
}

// expiry returns the filter tick at which a report received on l at tick tk expires.
func (s *State) expiry(l *link, tk uint32) uint32 {
	return tk + uint32(l.listening().Milliseconds())
}

// listening returns l's Multicast Address Listening Interval: ours, or the longer one the
// querier we yielded to announces (RFC 3810 §9.2 and §9.4: non-queriers adopt the querier's
// Robustness Variable and Query Interval), so that its slower refreshes never let a group
// expire early.
func (l *link) listening() time.Duration {
	if !l.querier && l.otherQuerier.IsValid() {
		return max(l.mali, l.otherMALI)
	}
	return l.mali
}

// Wanted reports whether some listener on link ifindex wants g. It is true while the filter
// holds g, and false for unknown links. A group the filter does not hold is only reported
// absent when a leave or verification of it has just gone unanswered: otherwise Wanted starts
// a verification (Multicast-Address-Specific Queries and a Last Listener Query Time deadline)
// and answers true until it fails, so a bloom-filter false negative never silences a group
// that still has listeners. Groups that are never tracked (see HandleReport) are not wanted.
func (s *State) Wanted(ifindex int, g netip.Addr) bool {
	l := s.links[ifindex]
	if l == nil || !trackable(g) {
		return false
	}
	now := s.clock.Now()
	if l.filter.Contains(g, s.tick(now)) {
		return true
	}
	if until, ok := l.gone[g]; ok {
		if now.Before(until) {
			return false
		}
		delete(l.gone, g)
	}
	if _, ok := l.pending[g]; ok {
		return true
	}
	if len(l.pending) >= maxPending {
		s.stats.DroppedPending++
		return true
	}
	s.stats.Verifications++
	s.log.Debug("mld: verifying group the filter lost", "iface", l.Name, "group", g)
	s.startPending(l, g, now, false, s.canQuery(l.Link))
	return true
}

// TakeEvents appends the queued events to dst, oldest first, and empties the queue.
// Repeated identical reports between two calls yield one Event.
func (s *State) TakeEvents(dst []Event) []Event {
	dst = append(dst, s.joins...)
	s.joins = s.joins[:0]
	clear(s.joinSet)
	return dst
}

// PendingEvents returns the number of queued Join events.
func (s *State) PendingEvents() int { return len(s.joins) }

// queueEvent queues j unless it is already queued or the queue is full.
func (s *State) queueEvent(j Event) {
	if _, dup := s.joinSet[j]; dup {
		return
	}
	if len(s.joins) >= s.maxJoins {
		s.stats.DroppedJoins++
		return
	}
	s.joins = append(s.joins, j)
	s.joinSet[j] = struct{}{}
}
