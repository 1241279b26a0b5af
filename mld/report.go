package mld

import (
	"fmt"
	"iter"
	"net/netip"
)

// RecordType is the type of a Multicast Address Record in an MLDv2 report (RFC 3810 §5.2.12).
type RecordType uint8

// The six record types of RFC 3810 §5.2.12. Current-state records answer queries; the others
// report a change.
const (
	// ModeIsInclude is a current-state record: listening only to the listed sources.
	ModeIsInclude RecordType = 1
	// ModeIsExclude is a current-state record: listening to all but the listed sources.
	ModeIsExclude RecordType = 2
	// ChangeToInclude reports a change to INCLUDE mode; with no sources it is a leave.
	ChangeToInclude RecordType = 3
	// ChangeToExclude reports a change to EXCLUDE mode; with no sources it is an any-source join.
	ChangeToExclude RecordType = 4
	// AllowNewSources reports sources newly listened to.
	AllowNewSources RecordType = 5
	// BlockOldSources reports sources no longer listened to.
	BlockOldSources RecordType = 6
)

// String returns the RFC 3810 name of the record type.
func (t RecordType) String() string {
	switch t {
	case ModeIsInclude:
		return "MODE_IS_INCLUDE"
	case ModeIsExclude:
		return "MODE_IS_EXCLUDE"
	case ChangeToInclude:
		return "CHANGE_TO_INCLUDE_MODE"
	case ChangeToExclude:
		return "CHANGE_TO_EXCLUDE_MODE"
	case AllowNewSources:
		return "ALLOW_NEW_SOURCES"
	case BlockOldSources:
		return "BLOCK_OLD_SOURCES"
	}
	return fmt.Sprintf("RecordType(%d)", uint8(t))
}

const (
	reportHeaderLen = 8  // type, code, checksum, reserved, number of records
	recordHeaderLen = 20 // type, aux data len, number of sources, multicast address
)

// A Record is one Multicast Address Record of an MLDv2 report. It refers to the bytes of the
// message it was parsed from.
type Record struct {
	// Type is the record type; unknown values are passed through for the caller to ignore.
	Type RecordType
	// Group is the multicast address the record is about.
	Group netip.Addr
	// NumSources is the number of source addresses in the record.
	NumSources int
	// AuxWords is the length of the auxiliary data in 32-bit words (skipped, never read).
	AuxWords int
	sources  []byte
}

// Source returns the record's i-th source address (0 <= i < NumSources).
func (r Record) Source(i int) netip.Addr {
	return addr16(r.sources[16*i:])
}

// A Report is a parsed MLDv2 Multicast Listener Report (RFC 3810 §5.2). Every record in it
// has been checked to lie within the message. A Report refers to the parsed bytes: it is
// valid only as long as they are not modified.
type Report struct {
	b    []byte
	nrec int
}

// ParseReport validates an MLDv2 report, given as the ICMPv6 message without the IPv6 header.
// Each record's sources (16 bytes each) and auxiliary data (4 bytes per word) are stepped
// over; a record that does not fit the message is an error. Bytes after the last record are
// ignored. ParseReport does not allocate.
func ParseReport(b []byte) (Report, error) {
	if len(b) < reportHeaderLen {
		return Report{}, fmt.Errorf("mld: v2 report of %d bytes, shorter than its %d-byte header", len(b), reportHeaderLen)
	}
	if b[0] != TypeV2Report {
		return Report{}, fmt.Errorf("mld: icmpv6 type %d is not an mldv2 report", b[0])
	}
	nrec := be16(b[6:8])
	off := reportHeaderLen
	for i := 0; i < nrec; i++ {
		n, err := recordLen(b[off:])
		if err != nil {
			return Report{}, fmt.Errorf("mld: v2 report record %d of %d at offset %d: %w", i, nrec, off, err)
		}
		off += n
	}
	return Report{b: b, nrec: nrec}, nil
}

// recordLen returns the length of the record at the start of b, checking that it fits.
func recordLen(b []byte) (int, error) {
	if len(b) < recordHeaderLen {
		return 0, fmt.Errorf("%d bytes left, a record header needs %d", len(b), recordHeaderLen)
	}
	n := recordHeaderLen + 16*be16(b[2:4]) + 4*int(b[1])
	if n > len(b) {
		return 0, fmt.Errorf("record needs %d bytes (%d sources, %d aux words), %d left", n, be16(b[2:4]), b[1], len(b))
	}
	return n, nil
}

// Len returns the number of records in the report.
func (r Report) Len() int { return r.nrec }

// Records returns an iterator over the report's records, in message order.
func (r Report) Records() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		off := reportHeaderLen
		for i := 0; i < r.nrec; i++ {
			b := r.b[off:]
			nsrc := be16(b[2:4])
			rec := Record{
				Type:       RecordType(b[0]),
				Group:      addr16(b[4:20]),
				NumSources: nsrc,
				AuxWords:   int(b[1]),
				sources:    b[recordHeaderLen : recordHeaderLen+16*nsrc],
			}
			off += recordHeaderLen + 16*nsrc + 4*int(b[1])
			if !yield(rec) {
				return
			}
		}
	}
}
