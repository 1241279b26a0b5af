package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/metrics"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sign"
)

// fetch receives the served NAME into local DST.
func fetch(ctx context.Context, e *env, name, dst string) error {
	o := e.o
	rules, err := o.matcher()
	if err != nil {
		return err
	}
	scope, ifaces, err := network(o)
	if err != nil {
		return err
	}
	rx, err := mcast.ListenRecv(mcast.RecvConfig{Port: o.port, Ifaces: ifaces})
	if err != nil {
		return withCode(exitNetwork, err)
	}
	defer rx.Close()
	fec, _ := parseFEC(o.fec) // checked with the other options
	limitMemory(o.maxMemory)
	gate, err := trustGate(e)
	if err != nil {
		return err
	}
	var progress metrics.FetchProgress
	metricsRun, err := startMetrics(e, metrics.NewFetchCollector(rx.Stats, &progress))
	if err != nil {
		return err
	}
	stopBackground := background(ctx, e, metricsRun, fetchSignals(e, progress.Load, nil))
	defer stopBackground()
	bar := newProgressBar(e)
	// A share that changes under the fetch is fetched again on a new socket (the old one is
	// closed by the receiver).
	var again []*mcast.RecvConn
	defer func() {
		for _, r := range again {
			r.Close()
		}
	}()
	listen := func() (receiver.Transport, error) {
		r, err := mcast.ListenRecv(mcast.RecvConfig{Port: o.port, Ifaces: ifaces})
		if err != nil {
			return nil, err
		}
		again = append(again, r)
		return receiver.NewTransport(r), nil
	}
	st, err := receiver.Fetch(ctx, receiver.Config{
		Name: name, Dest: dst, Transport: receiver.NewTransport(rx), Listen: listen, Scope: scope, Channels: o.channels,
		Perms: o.perms, Times: o.times, Delete: o.delete, DryRun: o.dryRun, Exclude: rules,
		Timeout: o.timeout, IdleTimeout: o.idleTimeout, Logger: e.log, FEC: fec, Gate: gate, MaxMemory: o.maxMemory,
		OnProgress: func(p receiver.Progress) {
			progress.Store(p)
			bar.update(p)
		},
		OnFile: func(r receiver.FileResult) {
			if o.dryRun || o.verbose {
				bar.clear()
				printAction(e, r.Action, r.Path, r.Blocks, r.Fetch, r.Bytes)
			}
		},
	})
	bar.done()
	// Datagrams the socket dropped before the receiver saw them (not sent to a joined group:
	// unicast to the port, above all) are foreign too.
	st.Foreign += int64(rx.Stats().Foreign)
	for _, r := range again {
		st.Foreign += int64(r.Stats().Foreign)
	}
	if o.stats || o.dryRun {
		printFetchStats(e, st)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sign.ErrUntrusted):
		return withCode(exitTrust, err)
	case errors.Is(err, receiver.ErrTimeout), errors.Is(err, receiver.ErrChanged):
		return withCode(exitNetwork, err)
	case errors.Is(err, receiver.ErrVerify):
		return withCode(exitVerify, err)
	default:
		return err
	}
}

func printFetchStats(e *env, st receiver.Stats) {
	fmt.Fprintf(e.stdout, "files %d fetched, %d unchanged, %d other entries, %d deleted\n", st.Files, st.Unchanged, st.Other, st.Deleted)
	fmt.Fprintf(e.stdout, "blocks %d: %d received (%s), %d reused from the local copy\n",
		st.Blocks, st.Needed, humanBytes(float64(st.NeededBytes)), st.Reused)
	fmt.Fprintf(e.stdout, "datagrams %d (%s), duplicates %d, wasted %s, tree %s, corrupt %d, malformed %d, foreign %d, kernel drops %d\n",
		st.Datagrams, humanBytes(float64(st.BytesReceived)), st.Duplicates, humanBytes(float64(st.WastedBytes)),
		humanBytes(float64(st.TreeBytes)), st.Corrupt, st.Malformed, st.Foreign, st.KernelDrops)
	if st.Distrusted > 0 {
		fmt.Fprintf(e.stdout, "pieces ignored from distrusted sources %d\n", st.Distrusted)
	}
	fmt.Fprintf(e.stdout, "loss %.2f%%, parity layers %d, parity shards %d, blocks rebuilt %d\n", 100*st.Loss, st.FECLayers,
		st.ParityPackets, st.Rebuilt)
	fmt.Fprintf(e.stdout, "channels joined %d, rejoined %d, repairs %d, slow-down signals %d; %.2fs, %s/s\n", st.Joins, st.Rejoins,
		st.Repairs, st.Slowdowns, st.Duration.Seconds(), humanBytes(st.Rate()))
}

// background runs fns (nil ones skipped) until the returned stop is called, which waits for
// them. Their errors are logged: they serve the fetch, they do not decide it.
func background(ctx context.Context, e *env, fns ...func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, fn := range fns {
		if fn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				e.log.Warn("background task failed", "err", err)
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// limitMemory asks the Go runtime to keep the heap under n bytes (--max-memory), unless
// GOMEMLIMIT says otherwise: the fetch's own bounds keep what it holds under n, and this
// makes the collector run often enough that garbage does not double it.
func limitMemory(n int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(n)
	}
}
