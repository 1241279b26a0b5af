// Package metrics exposes lcsync's counters in the Prometheus text exposition format, with
// github.com/prometheus/client_golang: custom collectors read a snapshot of the sender's,
// the MLD listener's or the receiving socket's Stats at each scrape, so the hot paths keep
// their own counters and nothing here touches them. [Server] serves /metrics over HTTP.
//
// Metric names follow the Prometheus conventions: the lcsync_ prefix, _total for counters,
// base units (bytes, seconds, bytes per second). Interface-level MLD figures carry an iface
// label. A follower (--follow) adds lcsync_follow_*: its last applied generation, its lag
// behind the publication of that generation, and what the generations applied did.
package metrics
