package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcsync/lcsync/pkg/sender"
)

// NewSenderCollector reports a server's counters, read from stats at each scrape
// (*sender.Sender's Stats method).
func NewSenderCollector(stats func() sender.Stats) prometheus.Collector {
	type S = sender.Stats
	packets := prometheus.NewDesc("lcsync_sent_packets_total", "Datagrams sent, by kind of packet.", []string{"kind"}, nil)
	listeners := prometheus.NewDesc("lcsync_listeners", "Hosts that asked for one of the share's channels on the interface in the last 5 minutes.",
		[]string{"iface"}, nil)
	return &snapshotCollector[S]{
		snapshot: stats,
		specs: []spec[S]{
			counter("lcsync_sent_datagrams_total", "Datagrams sent.", func(s S) float64 { return float64(s.Datagrams) }),
			counter("lcsync_sent_bytes_total", "Bytes sent, IPv6 and UDP headers included.", func(s S) float64 { return float64(s.Bytes) }),
			counter("lcsync_joins_total", "MLD reports that asked for one of the share's channels.", func(s S) float64 { return float64(s.Joins) }),
			counter("lcsync_joins_ignored_total", "Repeated reports ignored inside the dedup window.", func(s S) float64 { return float64(s.DupJoins) }),
			counter("lcsync_channel_activations_total", "Channels started.", func(s S) float64 { return float64(s.Activations) }),
			counter("lcsync_fast_leaves_total", "Channels stopped because their last known member left.", func(s S) float64 { return float64(s.FastLeaves) }),
			counter("lcsync_cycles_total", "Complete channel cycles sent.", func(s S) float64 { return float64(s.Cycles) }),
			counter("lcsync_reindexes_total", "Times the share changed and was served with a new manifest.", func(s S) float64 { return float64(s.Refreshes) }),
			counter("lcsync_slowdowns_total", "Send-rate cuts after receivers reported drops.", func(s S) float64 { return float64(s.Slowdowns) }),
			counter("lcsync_send_errors_total", "Batches the kernel refused.", func(s S) float64 { return float64(s.SendErrors) }),
			counter("lcsync_parity_packets_total", "Parity shards sent.", func(s S) float64 { return float64(s.ParityPackets) }),
			gauge("lcsync_generation", "Generation of the manifest being served.", func(s S) float64 { return float64(s.Generation) }),
			gauge("lcsync_groups", "Multicast groups the share answers.", func(s S) float64 { return float64(s.Groups) }),
			gauge("lcsync_manifest_bytes", "Size of the manifest.", func(s S) float64 { return float64(s.ManifestBytes) }),
			gauge("lcsync_active_channels", "Channels being sent now.", func(s S) float64 { return float64(s.Active) }),
			gauge("lcsync_send_rate_bytes_per_second", "Current send rate set by congestion control (0 before its first change).", func(s S) float64 { return s.Rate / 8 }),
		},
		extraDs: []*prometheus.Desc{packets, listeners},
		extra: func(s S, ch chan<- prometheus.Metric) {
			for kind, v := range map[string]uint64{"manifest": s.ManifestPackets, "tree": s.TreePackets, "block": s.BlockPackets,
				"replay": s.ReplayPackets, "parity": s.ParityPackets, "object": s.ObjectPackets} {
				ch <- prometheus.MustNewConstMetric(packets, prometheus.CounterValue, float64(v), kind)
			}
			for _, l := range s.Listeners {
				ch <- prometheus.MustNewConstMetric(listeners, prometheus.GaugeValue, float64(l.Hosts), l.Name)
			}
		},
	}
}
