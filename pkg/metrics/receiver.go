package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcsync/lcsync/pkg/mcast"
	"github.com/lcsync/lcsync/pkg/receiver"
)

// FetchProgress holds the latest receiver.Progress of a running fetch; the fetch stores it
// from its progress callback and scrapes load it.
type FetchProgress struct {
	p atomic.Pointer[receiver.Progress]
}

// Store records p.
func (f *FetchProgress) Store(p receiver.Progress) { f.p.Store(&p) }

// Load returns the latest progress (zero before the first).
func (f *FetchProgress) Load() receiver.Progress {
	if p := f.p.Load(); p != nil {
		return *p
	}
	return receiver.Progress{}
}

// fetchSnapshot is what a fetch's scrape reads.
type fetchSnapshot struct {
	sock mcast.RecvStats
	prog receiver.Progress
}

// NewFetchCollector reports a fetch: the receiving socket's counters (*mcast.RecvConn's
// Stats method) and the fetch's progress.
func NewFetchCollector(sock func() mcast.RecvStats, progress *FetchProgress) prometheus.Collector {
	type S = fetchSnapshot
	return &snapshotCollector[S]{
		snapshot: func() S { return S{sock(), progress.Load()} },
		specs: []spec[S]{
			counter("lcsync_received_datagrams_total", "Datagrams received.", func(s S) float64 { return float64(s.sock.Datagrams) }),
			counter("lcsync_received_bytes_total", "Datagram payload bytes received.", func(s S) float64 { return float64(s.sock.Bytes) }),
			counter("lcsync_receive_drops_total", "Datagrams the kernel dropped for lack of receive buffer.", func(s S) float64 { return float64(s.sock.Drops) }),
			gauge("lcsync_receive_buffer_bytes", "Receive buffer the kernel granted.", func(s S) float64 { return float64(s.sock.RcvBuf) }),
			gauge("lcsync_fetch_bytes", "Bytes that have to arrive over the network.", func(s S) float64 { return float64(s.prog.Bytes) }),
			gauge("lcsync_fetch_bytes_done", "Of those, bytes arrived.", func(s S) float64 { return float64(s.prog.BytesDone) }),
			gauge("lcsync_fetch_files", "Files being fetched.", func(s S) float64 { return float64(s.prog.Files) }),
			gauge("lcsync_fetch_files_done", "Of those, files done.", func(s S) float64 { return float64(s.prog.FilesDone) }),
		},
	}
}
