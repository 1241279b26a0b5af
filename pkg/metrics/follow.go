package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcsync/lcsync/pkg/follow"
)

// NewFollowCollector reports a follower's counters, read from stats at each scrape
// (*follow.Follower's Stats method): the last applied generation and its lag, and what the
// generations applied did.
func NewFollowCollector(stats func() follow.Stats) prometheus.Collector {
	type S = follow.Stats
	return &snapshotCollector[S]{
		snapshot: stats,
		specs: []spec[S]{
			gauge("lcsync_follow_generation", "Generation applied last (0: none yet; as a float64 sample, to within a few hundred).", func(s S) float64 { return float64(s.Generation) }),
			gauge("lcsync_follow_lag_seconds", "From the publication of the generation applied last (its signed statement's issue time, else its manifest's arrival) to its application.",
				func(s S) float64 { return s.Lag.Seconds() }),
			gauge("lcsync_follow_lag_signed", "1 if lcsync_follow_lag_seconds starts from a signed issue time, 0 if from the manifest's arrival.",
				func(s S) float64 { return b2f(s.Signed) }),
			gauge("lcsync_follow_last_applied_timestamp_seconds", "When the generation applied last was applied, Unix time (0: none yet).", func(s S) float64 {
				if s.AppliedAt.IsZero() {
					return 0
				}
				return float64(s.AppliedAt.UnixNano()) / 1e9
			}),
			counter("lcsync_follow_generations_applied_total", "Generations applied to the mirror.", func(s S) float64 { return float64(s.Applied) }),
			counter("lcsync_follow_generations_refused_total", "Generations the delete guard refused (--max-delete).", func(s S) float64 { return float64(s.Refused) }),
			counter("lcsync_follow_passes_failed_total", "Passes that failed and were retried.", func(s S) float64 { return float64(s.Failed) }),
			counter("lcsync_follow_renamed_files_total", "Files renamed in place by content.", func(s S) float64 { return float64(s.Renamed) }),
			counter("lcsync_follow_deleted_total", "Entries deleted from the mirror.", func(s S) float64 { return float64(s.Deleted) }),
			counter("lcsync_follow_fetched_files_total", "Files fetched or updated.", func(s S) float64 { return float64(s.Fetched) }),
			counter("lcsync_follow_fetched_bytes_total", "Bytes of the blocks fetched over the network.", func(s S) float64 { return float64(s.FetchedBytes) }),
		},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
