package mld

import (
	"strings"
	"testing"
	"time"
)

func TestConfigTimers(t *testing.T) {
	got, err := Config{}.timers()
	if err != nil {
		t.Fatal(err)
	}
	want := timers{
		robustness: 2, qi: 125 * time.Second, qri: 10 * time.Second,
		mali: 260 * time.Second, llqi: time.Second, llqt: 2 * time.Second,
		oqpi: 255 * time.Second, sqi: 31250 * time.Millisecond, sweep: time.Second,
		goneTTL: 12 * time.Second,
	}
	if got != want {
		t.Errorf("defaults\n got %+v\nwant %+v", got, want)
	}
	if !DefaultConfig().Querier {
		t.Error("DefaultConfig does not take part in querier election")
	}
}

func TestConfigInvalid(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"negative robustness", Config{Robustness: -1}, "robustness -1"},
		{"huge robustness", Config{Robustness: 1000}, "robustness 1000"},
		{"sub-millisecond interval", Config{SweepInterval: time.Microsecond}, "at least 1 ms"},
		{"negative interval", Config{QueryInterval: -time.Second}, "at least 1 ms"},
		{"response longer than interval", Config{QueryInterval: time.Second, QueryResponseInterval: 2 * time.Second}, "longer than the query interval"},
		{"listening interval too long", Config{QueryInterval: 20 * time.Hour}, "listening interval"},
		{"filter too big", Config{Capacity: 1 << 40}, "filter for eth0"},
		{"bad false-positive rate", Config{FalsePositive: 2}, "filter for eth0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewState(tc.cfg, []Link{{Index: 1, Name: "eth0"}}, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "mld: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want an mld error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewStateRejects(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		links   []Link
		send    QuerySender
		wantErr string
	}{
		{"querier without sender", Config{Querier: true}, []Link{{Index: 1}}, nil, "needs a query sender"},
		{"duplicate link", Config{}, []Link{{Index: 1}, {Index: 1}}, nil, "listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewState(tc.cfg, tc.links, tc.send); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
