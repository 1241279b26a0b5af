package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/blake2s"
)

// Tree objects (PROTOCOL.md §5.1): one per directory of a share, content-addressed.
const (
	// ObjectMagic opens every tree object.
	ObjectMagic = "LCTR"
	// ObjectVersion is the tree object format version this package reads and writes.
	ObjectVersion = 2
	// ObjectHeaderLen is the length of a tree object's fixed header: magic, version, flags,
	// a reserved u16 and the entry count.
	ObjectHeaderLen = 4 + 1 + 1 + 2 + 4
	// MaxObjectLen is the largest tree object, 16 MiB. Large directories are split into
	// pages long before (see EncodeDirectory), so only a directory whose list of pages does
	// not fit, tens of millions of entries, cannot be served (PROTOCOL.md §5.1).
	MaxObjectLen = 16 << 20
	// MaxTreeEntries bounds the entries a walk of a share's objects collects: objects are
	// content-addressed, so a few small hostile objects naming each other many times over
	// could otherwise describe billions of entries.
	MaxTreeEntries = 1 << 21
)

// maxObjectPrealloc caps the entries allocated before a tree object's entries are decoded.
const maxObjectPrealloc = 1 << 16

// objectIDDomain prefixes an object when its id is hashed.
const objectIDDomain = "lcsync/v2/tree"

// dirFieldsLen is the length of a directory entry's field: the child object's id.
const dirFieldsLen = HashLen

// ObjectEntry is one entry of a tree object: a file, directory or symlink named by a single
// name component. Its embedded Entry carries the same fields as a flat manifest entry, with
// Name one component; a directory's entry adds the id of the directory's own object.
type ObjectEntry struct {
	Entry
	// ID is a directory's object id (see ObjectID); zero for other types.
	ID [HashLen]byte
}

// Object is a directory of a share as a tree object: its entries, sorted by name component in
// byte order, with no duplicates.
type Object struct {
	Entries []ObjectEntry
}

// ObjectID returns the id of an encoded tree object: BLAKE2s-256("lcsync/v2/tree" || object).
func ObjectID(object []byte) [HashLen]byte {
	h, _ := blake2s.New256(nil) // only fails for a key longer than 32 bytes
	h.Write([]byte(objectIDDomain))
	h.Write(object)
	var id [HashLen]byte
	h.Sum(id[:0])
	return id
}

// Validate checks o: every entry valid (see ObjectEntry.Validate), names sorted in byte order
// with no duplicates, and the encoding no longer than MaxObjectLen. Errors wrap ErrMalformed.
func (o *Object) Validate() error { return o.validate(MaxObjectLen) }

// validate is Validate with the size limit given.
func (o *Object) validate(maxLen int) error {
	n := ObjectHeaderLen
	for i := range o.Entries {
		e := &o.Entries[i]
		if err := e.check("tree object: entry", i); err != nil {
			return err
		}
		if i > 0 {
			switch prev := o.Entries[i-1].Name; strings.Compare(prev, e.Name) {
			case 0:
				return malformed("tree object: entry %d %s: duplicate name", i, quote(e.Name))
			case 1:
				return malformed("tree object: entry %d %s: not sorted, follows %s", i, quote(e.Name), quote(prev))
			}
		}
		n += e.encodedLen()
		if n > maxLen {
			return malformed("tree object: more than %d bytes at entry %d", maxLen, i)
		}
		if (e.Type == EntryPage) != (o.Entries[0].Type == EntryPage) {
			return malformed("tree object: entry %d %s: pages and other entries mixed", i, quote(e.Name))
		}
	}
	return nil
}

// Paged reports whether o is the object of a large directory, whose entries are its pages.
func (o *Object) Paged() bool { return len(o.Entries) > 0 && o.Entries[0].Type == EntryPage }

// Validate checks one entry: a name of one canonical component and fields that make sense for
// its type (as a flat manifest's entries, PROTOCOL.md §5.1), a non-zero ID exactly for a
// directory. Errors wrap ErrMalformed.
func (e *ObjectEntry) Validate() error { return e.check("tree object entry", -1) }

// check is Validate with what and, unless negative, the entry's index naming it in errors.
func (e *ObjectEntry) check(what string, i int) error {
	problem := shareProblem(e.Name)
	switch {
	case problem != "":
		problem = "name " + problem
	case e.Type == EntryPage:
		problem = pageProblem(e)
	default:
		if problem = entryProblem(&e.Entry, e.Name); problem == "" {
			if zero := e.ID == [HashLen]byte{}; zero && e.Type == EntryDir {
				problem = "directory has a zero object id"
			} else if !zero && e.Type != EntryDir {
				problem = e.Type.String() + " has an object id"
			}
		}
	}
	if problem == "" {
		return nil
	}
	if i >= 0 {
		what += " " + fmt.Sprint(i)
	}
	return malformed("%s %s: %s", what, quote(e.Name), problem)
}

// pageProblem checks a page entry: a non-zero id and nothing else but its name.
func pageProblem(e *ObjectEntry) string {
	switch {
	case e.ID == [HashLen]byte{}:
		return "page has a zero object id"
	case e.Mode != 0 || e.MTime != 0 || e.Incomplete:
		return "page has a mode, time or mark"
	}
	return unusedProblem(&e.Entry, true, true)
}

// encodedLen returns the length of a valid entry's encoding.
func (e *ObjectEntry) encodedLen() int {
	n := entryFixedLen + len(e.Name)
	switch e.Type {
	case EntryFile:
		n += fileFieldsLen
	case EntryDir, EntryPage:
		n += dirFieldsLen
	case EntrySymlink:
		n += targetLengthLen + len(e.Target)
	}
	return n
}

// MarshalBinary validates o and returns its encoding (PROTOCOL.md §5.1).
func (o *Object) MarshalBinary() ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o.appendValid(nil), nil
}

// appendValid appends the encoding of the valid object o.
func (o *Object) appendValid(dst []byte) []byte {
	n := ObjectHeaderLen
	for i := range o.Entries {
		n += o.Entries[i].encodedLen()
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, ObjectMagic...)
	dst = append(dst, ObjectVersion, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(o.Entries)))
	for i := range o.Entries {
		dst = o.Entries[i].appendValid(dst)
	}
	return dst
}

// appendValid appends the encoding of one valid entry.
func (e *ObjectEntry) appendValid(dst []byte) []byte {
	dst = appendEntry(dst, &e.Entry)
	if e.Type == EntryDir || e.Type == EntryPage {
		dst = append(dst, e.ID[:]...)
	}
	return dst
}

// UnmarshalObject decodes and validates a tree object. Every length is checked against the
// bytes that remain and the entry count against the smallest entry that could follow, trailing
// bytes are refused, and the result must pass Validate, so that it re-encodes to object byte
// for byte. Errors wrap ErrVersion for a version other than ObjectVersion and ErrMalformed
// otherwise. Names and targets share one copy of object.
func UnmarshalObject(object []byte) (*Object, error) {
	if len(object) > MaxObjectLen {
		return nil, malformed("tree object: %d bytes exceeds %d", len(object), MaxObjectLen)
	}
	if len(object) < ObjectHeaderLen {
		return nil, malformed("tree object: %d bytes, need at least %d", len(object), ObjectHeaderLen)
	}
	if string(object[:4]) != ObjectMagic {
		return nil, malformed("tree object: magic %q, want %q", object[:4], ObjectMagic)
	}
	if object[4] != ObjectVersion {
		if object[4] > ObjectVersion {
			return nil, errorf(ErrVersion, "unsupported tree object version %d (the server is newer; upgrade lcsync)", object[4])
		}
		return nil, errorf(ErrVersion, "tree object: version %d, this implementation reads %d", object[4], ObjectVersion)
	}
	if object[5] != 0 || object[6] != 0 || object[7] != 0 {
		return nil, malformed("tree object: flags and reserved bytes %#x are not zero", object[5:8])
	}
	count := binary.BigEndian.Uint32(object[8:])
	d := decoder{b: object, s: string(object), off: ObjectHeaderLen, index: -1, incomplete: true, pages: true, what: "tree object"}
	minEntry := entryFixedLen + 1
	if rest := len(object) - d.off; uint64(count) > uint64(rest/minEntry) {
		return nil, malformed("tree object: %d entries cannot fit in the %d bytes left", count, rest)
	}
	// count is bounded by the bytes left, so allocating for it up front costs a small multiple
	// of the object's size, capped further for the largest objects.
	o := &Object{Entries: make([]ObjectEntry, 0, min(count, maxObjectPrealloc))}
	for i := range int(count) {
		var e ObjectEntry
		if d.readObjectEntry(&e, i); d.err != nil {
			return nil, d.err
		}
		o.Entries = append(o.Entries, e)
	}
	if rest := len(object) - d.off; rest != 0 {
		return nil, malformed("tree object: %d trailing bytes after %d entries", rest, count)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// readObjectEntry reads entry i of a tree object (or the root entry of a v2 manifest, i < 0).
func (d *decoder) readObjectEntry(e *ObjectEntry, i int) {
	d.readEntry(&e.Entry, i)
	if d.err == nil && (e.Type == EntryDir || e.Type == EntryPage) && d.need(HashLen, "object id") {
		e.ID = [HashLen]byte(d.b[d.off:])
		d.off += HashLen
	}
}

// Lookup returns the entry of o called name (one component). It relies on o's entries being
// sorted, as they are after UnmarshalObject or a successful Validate.
func (o *Object) Lookup(name string) (ObjectEntry, bool) {
	i, ok := slices.BinarySearchFunc(o.Entries, name, func(e ObjectEntry, t string) int {
		return strings.Compare(e.Name, t)
	})
	if !ok {
		return ObjectEntry{}, false
	}
	return o.Entries[i], true
}
