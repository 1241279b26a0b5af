package wire

import (
	"bytes"
	"strings"
	"testing"
)

// goodStatement is a statement for share "share" with a recognisable signature.
func goodStatement() *Statement {
	st := &Statement{Alg: AlgEd25519, Generation: 1 << 40, Issued: 1_700_000_000, Expires: 1_700_086_400, Share: "share"}
	for i := range st.KeyID {
		st.KeyID[i] = byte(0xa0 + i)
	}
	for i := range st.Manifest {
		st.Manifest[i] = byte(i)
	}
	for i := range st.Sig {
		st.Sig[i] = byte(0xff - i)
	}
	return st
}

func TestStatementRoundTrip(t *testing.T) {
	st := goodStatement()
	b := AppendStatement([]byte("prefix"), st)[len("prefix"):]
	if len(b) != statementFixedLen+len(st.Share)+SignatureLen {
		t.Fatalf("statement of %d bytes, want %d", len(b), statementFixedLen+len(st.Share)+SignatureLen)
	}
	if typ, err := PeekType(b); err != nil || typ != TypeStatement {
		t.Fatalf("PeekType = %v, %v", typ, err)
	}
	got, err := ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != *st {
		t.Fatalf("parsed %+v, want %+v", got, *st)
	}
	// The signed bytes are the domain and then the datagram between header and signature.
	want := append([]byte(StatementDomain), b[HeaderLen:len(b)-SignatureLen]...)
	if sb := got.SignedBytes(); !bytes.Equal(sb, want) {
		t.Fatalf("signed bytes %x, want %x", sb, want)
	}
	long := goodStatement()
	long.Share = strings.Repeat("x", MaxComponentLen)
	if n := len(AppendStatement(nil, long)); n != MaxStatementLen || n > DefaultMaxDatagram {
		t.Fatalf("longest statement %d bytes, MaxStatementLen %d, datagram limit %d", n, MaxStatementLen, DefaultMaxDatagram)
	}
}

func TestParseStatementStrict(t *testing.T) {
	good := AppendStatement(nil, goodStatement())
	shareAt := statementFixedLen // first byte of the share name
	cases := []struct {
		name string
		b    []byte
		err  error
		msg  string
	}{
		{"good", good, nil, ""},
		{"unknown algorithm", edit(good, put(4, 2)), ErrMalformed, "algorithm 2"},
		{"reserved byte", edit(good, put(6, 1)), ErrMalformed, "reserved"},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed, "bytes"},
		{"short signature", good[:len(good)-1], ErrMalformed, "bytes"},
		{"share length too long", edit(good, put(shareAt-2, 0, 6)), ErrMalformed, "share name of 6"},
		{"empty share", AppendStatement(nil, &Statement{Alg: 1}), ErrMalformed, ""},
		{"share with a slash", edit(good, put(shareAt+1, '/')), ErrMalformed, "share name"},
		{"share dot-dot", edit(good, func(b []byte) []byte {
			b[shareAt-1] = 2
			return append(append(b[:shareAt], ".."...), make([]byte, SignatureLen)...)
		}), ErrMalformed, "share name"},
		{"issued after expiry", edit(good, put(56, 0xff)), ErrMalformed, ""},
		{"expiry beyond 2^63", edit(good, put(64, 0x80)), ErrMalformed, "out of range"},
		{"header only", good[:HeaderLen], ErrMalformed, "need at least"},
		{"a manifest chunk", goodChunk(), ErrType, "got a manifest packet"},
		{"version 2", edit(good, put(2, 2)), ErrVersion, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatement(tc.b)
			checkErr(t, err, tc.err, tc.msg)
		})
	}
}

func FuzzParseStatement(f *testing.F) {
	good := AppendStatement(nil, goodStatement())
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(edit(good, put(statementFixedLen-2, 0xff, 0xff)))
	f.Add(edit(good, put(4, 0)))
	f.Add(AppendStatement(nil, &Statement{Alg: 1, Share: "s", Issued: 5, Expires: 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatement(b)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if st.Alg != AlgEd25519 || st.Issued > st.Expires || CheckName(st.Share) != nil || strings.Contains(st.Share, "/") {
			t.Fatalf("accepted %+v", st)
		}
		if enc := AppendStatement(nil, &st); !bytes.Equal(enc, b) {
			t.Fatalf("re-appended %x, parsed %x", enc, b)
		}
		if sb := st.SignedBytes(); !bytes.Equal(sb[len(StatementDomain):], b[HeaderLen:len(b)-SignatureLen]) {
			t.Fatalf("signed bytes %x do not match the datagram %x", sb, b)
		}
	})
}
