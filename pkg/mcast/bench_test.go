//go:build linux

package mcast

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// BenchmarkDataPath measures the send paths between two namespaces joined by a veth pair
// (MTU 1500, 1452-byte datagrams, 64 datagrams per call): sendmmsg batches versus UDP GSO,
// each into a receiver with and without GRO. Every iteration sends 64 datagrams. It reports
// the sender's rate (pkt/s, MB/s) and, from the receiver, the rate at which datagrams were
// read (rx-pkt/s), the share that arrived (rx-%) and the GRO trains per datagram.
//
// Both namespaces share the machine's cores, and veth delivers in the sender's softirq, so
// the figures are a CPU cost per datagram, not a link speed. Run briefly:
//
//	go test -run '^$' -bench DataPath -benchtime 200ms ./pkg/mcast
func BenchmarkDataPath(b *testing.B) {
	netnstest.Require(b)
	const (
		perCall = 64
		size    = 1452
	)
	a, r := vethPair(b, 1500)
	ifa, ifr := ifaceIn(b, a, "eth0"), ifaceIn(b, r, "eth0")
	gsoSender := senderIn(b, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}})
	plainSender := senderIn(b, a, SendConfig{Port: testPort, Ifaces: []net.Interface{ifa}, NoGSO: true})
	if !gsoSender.GSO() {
		b.Log("kernel lacks UDP GSO: the gso cases measure the batched fallback")
	}
	payload := make([]byte, perCall*size)
	for i := range payload {
		payload[i] = byte(i)
	}
	for gi, tc := range []struct {
		name  string
		gso   bool
		noGRO bool
	}{
		{"sendmmsg/gro", false, false},
		{"sendmmsg/nogro", false, true},
		{"gso/gro", true, false},
		{"gso/nogro", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := DataGroup(ScopeSite, [32]byte{0xbe, byte(gi)})
			rcv := listenIn(b, r, RecvConfig{Port: testPort, Ifaces: []net.Interface{ifr}, NoGRO: tc.noGRO})
			mustJoin(b, rcv, g)
			var got atomic.Int64
			var last atomic.Int64 // unix nanoseconds of the last read
			done := make(chan struct{})
			go func() {
				defer close(done)
				batch := NewBatch(64)
				for rcv.Read(batch) == nil {
					got.Add(int64(batch.Len()))
					last.Store(time.Now().UnixNano())
				}
			}()
			b.Cleanup(func() { rcv.Close(); <-done })

			ds := make([]Datagram, perCall)
			for i := range ds {
				ds[i] = Datagram{Group: g, Payload: payload[i*size : (i+1)*size]}
			}
			b.SetBytes(perCall * size)
			start := time.Now()
			for b.Loop() {
				if tc.gso {
					if err := gsoSender.SendSegments(ifa.Index, g, payload, size); err != nil {
						b.Fatal(err)
					}
				} else if _, err := plainSender.Send(ifa.Index, ds); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			sent := int64(b.N) * perCall
			// Let the receiver drain: stop when everything arrived or nothing did for 200 ms.
			for prev := int64(-1); got.Load() < sent && got.Load() != prev; {
				prev = got.Load()
				time.Sleep(200 * time.Millisecond)
			}
			rx := got.Load()
			rxTime := time.Duration(last.Load() - start.UnixNano())
			st := rcv.Stats()
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "pkt/s")
			if rxTime > 0 {
				b.ReportMetric(float64(rx)/rxTime.Seconds(), "rx-pkt/s")
			}
			b.ReportMetric(100*float64(rx)/float64(sent), "rx-%")
			b.ReportMetric(float64(st.Trains)/float64(max(rx, 1)), "trains/pkt")
			if st.Drops > 0 {
				b.Logf("kernel dropped %d datagrams (receive buffer %d)", st.Drops, st.RcvBuf)
			}
		})
	}
}
