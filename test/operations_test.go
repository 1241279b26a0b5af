package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// TestOperations runs the operations scenarios (issue 18) on one rig: --doctor passing on a
// link with a querier and failing on a firewalled receiver, SIGHUP re-indexing a server's
// share without any fetch (with JSON logs), and both metrics endpoints scraped during a fetch.
func TestOperations(t *testing.T) {
	netnstest.Require(t, rigTools()...)
	rig := netnstest.NewRig(t, netnstest.RigConfig{Receivers: 2})
	t.Run("DoctorPasses", func(t *testing.T) { testDoctorPasses(t, rig) })
	t.Run("DoctorFirewall", func(t *testing.T) { testDoctorFirewall(t, rig) })
	t.Run("SIGHUP", func(t *testing.T) { testSIGHUP(t, rig) })
	t.Run("MetricsDuringFetch", func(t *testing.T) { testMetricsDuringFetch(t, rig) })
	t.Run("MetricsAddressBusy", func(t *testing.T) { testMetricsAddressBusy(t, rig) })
	t.Run("MetricsDuringFollow", func(t *testing.T) { testMetricsDuringFollow(t, rig) })
}

// testMetricsDuringFollow scrapes a follower's metrics while it follows a share that
// changes: the first pass, a rename, a deletion, and a generation the delete guard refuses
// each show in the follower's counters, with its last applied generation and lag.
func testMetricsDuringFollow(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "fmet")
	writeFile(t, filepath.Join(src, "big"), 2<<20, 71, 0o644)
	for i, n := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(src, n), 5000, uint64(72+i), 0o644)
	}
	startServer(t, rig.Sender, "--watch", "--allow-shrink", src)
	const addr = "127.0.0.1:9144"
	ns := rig.Receivers[1]
	dst := filepath.Join(t.TempDir(), "mirror")
	fl := startFollower(t, ns, "--metrics", addr, "--follow", "fmet/", dst)
	waitMirror(t, src, dst, "the first pass")
	// scrapeUntil scrapes until ok holds (or 20 s pass) and returns the last exposition.
	scrapeUntil := func(what string, ok func(body string) bool) string {
		t.Helper()
		var body string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var err error
			if body, err = scrape(ns, addr); err == nil && ok(body) {
				return body
			}
		}
		t.Fatalf("%s: not seen in the follower's metrics within 20 s:\n%s", what, grepLcsync(body))
		return ""
	}
	body := scrapeUntil("the first generation", func(b string) bool { return metric(b, "lcsync_follow_generations_applied_total") >= 1 })
	gen1 := metric(body, "lcsync_follow_generation")
	lag := metric(body, "lcsync_follow_lag_seconds")
	at := metric(body, "lcsync_follow_last_applied_timestamp_seconds")
	if gen1 <= 0 || lag < 0 || lag > 30 || metric(body, "lcsync_follow_lag_signed") != 0 ||
		metric(body, "lcsync_follow_fetched_bytes_total") < 2<<20 || metric(body, "lcsync_follow_fetched_files_total") < 4 ||
		at < float64(time.Now().Add(-time.Minute).Unix()) || metric(body, "lcsync_received_datagrams_total") <= 0 {
		t.Errorf("after the first pass: generation %v, lag %v s, applied at %v; metrics:\n%s", gen1, lag, at, grepLcsync(body))
	}

	if err := os.Rename(filepath.Join(src, "big"), filepath.Join(src, "moved")); err != nil {
		t.Fatal(err)
	}
	waitMirror(t, src, dst, "a rename")
	body = scrapeUntil("the rename", func(b string) bool { return metric(b, "lcsync_follow_renamed_files_total") >= 1 })
	// Generations are large (nanoseconds at the server's start, plus one per change): a
	// float64 sample carries them to within a few hundred, so compare with <, not <=.
	if g := metric(body, "lcsync_follow_generation"); g < gen1 || metric(body, "lcsync_follow_generations_applied_total") < 2 {
		t.Errorf("after the rename: generation %v (before %v); metrics:\n%s", g, gen1, grepLcsync(body))
	}
	if err := os.Remove(filepath.Join(src, "a")); err != nil {
		t.Fatal(err)
	}
	waitMirror(t, src, dst, "a deletion")
	body = scrapeUntil("the deletion", func(b string) bool { return metric(b, "lcsync_follow_deleted_total") >= 1 })
	applied := metric(body, "lcsync_follow_generations_applied_total")
	if applied < 3 || metric(body, "lcsync_follow_generations_refused_total") != 0 {
		t.Errorf("after a rename and a deletion: %v applied; metrics:\n%s", applied, grepLcsync(body))
	}
	// Deleting 2 of the 3 files left is more than --max-delete's 50%: refused.
	for _, n := range []string{"b", "c"} {
		if err := os.Remove(filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	body = scrapeUntil("the refusal", func(b string) bool { return metric(b, "lcsync_follow_generations_refused_total") == 1 })
	if got := metric(body, "lcsync_follow_generations_applied_total"); got != applied {
		t.Errorf("%v generations applied after the refusal, %v before", got, applied)
	}
	// SIGUSR1 logs the same counters.
	if err := fl.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("applied=%d refused=1", int(applied))
	if !waitOutput(fl, want, 10*time.Second) {
		t.Errorf("no statistics line with %q after SIGUSR1:\n%s", want, fl.out)
	}
}

// testMetricsAddressBusy fetches with --metrics on an address already taken: the fetch stops
// at once with exit status 5, naming the address, before joining anything.
func testMetricsAddressBusy(t *testing.T, rig *netnstest.Rig) {
	ns := rig.Receivers[1]
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:9150"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := fetch(ns, "--metrics", "127.0.0.1:9150", "nobody/x", filepath.Join(t.TempDir(), "dst"))
	if r.code != 5 || !strings.Contains(r.stderr, "127.0.0.1:9150") || !strings.Contains(r.stderr, "address already in use") ||
		r.elapsed > 10*time.Second {
		t.Errorf("fetch with a busy metrics address: %s", r)
	}
}

// doctorResult is `lcsync --doctor` output.
type doctorResult struct {
	code           int
	stdout, stderr string
	report         struct {
		Ready  bool `json:"ready"`
		Checks []struct {
			Check, Status, Detail, Fix string
		} `json:"checks"`
	}
}

func (d doctorResult) status(check string) string {
	for _, c := range d.report.Checks {
		if c.Check == check {
			return c.Status + ": " + c.Detail
		}
	}
	return "missing"
}

// runDoctor runs `lcsync --doctor ARGS` in ns; with --json in args it decodes the report.
func runDoctor(t *testing.T, ns *netnstest.NS, args ...string) doctorResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, lcsyncBin, append([]string{"--doctor"}, args...)...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	d := doctorResult{code: exitCodeOf(err), stdout: stdout.String(), stderr: stderr.String()}
	for _, a := range args {
		if a == "--json" {
			if err := json.Unmarshal([]byte(d.stdout), &d.report); err != nil {
				t.Fatalf("--doctor --json printed no JSON report (%v): exit %d\n%s\n%s", err, d.code, d.stdout, d.stderr)
			}
		}
	}
	return d
}

// testDoctorPasses runs the doctor on a receiver of the rig, whose bridge is an MLDv2 querier:
// every check passes, the querier is heard, and the exit status is 0.
func testDoctorPasses(t *testing.T, rig *netnstest.Rig) {
	// Query every 2 s, and restart the querier so that it sends startup queries now.
	rig.Bridge.MustRun("ip", "link", "set", "br0", "type", "bridge", "mcast_query_interval", "200")
	rig.Bridge.MustRun("ip", "link", "set", "br0", "type", "bridge", "mcast_querier", "0")
	rig.Bridge.MustRun("ip", "link", "set", "br0", "type", "bridge", "mcast_querier", "1")
	d := runDoctor(t, rig.Receivers[0], "--json", "--iface", netnstest.Iface, "--querier-wait", "8s")
	if d.code != 0 || !d.report.Ready {
		t.Fatalf("doctor on the rig: exit %d, ready %v:\n%s\n%s", d.code, d.report.Ready, d.stdout, d.stderr)
	}
	for _, c := range d.report.Checks {
		// net.core.rmem_max is host-wide, not per namespace: the host decides that one.
		if c.Status != "pass" && c.Check != "buffers" {
			t.Errorf("check %s: %s: %s (fix: %s)", c.Check, c.Status, c.Detail, c.Fix)
		}
	}
	if q := d.status("querier"); !strings.Contains(q, "MLDv2 querier fe80::") {
		t.Errorf("querier check: %s", q)
	}
	if r := d.status("route"); !strings.Contains(r, "eth0 via ff00::/8") {
		t.Errorf("route check: %s", r)
	}
}

// testDoctorFirewall drops the channel port with nftables on one receiver: the doctor fails
// naming the rule and exits 8; on another port it passes again.
func testDoctorFirewall(t *testing.T, rig *netnstest.Rig) {
	ns := rig.Receivers[1]
	ns.MustRun("nft", "add", "table", "inet", "lcs_doctor")
	defer ns.MustRun("nft", "delete", "table", "inet", "lcs_doctor")
	ns.MustRun("nft", "add", "chain", "inet", "lcs_doctor", "input", "{ type filter hook input priority 0; policy accept; }")
	ns.MustRun("nft", "add", "rule", "inet", "lcs_doctor", "input", "udp", "dport", "4242", "counter", "drop")
	d := runDoctor(t, ns, "--querier-wait", "0")
	if d.code != 8 {
		t.Fatalf("doctor with port 4242 dropped: exit %d, want 8:\n%s\n%s", d.code, d.stdout, d.stderr)
	}
	var line string
	for _, l := range strings.Split(d.stdout, "\n") {
		if strings.HasPrefix(l, "fail  firewall") {
			line = l
		}
	}
	for _, want := range []string{"inet lcs_doctor input", "udp dport == 4242", "udp port 4242 arriving on eth0", "fix: nft delete rule inet lcs_doctor input handle"} {
		if !strings.Contains(line, want) {
			t.Errorf("firewall line %q lacks %q\n%s", line, want, d.stdout)
		}
	}
	if !strings.Contains(d.stderr, "lcsync cannot work here: firewall") {
		t.Errorf("stderr does not give the reason: %q", d.stderr)
	}
	if d := runDoctor(t, ns, "--querier-wait", "0", "--port", "4300"); d.code != 0 {
		t.Errorf("doctor on port 4300, which the rule spares: exit %d:\n%s\n%s", d.code, d.stdout, d.stderr)
	}
}

// TestDoctorNoInterface runs the doctor in a namespace with only loopback: it fails, says why
// and exits 8, in text and in JSON.
func TestDoctorNoInterface(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.New(t, "lcd")
	d := runDoctor(t, ns, "--querier-wait", "1s")
	if d.code != 8 || !strings.Contains(d.stdout, "fail  interfaces  no interface is up, multicast-capable and has IPv6") ||
		!strings.Contains(d.stderr, "lcsync cannot work here: interfaces") {
		t.Errorf("doctor without interfaces: exit %d:\n%s\n%s", d.code, d.stdout, d.stderr)
	}
	d = runDoctor(t, ns, "--json", "--querier-wait", "0")
	if d.code != 8 || d.report.Ready || !strings.HasPrefix(d.status("interfaces"), "fail: ") {
		t.Errorf("doctor --json without interfaces: exit %d, ready %v, interfaces %q", d.code, d.report.Ready, d.status("interfaces"))
	}
}

// scrape fetches http://addr/metrics from inside ns and returns the exposition text.
func scrape(ns *netnstest.NS, addr string) (string, error) {
	var body string
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /metrics: %s", resp.Status)
		}
		body = string(b)
		return err
	})
	return body, err
}

// metric returns the value of an unlabelled metric in an exposition, or -1.
func metric(body, name string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// waitOutput waits until the server's output contains want.
func waitOutput(s *server, want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(s.out.String(), want) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// testSIGHUP starts a server in MLD mode with JSON logs and metrics, adds a file to its share
// and sends SIGHUP: nobody fetches, yet the share is re-indexed (logged, counted), SIGUSR1
// logs the statistics, and every log line is a JSON object.
func testSIGHUP(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "hup")
	writeFile(t, filepath.Join(src, "first"), 50000, 31, 0o644)
	const addr = "127.0.0.1:9142"
	srv := startServer(t, rig.Sender, "--log-format", "json", "--metrics", addr, src)
	if !waitOutput(srv, `"msg":"metrics"`, 5*time.Second) {
		t.Fatalf("no metrics log line:\n%s", srv.out)
	}
	body, err := scrape(rig.Sender, addr)
	if err != nil || metric(body, "lcsync_reindexes_total") != 0 {
		t.Fatalf("before SIGHUP: %v, lcsync_reindexes_total %v", err, metric(body, "lcsync_reindexes_total"))
	}
	gen := metric(body, "lcsync_generation")
	writeFile(t, filepath.Join(src, "added"), 20000, 32, 0o644)
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitOutput(srv, `"msg":"share changed; serving a new manifest"`, 15*time.Second) {
		t.Fatalf("SIGHUP did not re-index the share within 15s:\n%s", srv.out)
	}
	body, err = scrape(rig.Sender, addr)
	if err != nil || metric(body, "lcsync_reindexes_total") != 1 || metric(body, "lcsync_generation") != gen+1 ||
		metric(body, "lcsync_joins_total") != 0 {
		t.Errorf("after SIGHUP: %v; reindexes %v, generation %v (was %v), joins %v", err, metric(body, "lcsync_reindexes_total"),
			metric(body, "lcsync_generation"), gen, metric(body, "lcsync_joins_total"))
	}
	if err := srv.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !waitOutput(srv, `"msg":"statistics"`, 5*time.Second) || !strings.Contains(srv.out.String(), `"reindexes":1`) {
		t.Errorf("SIGUSR1 did not log the statistics:\n%s", srv.out)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("server stopped with SIGTERM: exit %d, want 0:\n%s", code, srv.out)
	}
	for _, line := range strings.Split(strings.TrimSpace(srv.out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if m["time"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Errorf("log line lacks time, level or msg: %q", line)
		}
	}
}

// testMetricsDuringFetch serves a file at a limited rate with metrics on, fetches it with
// metrics on, and scrapes both while the fetch runs: the counters move before it ends.
func testMetricsDuringFetch(t *testing.T, rig *netnstest.Rig) {
	src := filepath.Join(t.TempDir(), "scraped")
	writeFile(t, filepath.Join(src, "big"), 24<<20, 33, 0o644) // about 1.6 s at 120 Mbit/s
	const srvAddr, rcvAddr = "127.0.0.1:9142", "127.0.0.1:9143"
	startServer(t, rig.Sender, "--bwlimit", "120M", "--metrics", srvAddr, src)
	dst := filepath.Join(t.TempDir(), "dst")
	f := startFetch(rig.Receivers[0], "--metrics", rcvAddr, "scraped/big", dst)
	var sentDuring, rcvdDuring, bytesDuring, hostsDuring float64
	for f.running() {
		if body, err := scrape(rig.Sender, srvAddr); err == nil && f.running() {
			sentDuring = max(sentDuring, metric(body, "lcsync_sent_datagrams_total"))
			hostsDuring = max(hostsDuring, metric(body, `lcsync_listeners{iface="eth0"}`))
		}
		if body, err := scrape(rig.Receivers[0], rcvAddr); err == nil && f.running() {
			rcvdDuring = max(rcvdDuring, metric(body, "lcsync_received_datagrams_total"))
			bytesDuring = max(bytesDuring, metric(body, "lcsync_fetch_bytes"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := f.wait()
	mustSucceed(t, r)
	compareTrees(t, filepath.Join(src, "big"), dst, compareOpts{})
	if sentDuring <= 0 || rcvdDuring <= 0 || bytesDuring < 24<<20 || hostsDuring != 1 {
		t.Errorf("during the fetch: server sent %v datagrams, receiver got %v, fetch_bytes %v, hosts seen %v (want > 0, > 0, >= %d, 1)",
			sentDuring, rcvdDuring, bytesDuring, hostsDuring, 24<<20)
	}
	body, err := scrape(rig.Sender, srvAddr)
	if err != nil {
		t.Fatal(err)
	}
	if metric(body, "lcsync_joins_total") < 1 || metric(body, "lcsync_sent_bytes_total") < 24<<20 || metric(body, "lcsync_cycles_total") < 1 ||
		!strings.Contains(body, `lcsync_mld_listener_groups{iface="eth0"}`) {
		t.Errorf("after the fetch: joins %v, sent bytes %v, cycles %v; metrics:\n%s", metric(body, "lcsync_joins_total"),
			metric(body, "lcsync_sent_bytes_total"), metric(body, "lcsync_cycles_total"), grepLcsync(body))
	}
}

// grepLcsync keeps the lcsync_ lines of an exposition, for messages.
func grepLcsync(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "lcsync_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
