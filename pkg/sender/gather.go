package sender

import (
	"net/netip"
	"slices"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast"
)

// Receivers updating the same file from the same old copy want the same tree pages and the
// same blocks, but each hashes its local copy first and they finish tens of milliseconds
// apart; a host served first then walks ahead of the others, and every short cycle of the
// walk goes out once per host instead of once in all. So a channel of a file may wait, a
// little, for the hosts expected to join it too, and go out as soon as they have:
//   - a file's root page, where every walk starts, waits for the hosts that fetched the tree
//     object listing the file lately (followers of a new generation that changed it: each
//     joins once it has hashed its copy), and a large file's for the hosts that joined the
//     manifest lately, at most RootGather (in proportion to the file's size below
//     rootGatherFull: hosts drift apart as they hash their copies; half of RootGather at
//     least for the followers, whose wait ends as soon as they have all joined, and which a
//     generation stops waiting for once such waits mostly time out: listedScore);
//   - any other tree page or data channel waits for the hosts that fetched the page above it,
//     at most WalkGather, as long as such waits mostly end with those hosts joining (hosts
//     with different old copies want different channels: waiting for them is then given up).
// A lone receiver waits for nobody, and nobody waits for a host the channel already served:
// a host joining a channel again lost it, and must not be kept waiting for others that will
// not come (a receiver rejoins a silent channel sooner than RootGather ends).

// walkers records, per interface, the hosts that joined the manifest channel lately.
type walkers map[int]map[netip.Addr]time.Time

// walkerTTL is how long a host that joined the manifest counts as fetching: long enough to
// hash a large local copy.
const walkerTTL = 10 * time.Minute

// rootGatherFull is the file size from which the root page waits the whole RootGather.
const rootGatherFull = 512 << 20

// rootGatherMin is the least file size whose root page waits for other hosts: below it,
// hashing the local copy is quick and hosts do not drift apart much.
const rootGatherMin = 32 << 20

// maxWalkers bounds the hosts remembered per interface: manifest joins carry a source address
// any host can forge, and a root page's gather costs time in proportion to them.
const maxWalkers = 256

// note records that src joined the manifest on interface ifindex. When the interface already
// has maxWalkers hosts, the ones older than walkerTTL are forgotten, and if that is not
// enough, half of them (in map order, which is random): waits then expect fewer hosts.
func (w walkers) note(ifindex int, src netip.Addr, now time.Time) {
	m := w[ifindex]
	if m == nil {
		m = make(map[netip.Addr]time.Time)
		w[ifindex] = m
	}
	if _, ok := m[src]; !ok && len(m) >= maxWalkers {
		trim(m, maxWalkers, func(at time.Time) bool { return now.Sub(at) >= walkerTTL })
	}
	m[src] = now
}

// trim makes room in m, which holds limit entries or more: it deletes the old ones, then, if
// m is still over half full, entries in map order until it is not.
func trim[K comparable, V any](m map[K]V, limit int, old func(V) bool) {
	sweep(m, old)
	for k := range m {
		if len(m) < limit/2 {
			return
		}
		delete(m, k)
	}
}

// hosts returns the hosts on ifindex that joined the manifest within walkerTTL, forgetting
// the others.
func (w walkers) hosts(ifindex int, now time.Time) []netip.Addr {
	var out []netip.Addr
	for h, at := range w[ifindex] {
		if now.Sub(at) >= walkerTTL {
			delete(w[ifindex], h)
			continue
		}
		out = append(out, h)
	}
	return out
}

// since returns when src last joined the manifest on ifindex.
func (w walkers) since(ifindex int, src netip.Addr) time.Time { return w[ifindex][src] }

// servedRec is who a channel that ended served: the hosts its children may expect.
type servedRec struct {
	hosts []netip.Addr
	at    time.Time
}

// servedTTL is how long the hosts a page served are expected on the channels below it.
const servedTTL = 2 * time.Second

// maxServed bounds the hosts a channel remembers serving.
const maxServed = 64

// maxRootServed bounds the hosts a root page remembers having served.
const maxRootServed = 1024

func (a *active) addServed(src netip.Addr) {
	if len(a.served) < maxServed && !slices.Contains(a.served, src) {
		a.served = append(a.served, src)
	}
}

// keepServed records the hosts a finished channel served: the hosts the channels below it
// may expect, and those it need not wait for if it starts again.
func (s *Sender) keepServed(a *active, now time.Time) {
	if len(a.served) == 0 {
		return
	}
	if len(s.served) >= 8192 && now.Sub(s.servedSwept) >= servedTTL {
		s.servedSwept = now
		sweep(s.served, func(r servedRec) bool { return now.Sub(r.at) >= servedTTL })
	}
	hosts := a.served
	if prev, ok := s.served[a.key]; ok && a.cyc.kind == mcast.KindObject && now.Sub(prev.at) < servedTTL {
		// An object's cycles right after a generation serve its followers in a few groups:
		// all of them are expected on the files it lists (listedFor).
		for _, h := range prev.hosts {
			if len(hosts) < maxServed && !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	s.served[a.key] = servedRec{hosts: hosts, at: now}
	if a.isRoot {
		m := s.rootServed[a.key]
		if m == nil {
			m = make(map[netip.Addr]time.Time)
			s.rootServed[a.key] = m
		}
		sweep(m, func(at time.Time) bool { return now.Sub(at) >= walkerTTL })
		for _, h := range a.served {
			if _, ok := m[h]; !ok && len(m) >= maxRootServed {
				trim(m, maxRootServed, func(time.Time) bool { return false })
			}
			m[h] = now
		}
	}
}

// servedAgain reports whether h already got channel key: since it last joined the manifest
// for a root page, lately for any other channel.
func (s *Sender) servedAgain(key actKey, h netip.Addr, root bool, now time.Time) bool {
	if root {
		at, ok := s.rootServed[key][h]
		return ok && !at.Before(s.walkers.since(key.ifindex, h))
	}
	rec, ok := s.served[key]
	return ok && now.Sub(rec.at) < servedTTL && slices.Contains(rec.hosts, h)
}

// listedScore is the share of a generation's root-page waits for its followers (see
// listedFor) that ended with every one of them joined. A follower that fetched a directory's
// object but will not fetch every changed file in it (its own --exclude rules, a pass
// superseded, a host gone) would otherwise hold the root page of each such file for the whole
// wait: in a bulk change of thousands of files, minutes. Once waits mostly time out (below
// minGatherScore: seven misses in a row), root pages stop waiting for followers until the next
// generation.
type listedScore struct {
	gen uint64
	v   float64
}

// trusted reports whether root pages of generation gen wait for followers.
func (l *listedScore) trusted(gen uint64) bool {
	if l.gen != gen {
		l.gen, l.v = gen, 1
	}
	return l.v >= minGatherScore
}

// note records how a wait ended.
func (l *listedScore) note(hit bool) {
	l.v *= 0.9
	if hit {
		l.v += 0.1
	}
}

// gatherScore is the share of recent waits that ended with every expected host joined, per
// file; below minGatherScore, the file's channels below the root no longer wait.
const minGatherScore = 0.5

// gather decides whether a channel just started by src should wait for other hosts, and sets
// its pause and the hosts it waits for.
func (s *Sender) gather(a *active, src netip.Addr, now time.Time) {
	r, ok := s.tab.lookup(a.key.group)
	if !ok || r.file < 0 || int(r.file) >= len(s.ix.Files) || s.ix.Files[r.file].Tree == nil {
		return
	}
	sh := s.ix.Files[r.file].Tree.Shape()
	top, k, i := sh.TopLevel(), int(r.level), int(r.index)
	var expect []netip.Addr
	wait := s.cfg.WalkGather
	root := k == top && a.cyc.kind == mcast.KindTree
	if root {
		a.isRoot = true
	}
	if s.servedAgain(a.key, src, root, now) {
		return // a retry: src lost what it got, and waits for nobody
	}
	if k == top {
		if !root {
			return
		}
		wait = time.Duration(float64(s.cfg.RootGather) * min(1, float64(sh.Size())/rootGatherFull))
		if hosts := s.listedFor(a.key.ifindex, int(r.file), now); len(hosts) >= 2 && slices.Contains(hosts, src) && s.rootScore.trusted(s.gen) {
			// A new generation that changed the file: the hosts that fetched the object
			// listing it come for it too, each once it has hashed its copy.
			expect, wait = hosts, max(wait, s.cfg.WalkGather, s.cfg.RootGather/2)
			a.listed = true
		} else if sh.Size() >= rootGatherMin {
			expect = s.walkers.hosts(a.key.ifindex, now)
		} else {
			return
		}
		s.gatherScore[r.file] = 1 // a new walk: trust waits again
	} else {
		if s.gatherScore[r.file] < minGatherScore {
			return
		}
		// The page above: the lowest page level over k (pages start at the top, every
		// PageHeight levels).
		h := s.cfg.PageHeight
		pk := top - (top-k-1)/h*h
		ph, err := s.ix.Files[r.file].Tree.Get(pk, i>>(pk-k))
		if err != nil {
			return // a stored tree that cannot be read: no wait (its cycle fails anyway)
		}
		up := actKey{a.key.ifindex, mcast.TreeGroup(s.cfg.Scope, uint8(pk), [32]byte(ph))}
		if p, ok := s.byKey[up]; ok {
			expect = p.served
		} else if rec, ok := s.served[up]; ok && now.Sub(rec.at) < servedTTL {
			expect = rec.hosts
		}
	}
	expect = slices.DeleteFunc(slices.Clone(expect), func(h netip.Addr) bool {
		return h != src && s.servedAgain(a.key, h, root, now)
	})
	if wait <= 0 || len(expect) < 2 || !slices.Contains(expect, src) {
		return
	}
	a.expect = expect
	a.pause = now.Add(wait)
}

// listedFor returns the hosts that fetched, lately (servedTTL), the tree object that lists
// file number fi (its directory's object, or the page holding it), when that object is new
// in this generation: after a generation that changed the file, the followers that are about
// to fetch it. (Fetchers of other files of an unchanged directory are not waited for.)
func (s *Sender) listedFor(ifindex, fi int, now time.Time) []netip.Addr {
	if s.cfg.WalkGather <= 0 {
		return nil
	}
	id, ok := s.ix.EntryObject(s.ix.Files[fi].Entry.Name)
	if !ok {
		return nil
	}
	key := actKey{ifindex, mcast.ObjectGroup(s.cfg.Scope, id)}
	if !s.tab.fresh[key.group] {
		return nil // the directory did not change in this generation: no followers walked to it
	}
	var hosts []netip.Addr
	if rec, ok := s.served[key]; ok && now.Sub(rec.at) < servedTTL {
		hosts = slices.Clone(rec.hosts)
	}
	if p, ok := s.byKey[key]; ok { // a later group of them, being served now
		for _, h := range p.served {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// gathered ends a channel's wait once every host it expects has joined it.
func (s *Sender) gathered(a *active, now time.Time) {
	if a.expect == nil {
		return
	}
	for _, h := range a.expect {
		if !slices.Contains(a.members, h) {
			return
		}
	}
	a.expect = nil
	a.pause = now
	s.scoreGather(a, true)
}

// gatherTimedOut is called when a waiting channel's pause ran out before every expected host
// joined it.
func (s *Sender) gatherTimedOut(a *active) {
	if a.expect != nil {
		a.expect = nil
		s.scoreGather(a, false)
	}
}

func (s *Sender) scoreGather(a *active, hit bool) {
	if a.listed {
		s.rootScore.note(hit)
	}
	r, _ := s.tab.lookup(a.key.group)
	v := 0.9 * s.gatherScore[r.file]
	if hit {
		v += 0.1
	}
	s.gatherScore[r.file] = v
}
