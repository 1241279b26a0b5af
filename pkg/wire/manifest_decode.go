package wire

import (
	"encoding/binary"
	"math"
	"strconv"
)

// maxPrealloc caps the entries allocated before any is decoded.
const maxPrealloc = 1024

// UnmarshalManifest decodes and validates a manifest blob (PROTOCOL.md §5.1). Every length is
// checked against the bytes that remain, the entry count against the smallest entry that could
// follow (so a tiny blob cannot make it allocate much), trailing bytes are refused, and the
// result must pass Validate. Errors wrap ErrVersion for a manifest version other than 1 and
// ErrMalformed otherwise.
//
// The entries' names and targets share one copy of blob, which stays in memory as long as any
// of them does.
func UnmarshalManifest(blob []byte) (*Manifest, error) {
	if len(blob) > MaxManifestLen {
		return nil, malformed("manifest: blob of %d bytes exceeds %d", len(blob), MaxManifestLen)
	}
	d := decoder{b: blob, index: -1}
	if len(blob) < ManifestHeaderLen {
		return nil, malformed("manifest: %d bytes, need at least %d", len(blob), ManifestHeaderLen)
	}
	if string(blob[:4]) != ManifestMagic {
		return nil, malformed("manifest: magic %q, want %q", blob[:4], ManifestMagic)
	}
	if blob[4] != ManifestVersion {
		return nil, versionError(blob[4], ManifestVersion)
	}
	flags, height, reserved := blob[5], blob[6], blob[7]
	if known := byte(FlagCarousel | FlagSigned | FlagIncomplete); flags&^known != 0 {
		return nil, malformed("manifest: unknown flags %#02x", flags&^known)
	}
	d.incomplete = flags&FlagIncomplete != 0
	if reserved != 0 {
		return nil, malformed("manifest: reserved byte is %#02x, not zero", reserved)
	}
	d.off = ManifestHeaderLen
	d.s = string(blob) // one copy that every name and target slices

	m := &Manifest{Carousel: flags&FlagCarousel != 0, PageHeight: height}
	if flags&FlagSigned != 0 && d.need(PublisherLen, "publisher") {
		m.Publisher = &Publisher{KeyID: [KeyIDLen]byte(blob[d.off:]), Key: [PublicKeyLen]byte(blob[d.off+KeyIDLen:])}
		d.off += PublisherLen
	}
	m.Share = d.string16("share name length", "share name")
	m.Generation = d.u64("generation")
	count := d.u32("entry count")
	if d.err != nil {
		return nil, d.err
	}
	if problem := shareProblem(m.Share); problem != "" {
		return nil, malformed("manifest: share name %s: %s", quote(m.Share), problem)
	}
	// Every entry has its fixed fields and a name at least as long as the share name.
	minEntry := entryFixedLen + len(m.Share)
	if rest := len(blob) - d.off; uint64(count) > uint64(rest/minEntry) {
		return nil, malformed("manifest: %d entries cannot fit in the %d bytes left (at least %d bytes each)", count, rest, minEntry)
	}
	// Grow as entries decode rather than trusting count up front: a hostile blob that claims
	// millions of entries fails on the first bad one after a small allocation.
	m.Entries = make([]Entry, 0, min(count, maxPrealloc))
	for i := range int(count) {
		var e Entry
		if d.readEntry(&e, i); d.err != nil {
			return nil, d.err
		}
		m.Entries = append(m.Entries, e)
	}
	if rest := len(blob) - d.off; rest != 0 {
		return nil, malformed("manifest: %d trailing bytes after %d entries", rest, count)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if d.incomplete && !m.incomplete() {
		return nil, malformed("manifest: the incomplete flag is set but no directory is marked incomplete")
	}
	return m, nil
}

// UnmarshalBinary decodes blob into m, see UnmarshalManifest. On error m is unchanged.
func (m *Manifest) UnmarshalBinary(blob []byte) error {
	decoded, err := UnmarshalManifest(blob)
	if err != nil {
		return err
	}
	*m = *decoded
	return nil
}

// decoder reads a manifest blob front to back. The first short read sets err; later reads
// then return zero values, so callers check err once per entry.
type decoder struct {
	b          []byte
	s          string // b as a string, for substrings without a copy each
	off        int
	index      int    // index of the entry being read, -1 before the entries
	incomplete bool   // the manifest has FlagIncomplete: directory modes may carry ModeIncomplete
	pages      bool   // page entries are allowed (a tree object)
	what       string // what is decoded, for errors: "manifest" when empty
	err        error
}

// where names the entry being read, or what is decoded, for errors.
func (d *decoder) where() string {
	what := d.what
	if what == "" {
		what = "manifest"
	}
	if d.index >= 0 {
		return what + ": entry " + strconv.Itoa(d.index)
	}
	return what
}

// need reports whether n more bytes remain, recording an error that names what if not.
func (d *decoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if rest := len(d.b) - d.off; n > rest {
		d.err = malformed("%s: %s needs %d bytes at offset %d, %d left", d.where(), what, n, d.off, rest)
		return false
	}
	return true
}

func (d *decoder) u8(what string) uint8 {
	if !d.need(1, what) {
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) u16(what string) uint16 {
	if !d.need(2, what) {
		return 0
	}
	d.off += 2
	return binary.BigEndian.Uint16(d.b[d.off-2:])
}

func (d *decoder) u32(what string) uint32 {
	if !d.need(4, what) {
		return 0
	}
	d.off += 4
	return binary.BigEndian.Uint32(d.b[d.off-4:])
}

func (d *decoder) u64(what string) uint64 {
	if !d.need(8, what) {
		return 0
	}
	d.off += 8
	return binary.BigEndian.Uint64(d.b[d.off-8:])
}

// string16 reads a u16 length and that many bytes; lenWhat and what name the two for errors.
func (d *decoder) string16(lenWhat, what string) string {
	n := int(d.u16(lenWhat))
	if !d.need(n, what) {
		return ""
	}
	d.off += n
	return d.s[d.off-n : d.off]
}

// readEntry reads entry i into e. Only the layout is checked here; Validate checks the values.
func (d *decoder) readEntry(e *Entry, i int) {
	d.index = i
	e.Type = EntryType(d.u8("type"))
	e.Mode = d.u32("mode")
	if d.incomplete && e.Type == EntryDir && e.Mode&ModeIncomplete != 0 {
		e.Mode &^= ModeIncomplete
		e.Incomplete = true
	}
	e.MTime = int64(d.u64("mtime"))
	e.Name = d.string16("name length", "name")
	if d.err != nil {
		return
	}
	switch e.Type {
	case EntryFile:
		size := d.u64("file size")
		e.BlockShift = d.u8("block shift")
		if d.need(HashLen, "top hash") {
			e.Top = [HashLen]byte(d.b[d.off:])
			d.off += HashLen
		}
		if d.err == nil && size > math.MaxInt64 {
			d.err = malformed("%s %s: file size %d too large", d.where(), quote(e.Name), size)
		}
		e.Size = int64(size)
	case EntryDir:
	case EntrySymlink:
		e.Target = d.string16("symlink target length", "symlink target")
	case EntryPage:
		if !d.pages {
			d.err = malformed("%s %s: unknown entry type %d", d.where(), quote(e.Name), uint8(e.Type)) // pages are for tree objects
		}
	default:
		d.err = malformed("%s %s: unknown entry type %d", d.where(), quote(e.Name), uint8(e.Type))
	}
}
