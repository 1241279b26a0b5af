package wire

import "encoding/binary"

// TreeManifestVersion is the version of the manifest that names a tree of objects
// (PROTOCOL.md §5.1) rather than listing every entry.
const TreeManifestVersion = 2

// TreeManifest is the version 2 manifest: a small header naming the share's own entry. For a
// directory share that entry names the object of the share's directory, whose id commits to
// every name, mode, time, size and file top below it, so the manifest id (ManifestID of its
// encoding) and a statement signing it cover the whole share. For a single-file share the
// entry is the file.
type TreeManifest struct {
	// Carousel, PageHeight and Publisher mean what they mean in a flat Manifest.
	Carousel   bool
	PageHeight uint8
	Publisher  *Publisher
	// Generation changes whenever the sender re-indexes the share.
	Generation uint64
	// Root is the share's entry: its Name is the share name; a directory or a file.
	Root ObjectEntry
}

// Share returns the share name.
func (m *TreeManifest) Share() string { return m.Root.Name }

// Validate checks m: a page height of at least 1 and a valid root entry that is a directory
// or a file. Errors wrap ErrMalformed.
func (m *TreeManifest) Validate() error {
	if m.PageHeight == 0 {
		return malformed("manifest: page height is 0, need at least 1")
	}
	if err := m.Root.check("manifest: root", -1); err != nil {
		return err
	}
	if m.Root.Type != EntryDir && m.Root.Type != EntryFile {
		return malformed("manifest: root %s is a %s", quote(m.Root.Name), m.Root.Type)
	}
	return nil
}

// MarshalBinary validates m and returns its encoding (PROTOCOL.md §5.1).
func (m *TreeManifest) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	dst := make([]byte, 0, ManifestHeaderLen+PublisherLen+8+m.Root.encodedLen())
	dst = append(dst, ManifestMagic...)
	var flags byte
	if m.Carousel {
		flags |= FlagCarousel
	}
	if m.Publisher != nil {
		flags |= FlagSigned
	}
	dst = append(dst, TreeManifestVersion, flags, m.PageHeight, 0)
	if m.Publisher != nil {
		dst = append(append(dst, m.Publisher.KeyID[:]...), m.Publisher.Key[:]...)
	}
	dst = binary.BigEndian.AppendUint64(dst, m.Generation)
	return m.Root.appendValid(dst), nil
}

// UnmarshalTreeManifest decodes and validates a version 2 manifest. Decoding is strict as for
// UnmarshalManifest: unknown flags (the incomplete flag included: a version 2 manifest marks
// incomplete directories in their entries' modes alone), a non-zero reserved byte and trailing
// bytes are refused. Errors wrap ErrVersion for another version and ErrMalformed otherwise.
func UnmarshalTreeManifest(blob []byte) (*TreeManifest, error) {
	if len(blob) > MaxManifestLen {
		return nil, malformed("manifest: blob of %d bytes exceeds %d", len(blob), MaxManifestLen)
	}
	if len(blob) < ManifestHeaderLen {
		return nil, malformed("manifest: %d bytes, need at least %d", len(blob), ManifestHeaderLen)
	}
	if string(blob[:4]) != ManifestMagic {
		return nil, malformed("manifest: magic %q, want %q", blob[:4], ManifestMagic)
	}
	if blob[4] != TreeManifestVersion {
		return nil, versionError(blob[4], TreeManifestVersion)
	}
	flags, height, reserved := blob[5], blob[6], blob[7]
	if known := byte(FlagCarousel | FlagSigned); flags&^known != 0 {
		return nil, malformed("manifest: unknown flags %#02x", flags&^known)
	}
	if reserved != 0 {
		return nil, malformed("manifest: reserved byte is %#02x, not zero", reserved)
	}
	d := decoder{b: blob, s: string(blob), off: ManifestHeaderLen, index: -1, incomplete: true, what: "manifest: root"}
	m := &TreeManifest{Carousel: flags&FlagCarousel != 0, PageHeight: height}
	if flags&FlagSigned != 0 && d.need(PublisherLen, "publisher") {
		m.Publisher = &Publisher{KeyID: [KeyIDLen]byte(blob[d.off:]), Key: [PublicKeyLen]byte(blob[d.off+KeyIDLen:])}
		d.off += PublisherLen
	}
	m.Generation = d.u64("generation")
	d.readObjectEntry(&m.Root, -1)
	if d.err != nil {
		return nil, d.err
	}
	if rest := len(blob) - d.off; rest != 0 {
		return nil, malformed("manifest: %d trailing bytes after the root entry", rest)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// ManifestVersionOf returns the version byte of a manifest blob, or an error wrapping
// ErrMalformed when blob is too short or does not start with ManifestMagic.
func ManifestVersionOf(blob []byte) (uint8, error) {
	if len(blob) < ManifestHeaderLen {
		return 0, malformed("manifest: %d bytes, need at least %d", len(blob), ManifestHeaderLen)
	}
	if string(blob[:4]) != ManifestMagic {
		return 0, malformed("manifest: magic %q, want %q", blob[:4], ManifestMagic)
	}
	return blob[4], nil
}

// versionError is the error for a manifest of version v, which a decoder that reads version
// reads refuses: one that says to upgrade when v is newer. A flat (version 1) decoder given a
// version 2 manifest says so too, as every release before version 2 did not but should have.
func versionError(v, reads uint8) error {
	if v > reads {
		return errorf(ErrVersion, "unsupported manifest version %d (the server is newer; upgrade lcsync)", v)
	}
	return errorf(ErrVersion, "manifest: version %d, this decoder reads version %d", v, reads)
}
