package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/metrics"
	"github.com/lcsync/lcsync/pkg/sender"
	"github.com/lcsync/lcsync/pkg/watch"
)

// serve indexes SRC and serves it until interrupted.
func serve(ctx context.Context, e *env, src string) error {
	o := e.o
	rules, err := o.matcher()
	if err != nil {
		return err
	}
	scope, ifaces, err := network(o)
	if err != nil {
		return err
	}
	rate := autoRate(ifaces)
	if o.bwlimit != "auto" {
		rate, _ = parseRate(o.bwlimit) // validated with the options
	}
	// Open every socket first, while we may; then drop to --user; only then read the share.
	tx, err := mcast.NewSendConn(mcast.SendConfig{Ifaces: ifaces, Port: o.port, HopLimit: o.hops})
	if err != nil {
		return withCode(exitNetwork, err)
	}
	defer tx.Close()
	ifw := watchIfaces(e, ifaces) // subscribed before the listener opens: no change is missed
	var listener *mld.Listener
	if !o.carousel {
		mc := mld.DefaultConfig()
		mc.Ifaces, mc.Logger, mc.Growable = ifaces, e.log, ifw != nil
		mc.LastListenerQueryInterval = leaveQueryInterval
		listener, err = mld.Listen(mc)
		if err != nil {
			if errors.Is(err, mld.ErrPrivilege) {
				return withCode(exitPrivilege, err) // the error says how to fix it
			}
			return withCode(exitNetwork, err)
		}
		defer listener.Close()
	}
	// The secret key and the state directory are opened before privileges are dropped, as a
	// daemon reads its keys (the state directory must stay writable by --user).
	signer, err := publisher(e)
	if err != nil {
		return err
	}
	if o.user != "" {
		uid, gid, err := dropPrivileges(o.user)
		if err != nil {
			return err
		}
		e.log.Info("switched user", "user", o.user, "uid", uid, "gid", gid)
	} else if os.Geteuid() == 0 {
		e.log.Warn("serving as root: any file the share leads to is readable by the server; consider --user")
	}
	var w *watch.Watcher
	if o.watch.on {
		// Watches first, then the walk: a change made while indexing is not missed.
		w, err = watch.New(watch.Config{Root: src, Exclude: rules, Settle: o.settle, MaxDelay: o.maxDelay,
			Poll: o.watch.poll, Logger: e.log})
		if err != nil {
			return withCode(exitIO, err)
		}
		st := w.Stats()
		e.log.Info("watching", "path", src, "mode", st.Mode, "dirs", st.Watches, "settle", o.settle, "max-delay", o.maxDelay)
	}
	e.log.Info("indexing", "path", src, "blocksize", o.blockSize, "rules", rules.Len())
	ix, err := index.Build(ctx, src, index.Options{BlockSize: o.blockSize, Logger: e.log, Exclude: rules})
	if err != nil {
		return err
	}
	cfg := sender.Config{Index: ix, Transport: tx, Carousel: o.carousel, Scope: scope, MTU: o.mtu,
		Rate: rate, Delay: o.delay, Logger: e.log, AllowShrink: o.allowShrink, Signer: signer}
	var watchRun func(context.Context) error
	if w != nil {
		cfg.Watch = w
		watchRun = func(ctx context.Context) error { return withCode(exitIO, w.Run(ctx)) }
	}
	if listener != nil {
		cfg.Trigger = listener
	}
	s, err := sender.New(cfg)
	if err != nil {
		return err
	}
	groups, manifest := s.Groups()
	mode := "mld"
	if o.carousel {
		mode = "carousel"
	}
	e.log.Info("serving", "rate", humanRate(rate), "share", ix.Share, "files", len(ix.Files), "bytes", ix.Bytes, "skipped", ix.Skipped, "unreadable", ix.Unreadable,
		"groups", groups, "manifest", manifest, "port", o.port, "mode", mode, "ifaces", ifaceNames(ifaces))
	var mldStats func() mld.Stats
	if listener != nil {
		mldStats = listener.Stats
	}
	metricsRun, err := startMetrics(e, metrics.NewSenderCollector(s.Stats), mldCollector(mldStats))
	if err != nil {
		return err
	}
	ifacesRun := followIfaces(e, ifw, serverIfaceChange(e, tx, listener, s))
	err = runAll(ctx, s.Run, listenerRun(listener), metricsRun, serverSignals(e, s, mldStats), watchRun, ifacesRun)
	if o.stats {
		st := s.Stats()
		fmt.Fprintf(e.stdout, "sent %d datagrams, %s; %d joins (%d repeats ignored), %d channel activations, %d cycles, %d re-indexes, %d slow-downs, %d send errors\n",
			st.Datagrams, humanBytes(float64(st.Bytes)), st.Joins, st.DupJoins, st.Activations, st.Cycles, st.Refreshes, st.Slowdowns, st.SendErrors)
		if w != nil {
			ws := w.Stats()
			fmt.Fprintf(e.stdout, "watch (%s): %d batches, %d rescans (%d walks of the share), %d overflows; %d generations published, %d files hashed, %d renamed files kept their trees, %d manifest pushes, %d generations refused by the shrink guard\n",
				ws.Mode, ws.Batches, ws.Rescans, st.Rescans, ws.Overflows, st.Updates, st.Hashed, st.Moved, st.Pushes, st.ShrinkRefusals)
		}
	}
	if err != nil {
		var c classified
		if errors.As(err, &c) {
			return err // the watcher's: a local I/O error
		}
		return withCode(exitNetwork, err)
	}
	e.log.Info("stopped")
	return nil // SIGINT or SIGTERM is how a server ends normally
}

// leaveQueryInterval is the Last Listener Query Interval of the server's MLD listener (RFC
// 3810 §9.8; the default is 1 s): a leave stops a channel only once the two queries that
// follow it go unanswered, which this makes 0.5 s. Hosts on a LAN answer well within it.
const leaveQueryInterval = 250 * time.Millisecond

// maxAutoRate caps --bwlimit auto. Measured on the namespace rig (BENCHMARKS.md): with
// receivers signalling congestion, 3 Gbit/s was the best setting for 1, 4 and 8 receivers and
// under 1% and 5% loss; above it a sender's own CPU is the limit on such a machine.
const maxAutoRate = 3e9

// autoRate is the default send rate: the slowest chosen interface's link speed (as the kernel
// reports it in /sys/class/net/IF/speed, in Mbit/s), at most maxAutoRate. Interfaces that do
// not report a speed (some virtual ones) do not lower it.
func autoRate(ifaces []net.Interface) float64 {
	rate := maxAutoRate
	for _, ifi := range ifaces {
		b, err := os.ReadFile("/sys/class/net/" + ifi.Name + "/speed")
		if err != nil {
			continue
		}
		if mbit, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && mbit > 0 {
			rate = min(rate, float64(mbit)*1e6)
		}
	}
	return rate
}

// humanRate formats bits per second.
func humanRate(r float64) string {
	switch {
	case r == 0:
		return "unlimited"
	case r >= 1e9:
		return strconv.FormatFloat(r/1e9, 'g', 4, 64) + " Gbit/s"
	default:
		return strconv.FormatFloat(r/1e6, 'g', 4, 64) + " Mbit/s"
	}
}

func listenerRun(l *mld.Listener) func(context.Context) error {
	if l == nil {
		return nil
	}
	return l.Run
}

// runAll runs the functions until ctx ends or one fails; it returns the first error.
func runAll(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		if fn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// network resolves --scope and --iface, for serving and fetching.
func network(o *options) (mcast.Scope, []net.Interface, error) {
	scope, err := mcast.ParseScope(o.scope)
	if err != nil {
		return 0, nil, usagef(err.Error())
	}
	ifaces, err := mcast.Interfaces(splitList(o.ifaces))
	if err != nil {
		return 0, nil, withCode(exitNetwork, err)
	}
	return scope, ifaces, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ifaceNames(ifs []net.Interface) string {
	names := make([]string, len(ifs))
	for i, ifi := range ifs {
		names[i] = ifi.Name
	}
	return strings.Join(names, ",")
}
