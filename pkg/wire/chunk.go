package wire

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/blake2s"
)

// Manifest chunks (PROTOCOL.md §4.2).
const (
	// ManifestChunkHeaderLen is the length of a manifest chunk before its blob bytes.
	ManifestChunkHeaderLen = 44
	// MaxManifestLen is the largest manifest blob, 64 MiB.
	MaxManifestLen = 64 << 20
)

// manifestIDDomain prefixes the blob when its id is hashed.
const manifestIDDomain = "lcsync/v1/manifest"

// ManifestChunk is a piece of a manifest blob, sent on the manifest channel of a share.
type ManifestChunk struct {
	// ID is the manifest id of the whole blob, see ManifestID.
	ID [HashLen]byte
	// Total is the length of the whole blob, 1 to MaxManifestLen bytes.
	Total uint32
	// Offset is where Data starts in the blob.
	Offset uint32
	// Data is the piece: at least one byte, and Offset+len(Data) is at most Total. After
	// ParseManifestChunk it aliases the datagram.
	Data []byte
}

// ManifestID returns the id of a manifest blob: BLAKE2s-256("lcsync/v1/manifest" || blob).
func ManifestID(blob []byte) [HashLen]byte {
	h, _ := blake2s.New256(nil) // only fails for a key longer than 32 bytes
	h.Write([]byte(manifestIDDomain))
	h.Write(blob)
	var id [HashLen]byte
	h.Sum(id[:0])
	return id
}

// AppendManifestChunk appends c to dst as a manifest chunk and returns the extended slice. It
// does not validate c: a chunk with empty Data, or one reaching past Total, does not parse.
func AppendManifestChunk(dst []byte, c ManifestChunk) []byte {
	return appendChunk(dst, TypeManifest, c)
}

// AppendObjectChunk appends c, a piece of the tree object whose id is c.ID, to dst as an
// object chunk (PROTOCOL.md §4.8) and returns the extended slice. It does not validate c.
func AppendObjectChunk(dst []byte, c ManifestChunk) []byte {
	return appendChunk(dst, TypeObject, c)
}

// appendChunk appends c as a chunk packet of type t.
func appendChunk(dst []byte, t Type, c ManifestChunk) []byte {
	dst = appendHeader(dst, t)
	dst = append(dst, c.ID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, c.Total)
	dst = binary.BigEndian.AppendUint32(dst, c.Offset)
	return append(dst, c.Data...)
}

// ParseManifestChunk decodes the manifest chunk b. The returned Data aliases b. Besides the
// header it checks 1 <= Total <= MaxManifestLen, that the piece is at least one byte long and
// that Offset+len(Data) <= Total. It cannot check the id: that needs the whole blob.
func ParseManifestChunk(b []byte) (ManifestChunk, error) {
	return parseChunk(b, TypeManifest, MaxManifestLen)
}

// ParseObjectChunk decodes the object chunk b (PROTOCOL.md §4.8) as ParseManifestChunk does a
// manifest chunk, with 1 <= Total <= MaxObjectLen. Its ID is the tree object's id.
func ParseObjectChunk(b []byte) (ManifestChunk, error) {
	return parseChunk(b, TypeObject, MaxObjectLen)
}

// parseChunk decodes a chunk packet of type t whose blob is at most maxTotal bytes.
func parseChunk(b []byte, t Type, maxTotal uint32) (ManifestChunk, error) {
	if err := checkPacket(b, t, ManifestChunkHeaderLen+1); err != nil {
		return ManifestChunk{}, err
	}
	c := ManifestChunk{
		ID:     [HashLen]byte(b[4:36]),
		Total:  binary.BigEndian.Uint32(b[36:40]),
		Offset: binary.BigEndian.Uint32(b[40:44]),
		Data:   b[ManifestChunkHeaderLen:],
	}
	if c.Total == 0 || c.Total > maxTotal {
		return ManifestChunk{}, malformed("%s packet: total length %d out of range [1, %d]", t, c.Total, maxTotal)
	}
	if end := uint64(c.Offset) + uint64(len(c.Data)); end > uint64(c.Total) {
		return ManifestChunk{}, malformed("%s packet: piece [%d, %d) ends past the total length %d", t, c.Offset, end, c.Total)
	}
	return c, nil
}

// ManifestChunks cuts blob into manifest chunks of at most maxDatagram bytes each and returns
// them ready to send, in blob order. All chunks share one backing array. It returns an error
// if blob is empty or longer than MaxManifestLen, or if maxDatagram leaves no room for data.
func ManifestChunks(blob []byte, maxDatagram int) ([][]byte, error) {
	return chunks(blob, maxDatagram, TypeManifest, ManifestID, MaxManifestLen)
}

// ObjectChunks cuts the tree object object into object chunks of at most maxDatagram bytes
// each, as ManifestChunks does a manifest blob.
func ObjectChunks(object []byte, maxDatagram int) ([][]byte, error) {
	return chunks(object, maxDatagram, TypeObject, ObjectID, MaxObjectLen)
}

// chunks cuts blob into chunk packets of type t, id computed by id.
func chunks(blob []byte, maxDatagram int, t Type, id func([]byte) [HashLen]byte, maxLen int) ([][]byte, error) {
	if len(blob) == 0 || len(blob) > maxLen {
		return nil, fmt.Errorf("wire: %s blob of %d bytes, want 1 to %d", t, len(blob), maxLen)
	}
	per := ManifestChunkPayload(maxDatagram)
	if per == 0 {
		return nil, fmt.Errorf("wire: datagrams of %d bytes leave no room for manifest data", maxDatagram)
	}
	n := (len(blob) + per - 1) / per
	buf := make([]byte, 0, n*ManifestChunkHeaderLen+len(blob))
	out := make([][]byte, 0, n)
	c := ManifestChunk{ID: id(blob), Total: uint32(len(blob))}
	for off := 0; off < len(blob); off += per {
		c.Offset = uint32(off)
		c.Data = blob[off:min(off+per, len(blob))]
		start := len(buf)
		buf = appendChunk(buf, t, c)
		out = append(out, buf[start:len(buf):len(buf)])
	}
	return out, nil
}
