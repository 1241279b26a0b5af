// Package metrics exposes lcsync's counters in the Prometheus text exposition format, with
// github.com/prometheus/client_golang: custom collectors read a snapshot of the sender's,
// the MLD listener's or the receiving socket's Stats at each scrape, so the hot paths keep
// their own counters and nothing here touches them. [Server] serves /metrics over HTTP.
//
// Metric names follow the Prometheus conventions: the lcsync_ prefix, _total for counters,
// base units (bytes, bytes per second). Interface-level MLD figures carry an iface label.
// A follower's lag and last applied generation will join them with the follow mode.
package metrics
