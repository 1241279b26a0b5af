package wire

import (
	"math"

	"golang.org/x/crypto/blake2s"
)

// Large directories are split into pages (PROTOCOL.md §5.1).
const (
	// PageFrom is the encoded size from which a directory's object is split into pages.
	PageFrom = 64 << 10
	// pageMask selects the bits of an entry name's hash that end a page when all zero: one
	// entry in 512 on average.
	pageMask = 1<<9 - 1
	// maxPageEntries and maxPageBytes cap a page whatever the names' hashes say.
	maxPageEntries = 4096
	maxPageBytes   = 1 << 20
)

// EncodeDirectory encodes the tree object of a directory whose sorted, valid entries are
// entries, and returns it first, then the page objects it names if it is paged: a directory
// whose object would be PageFrom bytes or more is split into pages of consecutive entries,
// cut after each entry whose name hashes (BLAKE2s-256) to a value whose low 9 bits are zero
// (and after 4,096 entries or 1 MiB at most). Cuts depend on the names alone, so adding or
// removing an entry changes one page (two when it moves a cut), not every page after it.
func EncodeDirectory(entries []ObjectEntry) ([][]byte, error) {
	whole := Object{Entries: entries}
	if err := whole.validate(math.MaxInt); err != nil { // pages keep each object within MaxObjectLen
		return nil, err
	}
	if len(entries) > 0 && entries[0].Type == EntryPage {
		return nil, malformed("tree object: a directory's entries include pages")
	}
	n := ObjectHeaderLen
	for i := range entries {
		n += entries[i].encodedLen()
	}
	if n < PageFrom {
		return [][]byte{whole.appendValid(nil)}, nil
	}
	var index Object
	out := [][]byte{nil}
	start, bytes := 0, ObjectHeaderLen
	for i := range entries {
		bytes += entries[i].encodedLen()
		var next *ObjectEntry
		if i+1 < len(entries) {
			next = &entries[i+1]
		}
		if !pageEnds(&entries[i], i+1-start, bytes, next) {
			continue
		}
		page := (&Object{Entries: entries[start : i+1]}).appendValid(nil)
		out = append(out, page)
		index.Entries = append(index.Entries, ObjectEntry{Entry: Entry{Type: EntryPage, Name: entries[start].Name}, ID: ObjectID(page)})
		start, bytes = i+1, ObjectHeaderLen
	}
	b, err := index.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out[0] = b
	return out, nil
}

// pageEnds reports whether a page ends after entry e, its count-th entry, which brings the page
// to bytes bytes; next is the entry after e, nil when e is the directory's last. Only the
// byte cap looks at next, so a page's cuts depend on its own entries and the one after it.
func pageEnds(e *ObjectEntry, count, bytes int, next *ObjectEntry) bool {
	if next == nil {
		return true
	}
	h := blake2s.Sum256([]byte(e.Name))
	return (int(h[0])|int(h[1])<<8)&pageMask == 0 || count >= maxPageEntries || bytes+next.encodedLen() > maxPageBytes
}
