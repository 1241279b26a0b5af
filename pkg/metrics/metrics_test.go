package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lcsync/lcsync/mld"
	"github.com/lcsync/lcsync/pkg/follow"
	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sender"
)

func TestCollectorsLint(t *testing.T) {
	for name, c := range map[string]prometheus.Collector{
		"sender":  NewSenderCollector(func() sender.Stats { return sender.Stats{} }),
		"mld":     NewMLDCollector(func() mld.Stats { return mld.Stats{Ifaces: []mld.IfaceStats{{Name: "eth0"}}} }),
		"receive": NewFetchCollector(func() mcast.RecvStats { return mcast.RecvStats{} }, &FetchProgress{}),
		"follow":  NewFollowCollector(func() follow.Stats { return follow.Stats{} }),
	} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s: %s", name, p.Metric, p.Text)
		}
	}
}

// TestServerScrape serves every collector and checks that a scrape reads the current
// snapshots.
func TestServerScrape(t *testing.T) {
	st := sender.Stats{Datagrams: 10, Bytes: 15000, Joins: 3, Cycles: 2, Refreshes: 1, Slowdowns: 4,
		ParityPackets: 5, Generation: 42, BlockPackets: 7, Listeners: []sender.IfaceListeners{{Ifindex: 2, Name: "eth0", Hosts: 3}}}
	var prog FetchProgress
	prog.Store(receiver.Progress{Bytes: 1000, BytesDone: 250, Files: 2, FilesDone: 1})
	reg, err := NewRegistry("v1.2.3", "abc123",
		NewSenderCollector(func() sender.Stats { return st }),
		NewMLDCollector(func() mld.Stats {
			return mld.Stats{Reports: 9, Ifaces: []mld.IfaceStats{{Name: "eth0", EstimatedGroups: 6, Querier: true}}}
		}),
		NewFetchCollector(func() mcast.RecvStats { return mcast.RecvStats{Datagrams: 77, Bytes: 99000, Drops: 1} }, &prog),
		NewFollowCollector(func() follow.Stats {
			return follow.Stats{Generation: 1234, AppliedAt: time.Unix(1_800_000_000, 500_000_000), Lag: 1500 * time.Millisecond,
				Signed: true, Applied: 3, Refused: 1, Failed: 2, Renamed: 4, Deleted: 5, Fetched: 6, FetchedBytes: 7000}
		}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	scrape := func() string {
		resp, err := http.Get("http://" + srv.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return string(b)
	}
	body := scrape()
	for _, want := range []string{
		"lcsync_sent_datagrams_total 10", "lcsync_sent_bytes_total 15000", "lcsync_joins_total 3",
		"lcsync_cycles_total 2", "lcsync_reindexes_total 1", "lcsync_slowdowns_total 4",
		"lcsync_parity_packets_total 5", "lcsync_generation 42", `lcsync_sent_packets_total{kind="block"} 7`, `lcsync_listeners{iface="eth0"} 3`,
		"lcsync_mld_reports_total 9", `lcsync_mld_listener_groups{iface="eth0"} 6`, `lcsync_mld_querier{iface="eth0"} 1`,
		"lcsync_received_datagrams_total 77", "lcsync_receive_drops_total 1", "lcsync_fetch_bytes_done 250",
		`lcsync_build_info{revision="abc123",version="v1.2.3"} 1`, "go_goroutines", "process_",
		"lcsync_follow_generation 1234", "lcsync_follow_lag_seconds 1.5", "lcsync_follow_lag_signed 1",
		"lcsync_follow_last_applied_timestamp_seconds 1.8000000005e+09", "lcsync_follow_generations_applied_total 3",
		"lcsync_follow_generations_refused_total 1", "lcsync_follow_passes_failed_total 2", "lcsync_follow_renamed_files_total 4",
		"lcsync_follow_deleted_total 5", "lcsync_follow_fetched_files_total 6", "lcsync_follow_fetched_bytes_total 7000",
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	st.Datagrams = 11 // the next scrape reads a new snapshot
	if body := scrape(); !strings.Contains(body, "lcsync_sent_datagrams_total 11\n") {
		t.Error("second scrape did not read the new snapshot")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
}

func TestListenBadAddress(t *testing.T) {
	reg, _ := NewRegistry("v", "r")
	if _, err := Listen("256.0.0.1:99999", reg); err == nil || !strings.HasPrefix(err.Error(), "metrics: ") {
		t.Errorf("Listen on a bad address: %v", err)
	}
}
