package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/follow"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sender"
)

// serverSignals returns the server's signal handler, run beside the sender: SIGHUP re-indexes
// the share at once, SIGUSR1 logs the current statistics. SIGINT and SIGTERM cancel the
// context (main), which stops everything cleanly.
func serverSignals(e *env, s *sender.Sender, mldStats func() mld.Stats) func(context.Context) error {
	return func(ctx context.Context) error {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return nil
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					e.log.Info("SIGHUP: re-indexing the share")
					s.Reindex()
					continue
				}
				logSenderStats(e, s.Stats(), mldStats)
			}
		}
	}
}

// followStats are a follower's counters, for its SIGUSR1 log line.
func followStats(f *follow.Follower) func() []any {
	return func() []any {
		st := f.Stats()
		return []any{"generation", st.Generation, "lag", st.Lag.Round(time.Millisecond), "applied", st.Applied,
			"refused", st.Refused, "failed", st.Failed, "renamed", st.Renamed, "deleted", st.Deleted,
			"fetched", st.Fetched, "fetched_bytes", st.FetchedBytes}
	}
}

// logSenderStats logs a server's counters (SIGUSR1).
func logSenderStats(e *env, st sender.Stats, mldStats func() mld.Stats) {
	args := []any{"generation", st.Generation, "groups", st.Groups, "active", st.Active,
		"datagrams", st.Datagrams, "bytes", st.Bytes, "joins", st.Joins, "dup_joins", st.DupJoins,
		"activations", st.Activations, "cycles", st.Cycles, "reindexes", st.Refreshes,
		"slowdowns", st.Slowdowns, "rate", humanRate(st.Rate), "parity", st.ParityPackets, "send_errors", st.SendErrors}
	for _, l := range st.Listeners {
		args = append(args, "hosts_"+l.Name, l.Hosts)
	}
	if mldStats != nil {
		m := mldStats()
		args = append(args, "mld_reports", m.Reports+m.V1Reports, "mld_queries_heard", m.QueriesHeard,
			"mld_queries_sent", m.QueriesSent)
		for _, l := range m.Ifaces {
			args = append(args, "listeners_"+l.Name, int(l.EstimatedGroups+0.5), "querier_"+l.Name, l.Querier)
		}
	}
	e.log.Info("statistics", args...)
}

// fetchSignals logs the progress of a fetch on SIGUSR1 until ctx ends, and what more
// returns (a follower's counters), if set.
func fetchSignals(e *env, progress func() receiver.Progress, more func() []any) func(context.Context) error {
	return onSignal(syscall.SIGUSR1, func() {
		p := progress()
		args := []any{"phase", p.Phase, "files", p.Files, "files_done", p.FilesDone,
			"bytes", p.Bytes, "bytes_done", p.BytesDone, "received", p.Received, "elapsed", p.Elapsed}
		if more != nil {
			args = append(args, more()...)
		}
		e.log.Info("statistics", args...)
	})
}

// onSignal returns a background task that calls fn on every sig until ctx ends.
func onSignal(sig os.Signal, fn func()) func(context.Context) error {
	return func(ctx context.Context) error {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, sig)
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-sigs:
				fn()
			}
		}
	}
}

// hangupInterrupts makes SIGHUP (the terminal closing, say) interrupt a fetch or a local sync
// like SIGINT: it removes its temporary files and exits 130. A server keeps SIGHUP for a
// re-index (serverSignals), so nothing changes for one argument; a follower keeps it to
// re-check its mirror.
func hangupInterrupts(ctx context.Context, o *options) (context.Context, context.CancelFunc) {
	if len(o.args) != 2 || o.doctor || o.hex || o.keygen != "" || o.follow {
		return ctx, func() {}
	}
	return signal.NotifyContext(ctx, syscall.SIGHUP)
}
