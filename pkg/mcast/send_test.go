package mcast

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv6"
)

// sent is a copy of one message a fakeWriter accepted.
type sent struct {
	group   netip.Addr
	port    int
	payload []byte
	oob     []byte
}

// fakeWriter scripts WriteBatch results: each call takes the next step (n accepted, err);
// once the script runs out every call accepts everything.
type fakeWriter struct {
	steps []step
	calls int
	got   []sent
	// refuseOOB makes every message with a control message fail with this error.
	refuseOOB error
}

type step struct {
	n   int
	err error
}

func (f *fakeWriter) WriteBatch(ms []ipv6.Message, _ int) (int, error) {
	f.calls++
	n, err := len(ms), error(nil)
	if len(f.steps) > 0 {
		n, err = min(f.steps[0].n, len(ms)), f.steps[0].err
		f.steps = f.steps[1:]
	}
	for i := range n {
		m := ms[i]
		if len(m.OOB) > 0 && f.refuseOOB != nil {
			return i, f.refuseOOB
		}
		a := m.Addr.(*net.UDPAddr)
		g, _ := netip.AddrFromSlice(a.IP)
		f.got = append(f.got, sent{g, a.Port, bytes.Clone(m.Buffers[0]), bytes.Clone(m.OOB)})
	}
	return n, err
}

// fakeSender returns a Sender whose interface 7 ("fake0", MTU 1500) writes to w and whose
// backoff waits are recorded instead of slept.
func fakeSender(w *fakeWriter, gso bool) (*SendConn, *[]time.Duration) {
	waits := new([]time.Duration)
	ifi := net.Interface{Index: 7, Name: "fake0", MTU: 1500}
	e := &egress{ifi: ifi, w: w, maxPayload: 1500 - udp6Overhead}
	e.wait = func(done <-chan struct{}, d time.Duration) error {
		select {
		case <-done:
			return net.ErrClosed
		default:
		}
		*waits = append(*waits, d)
		return nil
	}
	e.gso.Store(gso)
	e.grow(sendBatch)
	s := &SendConn{port: DefaultPort, ifaces: []net.Interface{ifi}, egress: map[int]*egress{7: e}, done: make(chan struct{})}
	return s, waits
}

var (
	grpA = DataGroup(ScopeSite, [32]byte{1})
	grpB = DataGroup(ScopeSite, [32]byte{2})
)

func numbered(n int) []Datagram {
	ds := make([]Datagram, n)
	for i := range ds {
		g := grpA
		if i%3 == 0 {
			g = grpB
		}
		ds[i] = Datagram{Group: g, Payload: []byte{byte(i), byte(i >> 8)}}
	}
	return ds
}

func checkSent(t *testing.T, got []sent, want []Datagram) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("writer got %d datagrams, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].group != want[i].Group || got[i].port != DefaultPort || !bytes.Equal(got[i].payload, want[i].Payload) {
			t.Fatalf("datagram %d: got %v:%d %x, want %v %x", i, got[i].group, got[i].port, got[i].payload, want[i].Group, want[i].Payload)
		}
	}
}

func TestSendRetries(t *testing.T) {
	enobufs := syscall.ENOBUFS
	for _, tc := range []struct {
		name      string
		n         int
		steps     []step
		wantSent  int
		wantErr   error // nil: success
		wantWaits []time.Duration
	}{
		{"one batch", 10, nil, 10, nil, nil},
		{"several batches", 200, nil, 200, nil, nil},
		{"partial writes resume with the remainder", 100,
			[]step{{5, nil}, {1, nil}, {30, nil}}, 100, nil, nil},
		{"enobufs backs off exponentially", 10,
			[]step{{0, enobufs}, {0, enobufs}, {0, enobufs}, {4, enobufs}, {0, enobufs}}, 10, nil,
			// progress (4 sent) resets the backoff
			[]time.Duration{minBackoff, 2 * minBackoff, 4 * minBackoff, minBackoff, 2 * minBackoff}},
		{"no progress without error waits", 3, []step{{0, nil}}, 3, nil, []time.Duration{minBackoff}},
		{"permanent error stops", 10, []step{{4, nil}, {0, syscall.EMSGSIZE}, {0, syscall.EMSGSIZE}}, 4, syscall.EMSGSIZE, nil},
		{"a one-off error (an ICMP error reported) is retried", 10, []step{{3, nil}, {0, syscall.EHOSTUNREACH}}, 10, nil, nil},
		{"closed socket", 10, []step{{0, net.ErrClosed}}, 0, net.ErrClosed, nil},
		{"error count -1 from the syscall", 10, []step{{-1, syscall.ENOBUFS}}, 10, nil, []time.Duration{minBackoff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeWriter{steps: tc.steps}
			s, waits := fakeSender(w, false)
			ds := numbered(tc.n)
			n, err := s.Send(7, ds)
			if n != tc.wantSent {
				t.Errorf("Send = %d, want %d", n, tc.wantSent)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Send error %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "mcast: send on fake0") {
				t.Errorf("error %q does not name the package and interface", err)
			}
			checkSent(t, w.got, ds[:tc.wantSent])
			if !slicesEqual(*waits, tc.wantWaits) {
				t.Errorf("waits %v, want %v", *waits, tc.wantWaits)
			}
			if maxCalls := (tc.n+sendBatch-1)/sendBatch + len(tc.steps); w.calls > maxCalls {
				t.Errorf("%d WriteBatch calls, want at most %d", w.calls, maxCalls)
			}
		})
	}
}

func slicesEqual(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSendGivesUpWhenStalled: ENOBUFS forever ends after maxStall of backoff, with backoff
// capped, instead of spinning or hanging.
func TestSendGivesUpWhenStalled(t *testing.T) {
	steps := make([]step, 10000)
	for i := range steps {
		steps[i] = step{0, syscall.ENOBUFS}
	}
	w := &fakeWriter{steps: steps}
	s, waits := fakeSender(w, false)
	n, err := s.Send(7, numbered(5))
	if n != 0 || !errors.Is(err, syscall.ENOBUFS) || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("Send = %d, %v; want 0 and a no-progress ENOBUFS error", n, err)
	}
	var total time.Duration
	for _, d := range *waits {
		if d > maxBackoff {
			t.Fatalf("backoff %v exceeds the cap %v", d, maxBackoff)
		}
		total += d
	}
	if total < maxStall || total > maxStall+maxBackoff {
		t.Errorf("waited %v in all, want about %v", total, maxStall)
	}
	if w.calls != len(*waits)+1 {
		t.Errorf("%d calls for %d waits: every failed call must wait", w.calls, len(*waits))
	}
}

// TestSendClosedDuringBackoff: Close aborts a send waiting out ENOBUFS.
func TestSendClosedDuringBackoff(t *testing.T) {
	w := &fakeWriter{steps: []step{{0, syscall.ENOBUFS}}}
	s, _ := fakeSender(w, false)
	close(s.done)
	s.egress[7].wait = sleepOrDone // the real wait, which must notice done at once
	_, err := s.egress[7].writeAll(s.egress[7].msgs[:1], s.done)
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("writeAll after close = %v, want net.ErrClosed", err)
	}
	if _, err := s.Send(7, numbered(1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send after close = %v, want net.ErrClosed", err)
	}
}

func TestSendValidation(t *testing.T) {
	s, _ := fakeSender(&fakeWriter{}, true)
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"unknown interface", func() error { _, err := s.Send(99, numbered(1)); return err }, "interface index 99"},
		{"unicast group", func() error {
			_, err := s.Send(7, []Datagram{{Group: netip.MustParseAddr("fd00::1")}})
			return err
		}, "not an IPv6 multicast group"},
		{"IPv4 group", func() error {
			_, err := s.Send(7, []Datagram{{Group: netip.MustParseAddr("239.1.2.3")}})
			return err
		}, "not an IPv6 multicast group"},
		{"zero group", func() error { _, err := s.Send(7, []Datagram{{}}); return err }, "not an IPv6 multicast group"},
		{"segment size zero", func() error { return s.SendSegments(7, grpA, []byte{1}, 0) }, "segment size 0 out of range 1-1452"},
		{"segment size above MTU", func() error { return s.SendSegments(7, grpA, []byte{1}, 1453) }, "segment size 1453 out of range"},
		{"segments to unicast", func() error { return s.SendSegments(7, netip.MustParseAddr("::1"), []byte{1}, 10) }, "not an IPv6 multicast group"},
		{"segments on unknown interface", func() error { return s.SendSegments(1, grpA, []byte{1}, 10) }, "interface index 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "mcast: ") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// segmentsBuf returns n full segments of size seg plus a tail of tail bytes, each byte
// identifying its segment.
func segmentsBuf(n, seg, tail int) []byte {
	buf := make([]byte, n*seg+tail)
	for i := range buf {
		buf[i] = byte(i/seg) ^ byte(i)
	}
	return buf
}

func TestSendSegments(t *testing.T) {
	perTrain := min(maxGSOSegments, maxGSOBytes/1452) * 1452
	for _, tc := range []struct {
		name      string
		gso       bool
		refuse    error
		buf       []byte
		seg       int
		wantSizes []int // payload sizes the writer sees
		wantGSO   bool  // GSO still on afterwards
	}{
		{"gso trains with short tail", true, nil, segmentsBuf(100, 1452, 100), 1452,
			[]int{perTrain, perTrain, 100*1452 + 100 - 2*perTrain}, true},
		{"gso one-byte segments capped at 64 per train", true, nil, segmentsBuf(130, 1, 0), 1,
			[]int{64, 64, 2}, true},
		{"gso single short segment", true, nil, segmentsBuf(0, 1452, 10), 1452, []int{10}, true},
		{"split without gso", false, nil, segmentsBuf(3, 1000, 1), 1000, []int{1000, 1000, 1000, 1}, false},
		{"split of many batches", false, nil, segmentsBuf(150, 10, 0), 10, repeat(10, 150), false},
		{"gso refused falls back", true, syscall.EIO, segmentsBuf(2, 1452, 5), 1452, []int{1452, 1452, 5}, false},
		{"empty buffer sends nothing", true, nil, nil, 1452, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeWriter{refuseOOB: tc.refuse}
			s, _ := fakeSender(w, tc.gso)
			if err := s.SendSegments(7, grpA, tc.buf, tc.seg); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			var joined []byte
			for _, m := range w.got {
				sizes = append(sizes, len(m.payload))
				joined = append(joined, m.payload...)
				if m.group != grpA {
					t.Errorf("sent to %v, want %v", m.group, grpA)
				}
				if wantOOB := tc.gso && tc.refuse == nil; (len(m.oob) > 0) != wantOOB {
					t.Errorf("control message present = %v, want %v", len(m.oob) > 0, wantOOB)
				} else if wantOOB && !bytes.Equal(m.oob, gsoControl(tc.seg)) {
					t.Errorf("control message %x, want UDP_SEGMENT %d", m.oob, tc.seg)
				}
			}
			if !intsEqual(sizes, tc.wantSizes) {
				t.Errorf("payload sizes %v, want %v", sizes, tc.wantSizes)
			}
			if !bytes.Equal(joined, tc.buf) {
				t.Errorf("sent bytes do not reassemble the buffer")
			}
			if s.GSO() != tc.wantGSO {
				t.Errorf("GSO() = %v afterwards, want %v", s.GSO(), tc.wantGSO)
			}
		})
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func intsEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConfigErrors(t *testing.T) {
	ifs := []net.Interface{{Index: 1, Name: "x", MTU: 1500}}
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"sender without interfaces", func() error { _, err := NewSendConn(SendConfig{}); return err }, "at least one interface"},
		{"sender port too big", func() error { _, err := NewSendConn(SendConfig{Ifaces: ifs, Port: 70000}); return err }, "port 70000"},
		{"sender negative port", func() error { _, err := NewSendConn(SendConfig{Ifaces: ifs, Port: -1}); return err }, "port -1"},
		{"sender hop limit", func() error { _, err := NewSendConn(SendConfig{Ifaces: ifs, HopLimit: 256}); return err }, "hop limit 256"},
		{"sender negative buffer", func() error { _, err := NewSendConn(SendConfig{Ifaces: ifs, SndBuf: -1}); return err }, "send buffer -1"},
		{"receiver without interfaces", func() error { _, err := ListenRecv(RecvConfig{}); return err }, "at least one interface"},
		{"receiver port", func() error { _, err := ListenRecv(RecvConfig{Ifaces: ifs, Port: 65536}); return err }, "port 65536"},
		{"receiver negative buffer", func() error { _, err := ListenRecv(RecvConfig{Ifaces: ifs, RcvBuf: -2}); return err }, "receive buffer -2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "mcast: ") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
