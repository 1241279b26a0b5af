package wire

import (
	"encoding/binary"
	"math"
)

// Statements (PROTOCOL.md §4.7): the publisher's signature over one manifest generation.
const (
	// StatementDomain prefixes the signed bytes of every statement, so that a signature made
	// for lcsync cannot be taken for one over anything else (and the other way round).
	StatementDomain = "lcsync/v1/statement\x00"
	// AlgEd25519 is the statement algorithm: Ed25519 (RFC 8032), pure, over the signed bytes.
	AlgEd25519 = 1
	// KeyIDLen is the length of a key id: minisign's random 8-byte key number.
	KeyIDLen = 8
	// PublicKeyLen is the length of an Ed25519 public key.
	PublicKeyLen = 32
	// SignatureLen is the length of an Ed25519 signature.
	SignatureLen = 64
	// statementFixedLen is the length of a statement before its share name.
	statementFixedLen = HeaderLen + 4 + KeyIDLen + HashLen + 8 + 8 + 8 + 2
	// MaxStatementLen is the longest statement datagram (a share name of 255 bytes).
	MaxStatementLen = statementFixedLen + MaxComponentLen + SignatureLen
)

// Statement says that the holder of key KeyID published manifest Manifest as generation
// Generation of share Share, valid from Issued until Expires (Unix seconds). Sig is the
// signature over [Statement.SignedBytes].
type Statement struct {
	// Alg is the signature algorithm; only AlgEd25519 exists.
	Alg uint8
	// KeyID names the signing key (minisign's key number, as stored in key files).
	KeyID [KeyIDLen]byte
	// Manifest is the manifest id of the blob the statement vouches for (§4.2).
	Manifest [HashLen]byte
	// Generation is the manifest's generation; it must equal the blob's own.
	Generation uint64
	// Issued and Expires bound when the statement is valid, Unix seconds, Issued <= Expires.
	Issued, Expires uint64
	// Share is the share name; it must equal the blob's own.
	Share string
	// Sig is the Ed25519 signature over SignedBytes.
	Sig [SignatureLen]byte
}

// appendBody appends the statement's fields after the common header, up to the signature.
func (st *Statement) appendBody(dst []byte) []byte {
	dst = append(dst, st.Alg, 0, 0, 0)
	dst = append(dst, st.KeyID[:]...)
	dst = append(dst, st.Manifest[:]...)
	dst = binary.BigEndian.AppendUint64(dst, st.Generation)
	dst = binary.BigEndian.AppendUint64(dst, st.Issued)
	dst = binary.BigEndian.AppendUint64(dst, st.Expires)
	return appendString16(dst, st.Share)
}

// SignedBytes returns what the signature covers: StatementDomain followed by the statement
// datagram from the byte after the common header up to the signature.
func (st *Statement) SignedBytes() []byte {
	b := make([]byte, 0, len(StatementDomain)+statementFixedLen-HeaderLen+len(st.Share))
	return st.appendBody(append(b, StatementDomain...))
}

// AppendStatement appends st to dst as a statement datagram and returns the extended slice.
// It does not validate st: a statement with a bad share name or Issued after Expires does
// not parse.
func AppendStatement(dst []byte, st *Statement) []byte {
	dst = appendHeader(dst, TypeStatement)
	dst = st.appendBody(dst)
	return append(dst, st.Sig[:]...)
}

// ParseStatement decodes the statement datagram b strictly: the algorithm must be
// AlgEd25519, the reserved bytes zero, the share name one canonical component, Issued at most
// Expires (both below 2^63), and the datagram exactly as long as its fields. It does not check
// the signature: that is pkg/sign's job, with a key the receiver trusts.
func ParseStatement(b []byte) (Statement, error) {
	if err := checkPacket(b, TypeStatement, statementFixedLen+1+SignatureLen); err != nil {
		return Statement{}, err
	}
	st := Statement{Alg: b[4]}
	if st.Alg != AlgEd25519 {
		return Statement{}, malformed("statement: unknown algorithm %d", st.Alg)
	}
	if b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return Statement{}, malformed("statement: reserved bytes %x are not zero", b[5:8])
	}
	off := 8
	st.KeyID = [KeyIDLen]byte(b[off:])
	off += KeyIDLen
	st.Manifest = [HashLen]byte(b[off:])
	off += HashLen
	st.Generation = binary.BigEndian.Uint64(b[off:])
	st.Issued = binary.BigEndian.Uint64(b[off+8:])
	st.Expires = binary.BigEndian.Uint64(b[off+16:])
	n := int(binary.BigEndian.Uint16(b[off+24:]))
	off += 26
	if want := off + n + SignatureLen; len(b) != want {
		return Statement{}, malformed("statement: %d bytes, a share name of %d bytes makes %d", len(b), n, want)
	}
	st.Share = string(b[off : off+n])
	if problem := shareProblem(st.Share); problem != "" {
		return Statement{}, malformed("statement: share name %s: %s", quote(st.Share), problem)
	}
	if st.Issued > math.MaxInt64 || st.Expires > math.MaxInt64 {
		return Statement{}, malformed("statement: times %d and %d out of range", st.Issued, st.Expires)
	}
	if st.Issued > st.Expires {
		return Statement{}, malformed("statement: issued at %d, after it expires at %d", st.Issued, st.Expires)
	}
	st.Sig = [SignatureLen]byte(b[off+n:])
	return st, nil
}
