package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lcsync/lcsync/pkg/doctor"
	"github.com/lcsync/lcsync/pkg/mcast"
)

// runDoctor runs the checks of package doctor with the options lcsync would use and prints
// one line per check (or JSON with --json). It fails with exitDoctor when a check failed.
func runDoctor(ctx context.Context, e *env) error {
	o := e.o
	scope, err := mcast.ParseScope(o.scope)
	if err != nil {
		return usagef(err.Error())
	}
	share := ""
	switch a := o.args; {
	case len(a) > 1:
		return usagef("--doctor takes at most one SRC, the share a server would watch")
	case len(a) == 1 && !isLocal(a[0]):
		return usagef(fmt.Sprintf("--doctor %s: not a local path (local paths start with /, ./ or ../)", a[0]))
	case len(a) == 1:
		share = a[0]
	}
	if o.querierWait > 0 && !o.json && !o.quiet {
		e.log.Info("checking; listening for an MLD querier", "for", o.querierWait)
	}
	cfg := doctor.Config{Ifaces: splitList(o.ifaces), Scope: scope, Port: o.port, QuerierWait: o.querierWait, Share: share}
	results := doctor.Run(ctx, cfg, doctor.Linux{}, doctor.RawQuerierListener{})
	if err := ctx.Err(); err != nil {
		return err
	}
	ready := doctor.Ready(results)
	if o.json {
		b, err := json.MarshalIndent(struct {
			Ready  bool            `json:"ready"`
			Checks []doctor.Result `json:"checks"`
		}{ready, results}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		for _, r := range results {
			if o.quiet && r.Status != doctor.Fail {
				continue
			}
			line := fmt.Sprintf("%-4s  %-10s  %s", r.Status, r.Check, r.Detail)
			if r.Fix != "" && r.Status != doctor.Pass {
				line += "; fix: " + r.Fix
			}
			fmt.Fprintln(e.stdout, line)
		}
	}
	if ready {
		return nil
	}
	var failed []string
	for _, r := range results {
		if r.Status == doctor.Fail {
			failed = append(failed, r.Check+": "+r.Detail)
		}
	}
	return withCode(exitDoctor, fmt.Errorf("doctor: lcsync cannot work here: %s", strings.Join(failed, "; ")))
}
