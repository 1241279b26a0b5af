package doctor

import (
	"encoding/binary"
	"fmt"
)

// VFS capability revisions (linux/capability.h): the attribute holds magic_etc, then
// permitted and inheritable words (one pair for revision 1, two for 2 and 3; 3 adds a
// root uid).
const (
	vfsCapRevisionMask = 0xff000000
	vfsCapRevision1    = 0x01000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
	vfsCapEffective    = 0x000001
)

// parseFileCaps decodes a security.capability attribute into fc; an empty one means none.
func parseFileCaps(fc FileCaps, b []byte) (FileCaps, error) {
	if len(b) == 0 {
		return fc, nil
	}
	if len(b) < 12 {
		return fc, fmt.Errorf("doctor: security.capability of %s: %d bytes", fc.Path, len(b))
	}
	magic := binary.LittleEndian.Uint32(b)
	fc.Effective = magic&vfsCapEffective != 0
	fc.Permitted = uint64(binary.LittleEndian.Uint32(b[4:]))
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision1:
	case vfsCapRevision2, vfsCapRevision3:
		if len(b) < 20 {
			return fc, fmt.Errorf("doctor: security.capability of %s: %d bytes for revision %d", fc.Path, len(b), magic>>24)
		}
		fc.Permitted |= uint64(binary.LittleEndian.Uint32(b[12:])) << 32
	default:
		return fc, fmt.Errorf("doctor: security.capability of %s: unknown revision %#x", fc.Path, magic&vfsCapRevisionMask)
	}
	return fc, nil
}
