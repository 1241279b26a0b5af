package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Fixed parts of an encoded entry (PROTOCOL.md §5.1).
const (
	entryFixedLen   = 1 + 4 + 8 + 2 // type, mode, mtime, name length
	fileFieldsLen   = 8 + 1 + HashLen
	targetLengthLen = 2
)

// encodedLen returns the length of m's blob. m must be valid.
func (m *Manifest) encodedLen() int {
	n := ManifestHeaderLen + 2 + len(m.Share) + 8 + 4
	if m.Publisher != nil {
		n += PublisherLen
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		n += entryFixedLen + len(e.Name)
		switch e.Type {
		case EntryFile:
			n += fileFieldsLen
		case EntrySymlink:
			n += targetLengthLen + len(e.Target)
		}
	}
	return n
}

// AppendBinary validates m, appends its blob (PROTOCOL.md §5.1) to dst and returns the
// extended slice. It fails if m is not valid (see Validate) or the blob would be longer than
// MaxManifestLen.
func (m *Manifest) AppendBinary(dst []byte) ([]byte, error) {
	n, err := m.checkEncodable()
	if err != nil {
		return dst, err
	}
	return m.appendValid(slices.Grow(dst, n)), nil
}

// MarshalBinary validates m and returns its blob (PROTOCOL.md §5.1), see AppendBinary.
func (m *Manifest) MarshalBinary() ([]byte, error) {
	n, err := m.checkEncodable()
	if err != nil {
		return nil, err
	}
	return m.appendValid(make([]byte, 0, n)), nil
}

// checkEncodable validates m and returns the length of its blob.
func (m *Manifest) checkEncodable() (int, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	n := m.encodedLen()
	if n > MaxManifestLen {
		return 0, fmt.Errorf("wire: manifest: blob of %d bytes exceeds %d", n, MaxManifestLen)
	}
	return n, nil
}

// appendValid appends the blob of the valid manifest m.
func (m *Manifest) appendValid(dst []byte) []byte {
	dst = append(dst, ManifestMagic...)
	var flags byte
	if m.Carousel {
		flags |= FlagCarousel
	}
	if m.Publisher != nil {
		flags |= FlagSigned
	}
	if m.incomplete() {
		flags |= FlagIncomplete
	}
	dst = append(dst, ManifestVersion, flags, m.PageHeight, 0)
	if m.Publisher != nil {
		dst = append(append(dst, m.Publisher.KeyID[:]...), m.Publisher.Key[:]...)
	}
	dst = appendString16(dst, m.Share)
	dst = binary.BigEndian.AppendUint64(dst, m.Generation)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Entries)))
	for i := range m.Entries {
		dst = appendEntry(dst, &m.Entries[i])
	}
	return dst
}

// appendEntry appends one valid entry.
func appendEntry(dst []byte, e *Entry) []byte {
	dst = append(dst, byte(e.Type))
	mode := e.Mode
	if e.Incomplete {
		mode |= ModeIncomplete
	}
	dst = binary.BigEndian.AppendUint32(dst, mode)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.MTime))
	dst = appendString16(dst, e.Name)
	switch e.Type {
	case EntryFile:
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.Size))
		dst = append(dst, e.BlockShift)
		dst = append(dst, e.Top[:]...)
	case EntrySymlink:
		dst = appendString16(dst, e.Target)
	}
	return dst
}

// appendString16 appends s with a u16 length; callers have checked that s fits.
func appendString16(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}
