package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestParityRoundTripAndErrors(t *testing.T) {
	in := ParityPacket{Label: Label{1, 2, 3, 4, 5, 6, 7, 8}, Block: 70000, Stripe: 3, Layer: 7, Data: []byte("shard")}
	b := AppendParity(nil, in)
	if len(b) != ParityHeaderLen+len(in.Data) {
		t.Fatalf("length %d", len(b))
	}
	if typ, err := PeekType(b); err != nil || typ != TypeParity {
		t.Fatalf("PeekType = %v, %v", typ, err)
	}
	p, err := ParseParity(b)
	if err != nil || p.Label != in.Label || p.Block != in.Block || p.Stripe != in.Stripe || p.Layer != in.Layer || !bytes.Equal(p.Data, in.Data) {
		t.Fatalf("ParseParity = %+v, %v", p, err)
	}
	for n := range ParityHeaderLen + 1 {
		if _, err := ParseParity(b[:n]); err == nil {
			t.Errorf("%d bytes accepted", n)
		}
	}
	bad := AppendParity(nil, ParityPacket{Layer: ParityLayers, Data: []byte{1}})
	if _, err := ParseParity(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("layer %d: %v", ParityLayers, err)
	}
	rsv := AppendParity(nil, ParityPacket{Data: []byte{1}})
	rsv[19] = 1
	if _, err := ParseParity(rsv); !errors.Is(err, ErrMalformed) {
		t.Errorf("reserved byte: %v", err)
	}
	if _, err := ParseParity(AppendBlock(nil, BlockPacket{Data: []byte{1}})); !errors.Is(err, ErrType) {
		t.Errorf("block packet parsed as parity: %v", err)
	}
}

func TestParityShards(t *testing.T) {
	cases := []struct {
		n, size         int
		shards, stripes int
		ok              bool
	}{
		{16384, 1432, 12, 1, true},
		{100, 100, 1, 1, true},
		{100, 101, 0, 0, false}, // a shard never exceeds its block
		{100, 0, 0, 0, false},
		{0, 10, 0, 0, false},
		{1 << 20, 1432, 733, 46, true},
		{1 << 20, 1, 1 << 20, 1 << 16, true},
		{1<<20 + 16, 1, 0, 0, false}, // more stripes than 16 bits name
	}
	for _, c := range cases {
		shards, stripes, ok := ParityShards(c.n, c.size)
		if ok != c.ok || ok && (shards != c.shards || stripes != c.stripes) {
			t.Errorf("ParityShards(%d, %d) = %d, %d, %v; want %d, %d, %v", c.n, c.size, shards, stripes, ok, c.shards, c.stripes, c.ok)
		}
	}
}

// FuzzParseParity: never panics; whatever parses re-appends to the same bytes.
func FuzzParseParity(f *testing.F) {
	f.Add(AppendParity(nil, ParityPacket{Block: 1, Stripe: 2, Layer: 3, Data: []byte{1, 2}}))
	f.Add([]byte{Magic0, Magic1, Version, byte(TypeParity)})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseParity(b)
		if err != nil {
			return
		}
		if got := AppendParity(nil, p); !bytes.Equal(got, b) {
			t.Fatalf("re-append %x, input %x", got, b)
		}
	})
}
