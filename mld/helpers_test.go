package mld

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// captured returns the messages in testdata/captured.txt by name.
func captured(tb testing.TB) map[string][]byte {
	tb.Helper()
	f, err := os.Open("testdata/captured.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		if !ok {
			tb.Fatalf("captured.txt: bad line %q", line)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			tb.Fatalf("captured.txt: %s: %v", name, err)
		}
		m[name] = b
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return m
}

// rec describes a record for buildReport.
type rec struct {
	typ     RecordType
	group   string
	sources []string
	aux     int // auxiliary data words, filled with 0xaa
}

// buildReport encodes an MLDv2 report (checksum zero).
func buildReport(recs ...rec) []byte {
	b := []byte{TypeV2Report, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[6:], uint16(len(recs)))
	for _, r := range recs {
		b = append(b, byte(r.typ), byte(r.aux), 0, 0)
		binary.BigEndian.PutUint16(b[len(b)-2:], uint16(len(r.sources)))
		g := netip.MustParseAddr(r.group).As16()
		b = append(b, g[:]...)
		for _, s := range r.sources {
			a := netip.MustParseAddr(s).As16()
			b = append(b, a[:]...)
		}
		for i := 0; i < 4*r.aux; i++ {
			b = append(b, 0xaa)
		}
	}
	return b
}

// buildV1 encodes an MLDv1 report or done.
func buildV1(typ uint8, group string) []byte {
	b := make([]byte, v1Len)
	b[0] = typ
	g := netip.MustParseAddr(group).As16()
	copy(b[8:], g[:])
	return b
}

// addr parses an address for tests.
func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
