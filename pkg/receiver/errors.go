package receiver

import "errors"

// Errors callers can branch on (errors.Is).
var (
	// ErrTimeout is wrapped when nothing useful arrived for IdleTimeout, or Timeout passed.
	ErrTimeout = errors.New("receiver: timed out")
	// ErrNotFound is wrapped when the requested name is not in the share's manifest.
	ErrNotFound = errors.New("receiver: not found")
	// ErrVerify is wrapped when assembled data fails its final verification.
	ErrVerify = errors.New("receiver: verification failed")
	// ErrChanged is wrapped when the share moved on to a generation that changes the requested
	// name while it was being fetched, and the fetch could not follow (no Config.Listen, or
	// it changed maxRestarts times).
	ErrChanged = errors.New("receiver: changed on the server during the fetch")
)
