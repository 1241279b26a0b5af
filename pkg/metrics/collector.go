package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// spec is one metric of a collector: its description and how to read it from a snapshot.
type spec[S any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(S) float64
}

func counter[S any](name, help string, v func(S) float64) spec[S] {
	return spec[S]{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, v}
}

func gauge[S any](name, help string, v func(S) float64) spec[S] {
	return spec[S]{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v}
}

// snapshotCollector reports specs read from one snapshot per scrape.
type snapshotCollector[S any] struct {
	snapshot func() S
	specs    []spec[S]
	extra    func(S, chan<- prometheus.Metric) // labelled metrics, if any
	extraDs  []*prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *snapshotCollector[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.specs {
		ch <- s.desc
	}
	for _, d := range c.extraDs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *snapshotCollector[S]) Collect(ch chan<- prometheus.Metric) {
	st := c.snapshot()
	for _, s := range c.specs {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(st))
	}
	if c.extra != nil {
		c.extra(st, ch)
	}
}
