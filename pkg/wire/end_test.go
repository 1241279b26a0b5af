package wire

import (
	"errors"
	"net/netip"
	"testing"
)

func TestEndRoundTripAndErrors(t *testing.T) {
	g := netip.MustParseAddr("ff15::1234")
	b := AppendEnd(nil, EndPacket{Group: g})
	if len(b) != EndLen {
		t.Fatalf("length %d", len(b))
	}
	if typ, err := PeekType(b); err != nil || typ != TypeEnd {
		t.Fatalf("PeekType = %v, %v", typ, err)
	}
	p, err := ParseEnd(b)
	if err != nil || p.Group != g {
		t.Fatalf("ParseEnd = %v, %v", p, err)
	}
	for n := range len(b) {
		if _, err := ParseEnd(b[:n]); err == nil {
			t.Errorf("%d bytes accepted", n)
		}
	}
	if _, err := ParseEnd(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: %v", err)
	}
	unicast := AppendEnd(nil, EndPacket{Group: netip.MustParseAddr("fd00::1")})
	if _, err := ParseEnd(unicast); !errors.Is(err, ErrMalformed) {
		t.Errorf("unicast group: %v", err)
	}
	if _, err := ParseEnd(AppendBlock(nil, BlockPacket{Data: []byte{1}})); !errors.Is(err, ErrType) {
		t.Errorf("block packet parsed as end: %v", err)
	}
}

// FuzzParseEnd: never panics; whatever parses re-appends to the same bytes.
func FuzzParseEnd(f *testing.F) {
	f.Add(AppendEnd(nil, EndPacket{Group: netip.MustParseAddr("ff15::1")}))            // valid
	f.Add([]byte{Magic0, Magic1, Version, byte(TypeEnd)})                              // header only
	f.Add(append(AppendEnd(nil, EndPacket{Group: netip.MustParseAddr("ff15::1")}), 9)) // trailing byte
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEnd(b)
		if err != nil {
			return
		}
		if got := AppendEnd(nil, p); string(got) != string(b) {
			t.Fatalf("re-append %x, input %x", got, b)
		}
	})
}
