package wire

import "encoding/hex"

// LabelLen is the length of a [Label].
const LabelLen = 8

// Label names the node whose channel a tree or block packet was sent on: the first 8 bytes of
// that node's hash (PROTOCOL.md §4.1).
type Label [LabelLen]byte

// LabelOf returns the label of the node with hash h.
func LabelOf(h [HashLen]byte) Label {
	return Label(h[:LabelLen])
}

// String returns l in lower-case hex.
func (l Label) String() string {
	return hex.EncodeToString(l[:])
}
