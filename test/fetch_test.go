package test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// fetchDefaults returns the options every fetch runs with unless the test gives its own (later
// options win). The process is also killed if it outlives fetchHardTimeout.
func fetchDefaults() []string {
	return []string{"--stats", "--idle-timeout", "20s", "--timeout", "150s"}
}

const fetchHardTimeout = 180 * time.Second

// fetchResult is what one `lcsync NAME DST` run produced.
type fetchResult struct {
	ns       string
	args     []string
	code     int
	stdout   string
	stderr   string
	elapsed  time.Duration
	stats    fetchStats
	statsErr error
	// maxRSS is the receiver's peak resident set in bytes: the highest VmHWM read from
	// /proc/PID/status while it ran. Not rusage: Go starts commands with vfork, and Linux
	// carries the parent's high-water mark across the exec into the child's ru_maxrss, so
	// every receiver would report at least the test binary's own peak.
	maxRSS int64
}

func (r fetchResult) String() string {
	return fmt.Sprintf("`lcsync %s` in %s: exit %d after %.2fs\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.args, " "), r.ns, r.code, r.elapsed.Seconds(), r.stdout, r.stderr)
}

// pendingFetch is a fetch running in the background.
type pendingFetch struct {
	done    chan struct{}
	started chan struct{} // closed once pid is set (or the start failed, pid 0)
	pid     int           // the lcsync process (`ip netns exec` execs it in place)
	res     fetchResult
}

// signal sends sig to the running fetch; it does nothing once the fetch has ended.
func (p *pendingFetch) signal(sig syscall.Signal) error {
	<-p.started
	if p.pid == 0 || !p.running() {
		return nil
	}
	return syscall.Kill(p.pid, sig)
}

// wait blocks until the fetch has ended and returns its result.
func (p *pendingFetch) wait() fetchResult {
	<-p.done
	return p.res
}

// running reports whether the fetch is still in progress.
func (p *pendingFetch) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// startFetch starts `lcsync fetchDefaults... ARGS...` in ns.
func startFetch(ns *netnstest.NS, args ...string) *pendingFetch {
	p := &pendingFetch{done: make(chan struct{}), started: make(chan struct{})}
	all := append(fetchDefaults(), args...)
	go func() {
		defer close(p.done)
		ctx, cancel := context.WithTimeout(context.Background(), fetchHardTimeout)
		defer cancel()
		cmd := ns.Command(ctx, lcsyncBin, all...)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = 5 * time.Second
		start := time.Now()
		err := cmd.Start()
		var hwm int64
		if err == nil {
			p.pid = cmd.Process.Pid
			close(p.started)
			stop := make(chan struct{})
			polled := make(chan int64, 1)
			go func() { polled <- pollHWM(p.pid, stop) }()
			err = cmd.Wait()
			close(stop)
			hwm = <-polled
		} else {
			close(p.started)
		}
		p.res = fetchResult{ns: ns.Name, args: all, code: exitCodeOf(err), stdout: stdout.String(),
			stderr: stderr.String(), elapsed: time.Since(start), maxRSS: hwm}
		if err != nil && p.res.code == -1 {
			p.res.stderr += fmt.Sprintf("\n[test: %v]", err)
		}
		p.res.stats, p.res.statsErr = parseStats(p.res.stdout)
	}()
	return p
}

// fetch runs `lcsync fetchDefaults... ARGS...` in ns to completion.
func fetch(ns *netnstest.NS, args ...string) fetchResult {
	return startFetch(ns, args...).wait()
}

// fetchEach runs one fetch per namespace at the same time; args(i) gives receiver i's
// arguments (0-based).
func fetchEach(nss []*netnstest.NS, args func(i int) []string) []fetchResult {
	res := make([]fetchResult, len(nss))
	var wg sync.WaitGroup
	for i, ns := range nss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = fetch(ns, args(i)...)
		}()
	}
	wg.Wait()
	return res
}

// fetchSeries runs, on every namespace at the same time, that namespace's fetches one after
// another; series[i][j] are the arguments of namespace i's fetch j, and so are the results.
func fetchSeries(nss []*netnstest.NS, series [][][]string) [][]fetchResult {
	res := make([][]fetchResult, len(series))
	var wg sync.WaitGroup
	for i, list := range series {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, args := range list {
				res[i] = append(res[i], fetch(nss[i], args...))
			}
		}()
	}
	wg.Wait()
	return res
}

// mustSucceed fails the test unless the fetch exited 0 and printed parsable statistics.
func mustSucceed(t *testing.T, r fetchResult) fetchStats {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("fetch failed: %s", r)
	}
	if r.statsErr != nil {
		t.Fatalf("fetch printed no usable --stats (%v): %s", r.statsErr, r)
	}
	t.Logf("%s: %.2fs; %s", r.ns, r.elapsed.Seconds(), r.stats)
	return r.stats
}

// fetchStats are the figures `lcsync --stats` prints after a fetch.
type fetchStats struct {
	Files, Unchanged, Other, Deleted         int64
	Blocks, Received, Reused                 int64
	Datagrams, Duplicates                    int64
	Corrupt, Malformed, Foreign, KernelDrops int64
	Joins, Rejoins                           int64
	Seconds                                  float64
}

func (s fetchStats) String() string {
	return fmt.Sprintf("files %d/%d unchanged/%d other, blocks %d: %d received %d reused, datagrams %d, dup %d, corrupt %d, malformed %d, foreign %d, drops %d, joins %d, rejoins %d",
		s.Files, s.Unchanged, s.Other, s.Blocks, s.Received, s.Reused, s.Datagrams, s.Duplicates,
		s.Corrupt, s.Malformed, s.Foreign, s.KernelDrops, s.Joins, s.Rejoins)
}

// The --stats lines (cmd/lcsync/fetch.go printFetchStats).
var (
	statsFiles  = regexp.MustCompile(`(?m)^files (\d+) fetched, (\d+) unchanged, (\d+) other entries, (\d+) deleted$`)
	statsBlocks = regexp.MustCompile(`(?m)^blocks (\d+): (\d+) received \([^)]*\), (\d+) reused from the local copy$`)
	statsDgrams = regexp.MustCompile(`(?m)^datagrams (\d+) \([^)]*\), duplicates (\d+), wasted [^,]*, tree [^,]*, corrupt (\d+), malformed (\d+), foreign (\d+), kernel drops (\d+)$`)
	statsChans  = regexp.MustCompile(`(?m)^channels joined (\d+), rejoined (\d+)[^;]*; ([0-9.]+)s, `)
)

// parseStats extracts the statistics from a fetch's standard output.
func parseStats(out string) (fetchStats, error) {
	var s fetchStats
	lines := []struct {
		re   *regexp.Regexp
		dsts []*int64
	}{
		{statsFiles, []*int64{&s.Files, &s.Unchanged, &s.Other, &s.Deleted}},
		{statsBlocks, []*int64{&s.Blocks, &s.Received, &s.Reused}},
		{statsDgrams, []*int64{&s.Datagrams, &s.Duplicates, &s.Corrupt, &s.Malformed, &s.Foreign, &s.KernelDrops}},
		{statsChans, []*int64{&s.Joins, &s.Rejoins}},
	}
	for _, l := range lines {
		m := l.re.FindStringSubmatch(out)
		if m == nil {
			return s, fmt.Errorf("no line matching %q", l.re)
		}
		for i, d := range l.dsts {
			v, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil {
				return s, fmt.Errorf("%q: %w", m[0], err)
			}
			*d = v
		}
	}
	m := statsChans.FindStringSubmatch(out)
	s.Seconds, _ = strconv.ParseFloat(m[3], 64)
	return s, nil
}
