package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/metrics"
)

// startMetrics binds --metrics and returns the server's Run, or nil without --metrics. A bad
// or busy address is a network error at start, not later.
func startMetrics(e *env, cs ...prometheus.Collector) (func(context.Context) error, error) {
	if e.o.metrics == "" {
		return nil, nil
	}
	var keep []prometheus.Collector
	for _, c := range cs {
		if c != nil {
			keep = append(keep, c)
		}
	}
	bi := readBuildInfo()
	reg, err := metrics.NewRegistry(bi.version, bi.revision, keep...)
	if err != nil {
		return nil, err
	}
	srv, err := metrics.Listen(e.o.metrics, reg)
	if err != nil {
		return nil, withCode(exitNetwork, err)
	}
	e.log.Info("metrics", "url", "http://"+srv.Addr().String()+"/metrics")
	return srv.Run, nil
}

// mldCollector is the MLD listener's collector, or nil in carousel mode.
func mldCollector(stats func() mld.Stats) prometheus.Collector {
	if stats == nil {
		return nil
	}
	return metrics.NewMLDCollector(stats)
}
