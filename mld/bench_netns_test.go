//go:build linux

package mld

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// BenchmarkJoinLatency measures, on the namespace rig, the time from a receiver's JoinGroup
// to the Join event (the kernel's report delay dominates). Run it with a fixed count, e.g.
// -benchtime=200x, for meaningful percentiles.
func BenchmarkJoinLatency(b *testing.B) {
	netnstest.Require(b, "bridge")
	rig := netnstest.NewRig(b, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	l := startListener(b, rig, netnsConfig())
	var m *member
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%200 == 0 {
			m = newMember(b, rig.Receivers[0])
		}
		g := testGroup(7, i)
		start := time.Now()
		m.join(b, g)
		if missing := waitJoins(l, []netip.Addr{g}, 5*time.Second); len(missing) > 0 {
			b.Fatalf("join %d: no Join event within 5 s", i)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(int(p*float64(len(lat))), len(lat)-1)] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.90).Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.Logf("join -> Join event over %d joins: p50 %v p90 %v p99 %v max %v", len(lat), pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1])
}

// BenchmarkIdleListener measures the CPU time (user + system, getrusage of the whole test
// process) of a listener with default timers and no groups, over b.N seconds on the rig,
// next to the same process idling without a listener. Run it with e.g. -benchtime=3x.
func BenchmarkIdleListener(b *testing.B) {
	netnstest.Require(b, "bridge")
	rig := netnstest.NewRig(b, netnstest.RigConfig{Receivers: 1, NoQuerier: true})
	b.Run("baseline", func(b *testing.B) { idleCPU(b) })
	b.Run("listener", func(b *testing.B) {
		l := startListener(b, rig, DefaultConfig())
		time.Sleep(100 * time.Millisecond) // past start-up
		idleCPU(b)
		st := l.Stats()
		b.Logf("reports %d, queries sent %d, estimated groups %.1f", st.Reports, st.QueriesSent, st.Ifaces[0].EstimatedGroups)
		l.stop()
	})
}

// idleCPU waits b.N seconds and reports the process's CPU time per second.
func idleCPU(b *testing.B) {
	before := cpuTime(b)
	b.ResetTimer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.N)*time.Second)
	defer cancel()
	<-ctx.Done()
	b.StopTimer()
	used := cpuTime(b) - before
	b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/s")
	b.Logf("%v CPU over %d s (%.4f %% of one core)", used, b.N, 100*used.Seconds()/float64(b.N))
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
