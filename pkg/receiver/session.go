package receiver

import (
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lcsync/lcsync/pkg/destfs"
	"github.com/lcsync/lcsync/pkg/fec"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/wire"
)

// session is the state the stages of a fetch share: the reader, the workers, the copier and
// the controller each take mu to touch it (see doc.go for who owns what).
type session struct {
	cfg   Config // read-only once Fetch starts
	share string // the share's name, from cfg.Name
	mu    sync.Mutex

	// Guarded by mu.
	stats    Stats
	clock    activity
	asm      manifestAssembler
	manifest *wire.Manifest     // set once by the reader (or, for version 2, the controller), then read-only
	tree     *wire.TreeManifest // a version 2 manifest accepted, its objects being fetched
	objs     objectFetch
	files    []*fileState // files started, appended by the controller
	chans    channels
	ready    []*fileState // complete files waiting to be finished by the controller
	mem      blockMemory
	jobs     []writeJob // completed blocks collected under mu, sent to workers after unlocking
	loss     lossMeter
	scratch  []span // the reader's, for piece gaps
	watch    genWatch

	// Set by the controller before the first data channel is joined, then read-only.
	root *os.Root     // the destination, for temporary files created as data arrives
	dc   *destfs.Dirs // root's directories, kept open (safe for concurrent use)

	wake    chan struct{} // wakes the controller (see poke)
	backlog backlog       // blocks to read back and verify; its own lock
	copier  copier        // reused blocks to copy; its queue is guarded by mu
	codec   fec.Codec     // stateless
}

// activity is when the fetch last made progress and whether the socket is drained: the
// clocks behind the idle timeout and the silence rules (guarded by mu).
type activity struct {
	started    time.Time
	lastUseful time.Time // verified progress (see advance)
	waiting    bool      // the reader is waiting on an empty socket
	drained    time.Time // when data last ended the reader's wait on an empty socket
}

// maxBacklog bounds how far behind the socket the reader is assumed to be: a receive buffer
// holds well under a second of traffic at any rate that matters.
const maxBacklog = time.Second

// drainedAt returns the latest time the socket is known to have been empty: now while the
// reader waits on it, else when data last ended a wait (but no earlier than maxBacklog ago).
// Quiet and stall timers count only up to it, so a backlog is not mistaken for silence.
func (a *activity) drainedAt(now time.Time) time.Time {
	if a.waiting {
		return now
	}
	if d := now.Add(-maxBacklog); a.drained.Before(d) {
		return d
	}
	return a.drained
}

// stalled reports whether a joined subscription made no verified progress for after (counted,
// like quietFor, only while the socket is drained): datagrams may still arrive on it, but they
// bring nothing that verifies (a hostile trickle, or only duplicates).
func (a *activity) stalled(sb *sub, now time.Time, after time.Duration) bool {
	last := sb.lastUseful
	if last.Before(sb.joinedAt) {
		last = sb.joinedAt
	}
	return a.drainedAt(now).Sub(last) >= after
}

// quietFor returns how long a subscription has been quiet, counting only time in which the
// reader had drained the socket: a backlog in the socket buffer is not silence.
func (a *activity) quietFor(sb *sub, now time.Time) time.Duration {
	return a.drainedAt(now).Sub(sb.lastActivity())
}

// advance records verified progress (a manifest accepted, a hash run or page verified, a
// block verified and written) for sb: it resets the idle timeout and the sub's stall clock.
// Datagrams that merely parse are not progress, so hostile traffic cannot keep a stalled
// fetch alive.
func (a *activity) advance(sb *sub, now time.Time) {
	a.lastUseful = now
	if sb != nil {
		sb.lastUseful = now
	}
}

func newSession(cfg Config) *session {
	now := time.Now()
	share, _, _ := strings.Cut(cfg.Name, "/")
	s := &session{
		cfg:   cfg,
		share: share,
		clock: activity{started: now, lastUseful: now, waiting: true}, // the reader starts on an empty socket
		asm:   newManifestAssembler(share),
		objs:  newObjectFetch(),
		chans: newChannels(),
		wake:  make(chan struct{}, 1),
	}
	s.backlog.ready = make(chan struct{}, 1)
	s.copier = copier{s: s, wake: make(chan struct{}, 1)}
	return s
}

func (s *session) manifestGroup() netip.Addr { return mcast.ManifestGroup(s.cfg.Scope, s.share) }

// pageHeight is the levels a tree page spans (caller holds mu, after the manifest).
func (s *session) pageHeight() int {
	if s.manifest == nil || s.manifest.PageHeight == 0 {
		return 1
	}
	return int(s.manifest.PageHeight)
}

// poke wakes the controller.
func (s *session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maybeReady queues f for finishing once it is complete (caller holds mu).
func (s *session) maybeReady(f *fileState) {
	if !f.readied && !f.finished && f.complete() {
		f.readied = true
		s.ready = append(s.ready, f)
		s.poke()
	}
}

// fail records a file's error; the controller reports it (caller holds mu).
func (s *session) fail(f *fileState, err error) {
	if f.err == nil {
		f.err = err
	}
	s.poke()
}

func (s *session) lockedFail(f *fileState, err error) {
	s.mu.Lock()
	s.fail(f, err)
	s.mu.Unlock()
}
