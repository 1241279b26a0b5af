package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lcsync/lcsync/pkg/follow"
	"github.com/lcsync/lcsync/pkg/ifwatch"
	"github.com/lcsync/lcsync/pkg/metrics"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/wire"
)

// defaultMaxDelete is --max-delete's default, in percent.
const defaultMaxDelete = follow.DefaultMaxDelete

// execWaitDelay bounds how long --exec's output pipes are drained after its shell exits
// (a background child holding them must not hang the follower).
const execWaitDelay = 5 * time.Second

// checkFollow checks the options of --follow.
func (o *options) checkFollow() error {
	switch {
	case !o.follow && (o.maxDelete != defaultMaxDelete || o.forceDelete || o.exec != ""):
		return usagef("--max-delete, --force-delete and --exec need --follow")
	case o.maxDelete < 1 || o.maxDelete > 100:
		return usagef(fmt.Sprintf("--max-delete %d: want a percentage from 1 to 100", o.maxDelete))
	case o.follow && o.dryRun:
		return usagef("--follow applies changes; for a dry run, fetch once with -n")
	}
	return nil
}

// followMirror keeps local DST a live mirror of the served NAME/ until SIGINT or SIGTERM, which stop
// it cleanly (exit status 0); SIGHUP re-checks DST with a full pass, SIGUSR1 logs progress.
func followMirror(ctx context.Context, e *env) error {
	o, a := e.o, e.o.args
	switch {
	case len(a) != 2:
		return usagef("--follow takes a remote directory and a local one: lcsync --follow NAME/ DST/")
	case isLocal(a[0]) || !strings.HasSuffix(a[0], "/"):
		return usagef(fmt.Sprintf("--follow %s: want a served directory's contents, NAME/ (with the slash)", a[0]))
	case !isLocal(a[1]):
		return usagef(fmt.Sprintf("%s: the destination must be a local path (starting with /, ./ or ../)", a[1]))
	}
	name, dst := a[0], a[1]
	if err := wire.CheckName(strings.TrimSuffix(name, "/")); err != nil {
		return usagef(fmt.Sprintf("--follow %s: %v", name, err))
	}
	rules, err := o.matcher()
	if err != nil {
		return err
	}
	scope, ifaces, err := network(o)
	if err != nil {
		return err
	}
	gate, err := trustGate(e)
	if err != nil {
		return err
	}
	fec, _ := parseFEC(o.fec) // checked with the other options
	limitMemory(o.maxMemory)
	var progress metrics.FetchProgress
	bar := newProgressBar(e)
	socks := socketTotals{ifaces: ifaces}
	abs, _ := filepath.Abs(dst)
	f, err := follow.New(follow.Config{
		Name: name, Dest: dst, MaxDelete: o.maxDelete, ForceDelete: o.forceDelete, Logger: e.log,
		Fetch: receiver.Config{Scope: scope, Channels: o.channels, Perms: o.perms, Times: o.times, Exclude: rules,
			Timeout: o.timeout, IdleTimeout: o.idleTimeout, FEC: fec, Gate: gate, Logger: e.log, MaxMemory: o.maxMemory,
			OnProgress: func(p receiver.Progress) {
				progress.Store(p)
				bar.update(p)
			},
			OnFile: func(r receiver.FileResult) {
				if o.verbose {
					bar.clear()
					printAction(e, r.Action, r.Path, r.Blocks, r.Fetch, r.Bytes)
				}
			},
		},
		Listen: func() (receiver.Transport, error) {
			rx, err := socks.listen(o.port)
			if err != nil {
				return nil, withCode(exitNetwork, err)
			}
			return receiver.NewTransport(rx), nil
		},
		OnApplied: func(ap follow.Applied) {
			bar.done()
			if o.stats {
				if rx := socks.current(); rx != nil {
					ap.Stats.Foreign += int64(rx.Stats().Foreign)
				}
				fmt.Fprintf(e.stdout, "generation %d of share %s: %d renamed in place (%s)\n", ap.Generation, ap.Share,
					ap.Renamed, humanBytes(float64(ap.RenamedBytes)))
				printFetchStats(e, ap.Stats)
			}
			if o.exec != "" {
				runExec(ctx, e, o.exec, ap, abs)
			}
		},
	})
	if err != nil {
		return usagef(err.Error())
	}
	metricsRun, err := startMetrics(e, metrics.NewFetchCollector(socks.stats, &progress), metrics.NewFollowCollector(f.Stats))
	if err != nil {
		return err
	}
	ifacesRun := followIfaces(e, watchIfaces(e, ifaces), func(ev ifwatch.Event) {
		if err := socks.ifaceChange(ev); err != nil {
			e.log.Warn("interface appeared but groups could not be joined on it", "iface", ev.Iface.Name, "err", err)
		} else if ev.Up {
			e.log.Info("interface added: following on it", "iface", ev.Iface.Name, "index", ev.Iface.Index)
		} else {
			e.log.Info("interface gone: no longer following on it", "iface", ev.Iface.Name, "index", ev.Iface.Index)
		}
	})
	stop := background(ctx, e, metricsRun, fetchSignals(e, progress.Load, followStats(f)), hangups(f), ifacesRun)
	defer stop()
	e.log.Info("following", "name", name, "dest", dst, "max_delete", fmt.Sprintf("%d%%", o.maxDelete))
	return f.Run(ctx)
}

// hangups asks f for a full pass on every SIGHUP until ctx ends.
func hangups(f *follow.Follower) func(context.Context) error {
	return onSignal(syscall.SIGHUP, f.Recheck)
}

// runExec runs --exec's command after an applied generation; its failure is logged, not fatal.
func runExec(ctx context.Context, e *env, cmdline string, a follow.Applied, dst string) {
	c := exec.CommandContext(ctx, "sh", "-c", cmdline)
	c.Env = append(os.Environ(), "LCSYNC_GENERATION="+strconv.FormatUint(a.Generation, 10),
		"LCSYNC_SHARE="+a.Share, "LCSYNC_DEST="+dst)
	c.Stdout, c.Stderr = e.stdout, e.stderr
	c.WaitDelay = execWaitDelay
	if err := c.Run(); err != nil && ctx.Err() == nil {
		e.log.Error("--exec failed", "cmd", cmdline, "generation", a.Generation, "err", err)
	}
}
