package mld

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	msgs := captured(t)
	mustBuild := func(q Query) []byte {
		b, err := AppendQuery(nil, q)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withSources := func(n int, have int) []byte {
		b := mustBuild(Query{Group: addr("ff15::1")})
		b[26], b[27] = byte(n>>8), byte(n)
		return append(b, make([]byte, 16*have)...)
	}
	cases := []struct {
		name    string
		msg     []byte
		want    Query
		wantErr string
	}{
		{"captured v2 general", msgs["v2-general-query"], Query{Version: 2, MaxResponseDelay: time.Second,
			Group: netip.IPv6Unspecified(), Robustness: 2, QueryInterval: 3 * time.Second}, ""},
		{"captured v1 general", msgs["v1-general-query"], Query{Version: 1, MaxResponseDelay: time.Second,
			Group: netip.IPv6Unspecified()}, ""},
		{"built address specific with S flag", mustBuild(Query{Group: addr("ff15::6c63:1"), MaxResponseDelay: 1000 * time.Millisecond,
			SuppressRouterSide: true, Robustness: 7, QueryInterval: 125 * time.Second}),
			Query{Version: 2, MaxResponseDelay: time.Second, Group: addr("ff15::6c63:1"), SuppressRouterSide: true,
				Robustness: 7, QueryInterval: 125 * time.Second}, ""},
		{"exponential codes", mustBuild(Query{MaxResponseDelay: 65536 * time.Millisecond, QueryInterval: 256 * time.Second}),
			Query{Version: 2, MaxResponseDelay: 65536 * time.Millisecond, Group: netip.IPv6Unspecified(),
				QueryInterval: 256 * time.Second}, ""},
		{"two sources", withSources(2, 2), Query{Version: 2, Group: addr("ff15::1"), NumSources: 2}, ""},
		{"23 bytes", msgs["v1-general-query"][:23], Query{}, "23 bytes"},
		{"25 bytes", append(mustBuild(Query{})[:24], 0), Query{}, "neither mldv1"},
		{"27 bytes", mustBuild(Query{})[:27], Query{}, "neither mldv1"},
		{"sources cut", withSources(2, 1), Query{}, "2 sources needs 60 bytes, has 44"},
		{"max sources, none present", withSources(0xffff, 0), Query{}, "65535 sources"},
		{"not a query", msgs["v1-report"], Query{}, "type 131"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseQuery(tc.msg)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "mld: ") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want an mld error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.sources = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestQueryGeneralAndSources(t *testing.T) {
	b, err := AppendQuery(nil, Query{Group: addr("ff15::1")})
	if err != nil {
		t.Fatal(err)
	}
	b[27] = 1
	b = append(b, addr("fd00::7").AsSlice()...)
	q, err := ParseQuery(b)
	if err != nil {
		t.Fatal(err)
	}
	if q.General() {
		t.Error("address-specific query reported as general")
	}
	if got := q.Source(0); got != addr("fd00::7") {
		t.Errorf("Source(0) = %v", got)
	}
	g, _ := ParseQuery(captured(t)["v2-general-query"])
	if !g.General() {
		t.Error("general query not reported as general")
	}
}

func TestAppendQuery(t *testing.T) {
	cases := []struct {
		name    string
		q       Query
		want    string // hex of the 28 bytes
		wantErr string
	}{
		{"general like the bridge querier", Query{MaxResponseDelay: time.Second, Robustness: 2, QueryInterval: 3 * time.Second},
			"8200000003e800000000000000000000000000000000000002030000", ""},
		{"RFC defaults", Query{Group: netip.IPv6Unspecified(), MaxResponseDelay: 10 * time.Second, Robustness: 2, QueryInterval: 125 * time.Second},
			"820000002710000000000000000000000000000000000000027d0000", ""},
		{"robustness above 7 sent as 0", Query{Robustness: 8},
			"82000000000000000000000000000000000000000000000000000000", ""},
		{"clamped maxima", Query{MaxResponseDelay: 3 * time.Hour, QueryInterval: 24 * time.Hour},
			"82000000ffff000000000000000000000000000000000000 00ff0000", ""},
		{"sources unsupported", Query{NumSources: 1}, "", "sources is not supported"},
		{"unicast group", Query{Group: addr("fd00::1")}, "", "neither :: nor"},
		{"ipv4 group", Query{Group: netip.MustParseAddr("224.0.0.1")}, "", "neither :: nor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte{0xde, 0xad}
			got, err := AppendQuery(prefix, tc.q)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got[:2]) != "\xde\xad" {
				t.Error("prefix not kept")
			}
			if hx := hexOf(got[2:]); hx != strings.ReplaceAll(tc.want, " ", "") {
				t.Errorf("got  %s\nwant %s", hx, strings.ReplaceAll(tc.want, " ", ""))
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestMaxRespCode(t *testing.T) {
	cases := []struct {
		name string
		ms   int64
		code uint16
	}{
		{"zero", 0, 0},
		{"negative", -5, 0},
		{"literal one", 1, 1},
		{"RFC default 10 s", 10000, 10000},
		{"largest literal", 32767, 32767},
		{"smallest exponential", 32768, 0x8000},
		{"rounded down", 32768 + 7, 0x8000},
		{"next step", 32768 + 8, 0x8001},
		{"exp 1", 65536, 0x9000},
		{"largest", 8387584, 0xffff},
		{"clamped", 1 << 40, 0xffff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeMaxRespCode(tc.ms); got != tc.code {
				t.Errorf("encode(%d) = %#x, want %#x", tc.ms, got, tc.code)
			}
		})
	}
	for c := 0; c <= 0xffff; c++ {
		ms := decodeMaxRespCode(uint16(c))
		if back := encodeMaxRespCode(ms); back != uint16(c) {
			t.Fatalf("code %#x decodes to %d ms, which encodes to %#x", c, ms, back)
		}
	}
}

func TestQQIC(t *testing.T) {
	cases := []struct {
		name string
		s    int64
		code uint8
	}{
		{"zero", 0, 0},
		{"RFC default 125 s", 125, 125},
		{"largest literal", 127, 127},
		{"smallest exponential", 128, 0x80},
		{"rounded down", 135, 0x80},
		{"next step", 136, 0x81},
		{"largest", 31744, 0xff},
		{"clamped", 1 << 30, 0xff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeQQIC(tc.s); got != tc.code {
				t.Errorf("encode(%d) = %#x, want %#x", tc.s, got, tc.code)
			}
		})
	}
	for c := 0; c <= 0xff; c++ {
		s := decodeQQIC(uint8(c))
		if back := encodeQQIC(s); back != uint8(c) {
			t.Fatalf("code %#x decodes to %d s, which encodes to %#x", c, s, back)
		}
	}
}

// TestAppendQueryMatchesWire compares AppendQuery's output with our queries captured on the
// wire; only the checksum, which the kernel fills in, differs.
func TestAppendQueryMatchesWire(t *testing.T) {
	msgs := captured(t)
	cases := []struct {
		name string
		q    Query
	}{
		{"own-general-query", Query{MaxResponseDelay: DefaultQueryResponseInterval, Robustness: DefaultRobustness, QueryInterval: DefaultQueryInterval}},
		{"own-address-specific-query", Query{Group: addr("ff15::6c63:1:1"), MaxResponseDelay: DefaultLastListenerQueryInterval,
			Robustness: DefaultRobustness, QueryInterval: DefaultQueryInterval}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendQuery(nil, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			wire := slices.Clone(msgs[tc.name])
			wire[2], wire[3] = 0, 0
			if !slices.Equal(got, wire) {
				t.Errorf("built % x\n wire % x", got, wire)
			}
		})
	}
}
