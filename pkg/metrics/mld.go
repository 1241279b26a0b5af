package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcsync/lcsync/mld"
)

// NewMLDCollector reports the MLD listener's counters and, per interface, the estimated
// number of groups with listeners and whether this server is the querier (*mld.Listener's
// Stats method).
func NewMLDCollector(stats func() mld.Stats) prometheus.Collector {
	type S = mld.Stats
	iface := []string{"iface"}
	groups := prometheus.NewDesc("lcsync_mld_listener_groups", "Estimated multicast groups with listeners on the link.", iface, nil)
	querier := prometheus.NewDesc("lcsync_mld_querier", "1 when this server is the MLD querier on the link.", iface, nil)
	pending := prometheus.NewDesc("lcsync_mld_pending", "Leaves and verifications awaiting their deadline.", iface, nil)
	v1 := prometheus.NewDesc("lcsync_mld_v1_querier_present", "1 while an MLDv1 querier is heard on the link.", iface, nil)
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	return &snapshotCollector[S]{
		snapshot: stats,
		specs: []spec[S]{
			counter("lcsync_mld_reports_total", "MLDv2 reports applied.", func(s S) float64 { return float64(s.Reports) }),
			counter("lcsync_mld_v1_reports_total", "MLDv1 reports and dones applied.", func(s S) float64 { return float64(s.V1Reports) }),
			counter("lcsync_mld_joins_total", "Records that joined or refreshed a group.", func(s S) float64 { return float64(s.Joins) }),
			counter("lcsync_mld_leaves_total", "Records that left a group.", func(s S) float64 { return float64(s.Leaves) }),
			counter("lcsync_mld_leaves_confirmed_total", "Leaves that went unanswered, dropping the group.", func(s S) float64 { return float64(s.LeavesConfirmed) }),
			counter("lcsync_mld_queries_sent_total", "Queries sent.", func(s S) float64 { return float64(s.QueriesSent) }),
			counter("lcsync_mld_queries_heard_total", "Queries heard from other routers.", func(s S) float64 { return float64(s.QueriesHeard) }),
			counter("lcsync_mld_parse_errors_total", "Malformed MLD messages.", func(s S) float64 { return float64(s.ParseErrors) }),
			counter("lcsync_mld_dropped_joins_total", "Join events dropped because the queue was full.", func(s S) float64 { return float64(s.DroppedJoins) }),
			counter("lcsync_mld_send_errors_total", "Queries that could not be sent.", func(s S) float64 { return float64(s.SendErrors) }),
		},
		extraDs: []*prometheus.Desc{groups, querier, pending, v1},
		extra: func(s S, ch chan<- prometheus.Metric) {
			for _, l := range s.Ifaces {
				ch <- prometheus.MustNewConstMetric(groups, prometheus.GaugeValue, l.EstimatedGroups, l.Name)
				ch <- prometheus.MustNewConstMetric(querier, prometheus.GaugeValue, b(l.Querier), l.Name)
				ch <- prometheus.MustNewConstMetric(pending, prometheus.GaugeValue, float64(l.Pending), l.Name)
				ch <- prometheus.MustNewConstMetric(v1, prometheus.GaugeValue, b(l.V1QuerierPresent), l.Name)
			}
		},
	}
}
