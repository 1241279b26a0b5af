package wire

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Validate checks m against PROTOCOL.md §2 and §5.1: a valid share name, a page height of at
// least 1, entries sorted by name with no duplicates, every name canonical and equal to the
// share name or below it, no entry below a file or symlink entry, and per-type fields that
// make sense (see Entry). Fields that a type does not encode must be zero, so that a valid
// manifest survives MarshalBinary and UnmarshalManifest unchanged. Validate does not check
// tree arithmetic such as whether Top can belong to a file of that Size. Errors wrap
// ErrMalformed.
func (m *Manifest) Validate() error {
	if problem := shareProblem(m.Share); problem != "" {
		return malformed("manifest: share name %s: %s", quote(m.Share), problem)
	}
	if m.PageHeight == 0 {
		return malformed("manifest: page height is 0, need at least 1")
	}
	if uint64(len(m.Entries)) > math.MaxUint32 {
		return malformed("manifest: %d entries do not fit a 32-bit count", len(m.Entries))
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if problem := entryProblem(e, m.Share); problem != "" {
			return malformed("manifest: entry %d %s: %s", i, quote(e.Name), problem)
		}
		if i > 0 {
			switch prev := m.Entries[i-1].Name; strings.Compare(prev, e.Name) {
			case 0:
				return malformed("manifest: entry %d %s: duplicate name", i, quote(e.Name))
			case 1:
				return malformed("manifest: entry %d %s: not sorted, follows %s", i, quote(e.Name), quote(prev))
			}
		}
	}
	return checkNoneBelowLeaves(m.Entries)
}

// entryProblem returns why e cannot be an entry of share, or "" if it can.
func entryProblem(e *Entry, share string) string {
	if problem := nameProblem(e.Name); problem != "" {
		return "name " + problem
	}
	if e.Name != share && !isBelow(e.Name, share) {
		return fmt.Sprintf("name is outside the share %s", quote(share))
	}
	if e.Mode&^0o7777 != 0 {
		return fmt.Sprintf("mode %#o has bits outside 07777", e.Mode)
	}
	if e.Incomplete && e.Type != EntryDir {
		return "marked incomplete, which only a directory may be"
	}
	switch e.Type {
	case EntryFile:
		return fileProblem(e)
	case EntryDir:
		return unusedProblem(e, true, true)
	case EntrySymlink:
		if problem := targetProblem(e.Target); problem != "" {
			return problem
		}
		return unusedProblem(e, true, false)
	}
	return fmt.Sprintf("unknown entry type %d", uint8(e.Type))
}

// fileProblem checks the fields of a file entry.
func fileProblem(e *Entry) string {
	if e.Size < 0 {
		return fmt.Sprintf("file size %d is negative", e.Size)
	}
	if e.BlockShift < MinBlockShift || e.BlockShift > MaxBlockShift {
		return fmt.Sprintf("block shift %d out of range [%d, %d]", e.BlockShift, MinBlockShift, MaxBlockShift)
	}
	// Block indices are 32-bit on the wire (PROTOCOL.md §4.4). Size+bs-1 cannot overflow
	// a uint64 because Size <= MaxInt64 and bs <= 1 MiB.
	if blocks := (uint64(e.Size) + 1<<e.BlockShift - 1) >> e.BlockShift; blocks > 1<<32 {
		return fmt.Sprintf("file of %d bytes has %d blocks of %d bytes, more than 2^32", e.Size, blocks, 1<<e.BlockShift)
	}
	zeroTop := e.Top == [HashLen]byte{}
	if e.Size == 0 && !zeroTop {
		return "empty file has a non-zero top hash"
	}
	if e.Size > 0 && zeroTop {
		return "non-empty file has an all-zero top hash"
	}
	return unusedProblem(e, false, true)
}

// targetProblem returns why target cannot be a symlink target, or "" if it can.
func targetProblem(target string) string {
	if target == "" {
		return "symlink target is empty"
	}
	if len(target) > MaxTargetLen {
		return fmt.Sprintf("symlink target is longer than %d bytes", MaxTargetLen)
	}
	if i := strings.IndexByte(target, 0); i >= 0 {
		return fmt.Sprintf("symlink target has a NUL byte at offset %d", i)
	}
	return ""
}

// unusedProblem reports a non-zero field that e's type does not encode: the file fields
// when fileUnused is set, the symlink target when targetUnused is set.
func unusedProblem(e *Entry, fileUnused, targetUnused bool) string {
	if fileUnused && (e.Size != 0 || e.BlockShift != 0 || e.Top != [HashLen]byte{}) {
		return fmt.Sprintf("%s has file fields set", e.Type)
	}
	if targetUnused && e.Target != "" {
		return fmt.Sprintf("%s has a symlink target", e.Type)
	}
	return ""
}

// checkNoneBelowLeaves reports an entry below a file or symlink entry. PROTOCOL.md §2 names
// symlinks; a file cannot have children on any file system either. Entries must be sorted:
// the names below a leaf follow the lower bound of leaf + "/", so one binary search per leaf
// keeps hostile manifests with deep names cheap.
func checkNoneBelowLeaves(entries []Entry) error {
	for i := range entries {
		leaf := &entries[i]
		if leaf.Type == EntryDir {
			continue
		}
		rest := entries[i+1:]
		j, _ := slices.BinarySearchFunc(rest, leaf.Name, func(e Entry, dir string) int {
			return compareDescendant(e.Name, dir)
		})
		if j < len(rest) && isBelow(rest[j].Name, leaf.Name) {
			return malformed("manifest: entry %d %s: below %s entry %s", i+1+j, quote(rest[j].Name), leaf.Type, quote(leaf.Name))
		}
	}
	return nil
}

// incomplete reports whether some entry of m is marked incomplete.
func (m *Manifest) incomplete() bool {
	for i := range m.Entries {
		if m.Entries[i].Incomplete {
			return true
		}
	}
	return false
}
