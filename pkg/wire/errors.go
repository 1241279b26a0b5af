package wire

import (
	"errors"
	"fmt"
)

// ErrNotOurs reports a datagram that does not start with the lcsync magic bytes. Receivers
// sharing a port with other traffic count such datagrams and drop them.
var ErrNotOurs = errors.New("wire: not an lcsync datagram")

// ErrVersion reports a datagram or manifest of a protocol version this package does not
// implement. PROTOCOL.md §4 says such datagrams are ignored.
var ErrVersion = errors.New("wire: unsupported protocol version")

// ErrType reports a datagram whose packet type is unknown, or is not the type the parse
// function was asked for. PROTOCOL.md §4 says unknown types are ignored.
var ErrType = errors.New("wire: unexpected packet type")

// ErrMalformed reports a datagram or manifest that carries the right magic, version and type
// but breaks a rule of PROTOCOL.md: it is too short, a length or offset is out of range, a
// reserved field is not zero, a name is not canonical, and so on.
var ErrMalformed = errors.New("wire: malformed data")

// wireError is an error with a complete message that unwraps to one of the sentinels, so
// callers see "wire: block packet: 12 bytes, need at least 21" and can still branch with
// errors.Is(err, ErrMalformed).
type wireError struct {
	kind error
	msg  string
}

func (e *wireError) Error() string { return e.msg }

func (e *wireError) Unwrap() error { return e.kind }

// errorf builds a wireError of the given kind; the message gets the "wire: " prefix.
func errorf(kind error, format string, args ...any) error {
	return &wireError{kind: kind, msg: "wire: " + fmt.Sprintf(format, args...)}
}

// malformed builds an error that wraps ErrMalformed.
func malformed(format string, args ...any) error {
	return errorf(ErrMalformed, format, args...)
}

// maxQuoted bounds how much of a hostile name or target an error message repeats.
const maxQuoted = 64

// quote renders s for an error message: Go-quoted, so NUL and control bytes are visible, and
// cut after maxQuoted bytes so a 4 KiB hostile name does not end up in a log line whole.
func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q... (%d bytes)", s[:maxQuoted], len(s))
	}
	return fmt.Sprintf("%q", s)
}
