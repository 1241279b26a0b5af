package wire

import (
	"fmt"
	"slices"
	"strings"
)

// Manifest blob layout (PROTOCOL.md §5.1).
const (
	// ManifestMagic opens every manifest blob.
	ManifestMagic = "LCMF"
	// ManifestVersion is the manifest format version this package reads and writes.
	ManifestVersion = 1
	// ManifestHeaderLen is the length of the fixed manifest header: magic, version, flags,
	// page height and a reserved byte.
	ManifestHeaderLen = 8
	// FlagCarousel is bit 0 of the manifest flags: the share is sent in carousel mode.
	FlagCarousel = 1 << 0
	// FlagSigned is bit 1 of the manifest flags: the share is signed, and the publisher's key
	// id and public key follow the fixed header (PROTOCOL.md §5.1).
	FlagSigned = 1 << 1
	// PublisherLen is the length of the publisher field of a signed manifest.
	PublisherLen = KeyIDLen + PublicKeyLen
	// FlagIncomplete is bit 2 of the manifest flags: the sender could not read all of the
	// share, and the directories it could not list completely carry ModeIncomplete. A
	// receiver that predates it refuses the manifest (unknown flag) rather than mistaking
	// such a directory for a complete one.
	FlagIncomplete = 1 << 2
	// ModeIncomplete is the bit of a directory entry's mode field, on the wire, that marks
	// it incomplete (Entry.Incomplete); it is allowed only with FlagIncomplete.
	ModeIncomplete = 1 << 16
	// MaxTargetLen is the longest symlink target in bytes.
	MaxTargetLen = 4095
)

// EntryType is the kind of a manifest entry.
type EntryType uint8

// Entry types (PROTOCOL.md §5.1).
const (
	// EntryFile is a regular file, described by its size, block size and top hash.
	EntryFile EntryType = 1
	// EntryDir is a directory.
	EntryDir EntryType = 2
	// EntrySymlink is a symbolic link, described by its target.
	EntrySymlink EntryType = 3
	// EntryPage is a page of a large directory's tree object (PROTOCOL.md §5.1): named by
	// its first entry's name, it carries the page object's id. It appears only in tree
	// objects, never in a flat manifest.
	EntryPage EntryType = 4
)

// String returns the lower-case name of t, or "entrytype(N)" for an unknown type.
func (t EntryType) String() string {
	switch t {
	case EntryFile:
		return "file"
	case EntryDir:
		return "directory"
	case EntrySymlink:
		return "symlink"
	case EntryPage:
		return "page"
	}
	return fmt.Sprintf("entrytype(%d)", uint8(t))
}

// Entry is one file, directory or symlink of a share.
type Entry struct {
	// Type says which of the fields below the mode apply.
	Type EntryType
	// Mode holds the permission bits (07777 at most: rwx for all, setuid, setgid, sticky).
	Mode uint32
	// MTime is the modification time in Unix nanoseconds.
	MTime int64
	// Name is the canonical name, the share name or below it.
	Name string

	// Size is a file's length in bytes; zero for other types.
	Size int64
	// BlockShift is log2 of a file's block size, MinBlockShift to MaxBlockShift; zero for
	// other types.
	BlockShift uint8
	// Top is the hash of a file's top tree node, all zero for an empty file; zero for other
	// types. The file's root hash follows from Size, BlockShift and Top (PROTOCOL.md §1.3).
	Top [HashLen]byte

	// Target is a symlink's target, 1 to MaxTargetLen bytes without NUL; empty for other
	// types. It is not a name and is not checked as one.
	Target string

	// Incomplete marks a directory the sender could not read completely (an entry below it
	// could not be listed or read, so it is missing from the manifest). A receiver deletes
	// nothing below it. Only directories may be incomplete.
	Incomplete bool
}

// BlockSize returns a file entry's block size in bytes, or 0 for other entry types.
func (e Entry) BlockSize() int {
	if e.Type != EntryFile {
		return 0
	}
	return 1 << e.BlockShift
}

// Manifest lists the entries of a share (PROTOCOL.md §5.1). Its entries are sorted by name in
// byte order (strings.Compare), which puts "a/b" after "a.txt": see SortEntries.
type Manifest struct {
	// Carousel is set when the sender repeats the share on its stream channel instead of
	// answering MLD joins (PROTOCOL.md §5.4).
	Carousel bool
	// PageHeight is how many levels a tree page reaches, at least 1 (PROTOCOL.md §5.2).
	PageHeight uint8
	// Publisher is the key that signs the share, nil for an unsigned share. It names the key
	// (so that a receiver can show it, to be pinned) and derives the share's channels
	// (PROTOCOL.md §3); it proves nothing by itself: a statement signed by a trusted key does.
	Publisher *Publisher
	// Share is the share name: one canonical component.
	Share string
	// Generation changes whenever the sender re-indexes the share.
	Generation uint64
	// Entries are the share's entries, sorted by name with no duplicates.
	Entries []Entry
}

// Publisher is a signing key as a manifest names it: minisign's key id and the Ed25519 key.
type Publisher struct {
	// KeyID is minisign's 8-byte key number, as stored in its key files.
	KeyID [KeyIDLen]byte
	// Key is the Ed25519 public key.
	Key [PublicKeyLen]byte
}

// SortEntries sorts m.Entries into the order MarshalBinary requires: by name, in byte order.
func (m *Manifest) SortEntries() {
	slices.SortFunc(m.Entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
}

// Lookup returns the entry called name. It relies on m.Entries being sorted, as they are after
// UnmarshalManifest or a successful Validate.
func (m *Manifest) Lookup(name string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(m.Entries, name, func(e Entry, t string) int {
		return strings.Compare(e.Name, t)
	})
	if !ok {
		return Entry{}, false
	}
	return m.Entries[i], true
}

// Under returns, in name order, the entry called prefix (if any) and every entry below it:
// "a/b" selects "a/b" and "a/b/c" but not "a/bc" or "a/b.txt". It relies on m.Entries being
// sorted and returns a new slice, nil when nothing matches.
func (m *Manifest) Under(prefix string) []Entry {
	i, _ := slices.BinarySearchFunc(m.Entries, prefix, func(e Entry, p string) int {
		return compareDescendant(e.Name, p)
	})
	j := i
	for j < len(m.Entries) && isBelow(m.Entries[j].Name, prefix) {
		j++
	}
	e, ok := m.Lookup(prefix)
	if !ok {
		return slices.Clone(m.Entries[i:j])
	}
	out := make([]Entry, 0, j-i+1)
	return append(append(out, e), m.Entries[i:j]...)
}

// isBelow reports whether name is strictly below dir: it starts with dir + "/".
func isBelow(name, dir string) bool {
	return len(name) > len(dir) && name[len(dir)] == '/' && name[:len(dir)] == dir
}

// compareDescendant compares name with dir + "/" in byte order without building that string.
// Every name below dir compares >= 0, and the names below dir are the ones that follow the
// lower bound found with it.
func compareDescendant(name, dir string) int {
	n := min(len(name), len(dir))
	if c := strings.Compare(name[:n], dir[:n]); c != 0 {
		return c
	}
	if len(name) <= len(dir) {
		return -1 // name is a prefix of dir, or dir itself
	}
	switch c := name[len(dir)]; {
	case c < '/':
		return -1
	case c > '/':
		return 1
	case len(name) == len(dir)+1:
		return 0
	}
	return 1
}
