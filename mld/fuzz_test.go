package mld

import (
	"reflect"
	"testing"
	"time"
)

// seedCaptured adds every captured message as a fuzz seed.
func seedCaptured(f *testing.F) {
	for _, b := range captured(f) {
		f.Add(b)
	}
}

// FuzzParseReport checks that ParseReport never panics, and that every report it accepts can
// be walked, including every source, without reading past the message.
func FuzzParseReport(f *testing.F) {
	seedCaptured(f)
	f.Add(buildReport(rec{typ: ModeIsExclude, group: "ff15::1", aux: 2, sources: []string{"fd00::1"}})) // aux data after sources
	f.Add([]byte{TypeV2Report, 0, 0, 0, 0, 0, 0xff, 0xff})                                              // 65535 records, none present
	f.Add(append(buildReport(rec{typ: ChangeToInclude, group: "ff15::2"}), 0xde, 0xad))                 // trailing bytes
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			return
		}
		n, size := 0, reportHeaderLen
		for rec := range r.Records() {
			n++
			size += recordHeaderLen + 16*rec.NumSources + 4*rec.AuxWords
			for i := 0; i < rec.NumSources; i++ {
				_ = rec.Source(i)
			}
		}
		if n != r.Len() {
			t.Fatalf("walked %d records, Len() = %d", n, r.Len())
		}
		if size > len(b) {
			t.Fatalf("records span %d bytes of a %d-byte message", size, len(b))
		}
	})
}

// FuzzParseQuery checks that ParseQuery never panics, that accepted sources are readable, and
// that an accepted MLDv2 query without sources survives AppendQuery unchanged.
func FuzzParseQuery(f *testing.F) {
	seedCaptured(f)
	f.Add([]byte{TypeQuery, 0, 0, 0, 0x80, 0, 0, 0, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x0a, 0x90, 0, 0}) // exponential codes
	f.Add(make([]byte, 26))                                                                                               // neither v1 nor v2 length
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseQuery(b)
		if err != nil {
			return
		}
		for i := 0; i < q.NumSources; i++ {
			_ = q.Source(i)
		}
		if q.Version != 2 || q.NumSources != 0 || (!q.Group.IsMulticast() && !q.Group.IsUnspecified()) {
			return
		}
		out, err := AppendQuery(nil, q)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", q, err)
		}
		back, err := ParseQuery(out)
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		back.sources, q.sources = nil, nil
		if !reflect.DeepEqual(back, q) {
			t.Fatalf("round trip changed %+v to %+v", q, back)
		}
	})
}

// FuzzParseV1 checks that ParseV1 never panics and accepts exactly the 131/132 messages of at
// least 24 bytes.
func FuzzParseV1(f *testing.F) {
	seedCaptured(f)
	f.Add(make([]byte, 23))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseV1(b)
		want := len(b) >= v1Len && (b[0] == TypeV1Report || b[0] == TypeV1Done)
		if (err == nil) != want {
			t.Fatalf("ParseV1(% x) error %v, want success %v", b, err, want)
		}
		if err == nil && m.Type != b[0] {
			t.Fatalf("type %d, want %d", m.Type, b[0])
		}
	})
}

// FuzzStateHandleMessage feeds arbitrary messages, hop limits and link indices to a State
// with a tiny filter, interleaved with clock steps, Ticks and Wanted questions: nothing may
// panic, and every queued Join must name a known link and a multicast group.
func FuzzStateHandleMessage(f *testing.F) {
	for _, b := range captured(f) {
		f.Add(b, uint8(1), uint8(1), uint16(50))
	}
	f.Add(buildReport(rec{typ: ChangeToInclude, group: "ff15::1"}), uint8(1), uint8(1), uint16(300))
	f.Add([]byte{TypeQuery}, uint8(2), uint8(1), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, ifindex, hop uint8, stepMs uint16) {
		clk := newFakeClock()
		cfg := tinyConfig()
		cfg.Clock = clk
		s, err := NewState(cfg, []Link{{Index: 1, Name: "eth0", Addr: ourAddr}, {Index: 2, Name: "eth1"}},
			func(int, Query) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			h := arrival(int(ifindex%3), host, b)
			h.HopLimit = int(hop % 3)
			_ = s.HandleMessage(h, b)
			_ = s.HandlePacket(int(ifindex%3), b) // b as a whole IPv6 packet
			_ = s.HandlePacket(1, buildPacket(h, b))
			clk.Advance(time.Duration(stepMs) * time.Millisecond)
			s.Tick()
			_ = s.Wanted(1, addr("ff15::1"))
		}
		for _, j := range s.TakeEvents(nil) {
			if s.links[j.Ifindex] == nil || !j.Group.IsMulticast() {
				t.Fatalf("bad join %+v", j)
			}
		}
		_ = s.Stats()
	})
}
