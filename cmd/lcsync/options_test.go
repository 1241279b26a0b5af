package main

import "testing"

func TestParseFEC(t *testing.T) {
	for in, want := range map[string]int{"auto": 0, "off": -1, "0": -1, "1": 1, "8": 8} {
		if got, err := parseFEC(in); err != nil || got != want {
			t.Errorf("parseFEC(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"9", "-1", "x", ""} {
		if _, err := parseFEC(in); err == nil {
			t.Errorf("parseFEC(%q) accepted", in)
		}
	}
}
