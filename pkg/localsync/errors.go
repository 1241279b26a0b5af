package localsync

import (
	"errors"
	"io/fs"
	"os"
)

// ErrUsage is wrapped by errors about arguments that cannot be used at all:
// empty paths, an invalid block size, a directory source onto an existing
// non-directory.
var ErrUsage = errors.New("localsync: invalid arguments")

// Error is a failure tied to one path.
type Error struct {
	Op   string // what was being done, such as "open source" or "rename"
	Path string // the source or destination path involved
	Err  error  // the underlying error
}

// Error returns "localsync: OP PATH: ERR".
func (e *Error) Error() string { return "localsync: " + e.Op + " " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// newError wraps err for path, dropping the os wrapper types whose message
// would repeat the path; the system error itself stays in the chain.
func newError(op, path string, err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		err = e.Err
	case *os.LinkError:
		err = e.Err
	case *os.SyscallError:
		err = e.Err
	}
	return &Error{Op: op, Path: path, Err: err}
}
