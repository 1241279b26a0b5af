package main

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
)

// Exit codes, documented in lcsync.1 (EXIT STATUS).
const (
	exitOK          = 0   // success
	exitError       = 1   // any other failure
	exitUsage       = 2   // bad command line
	exitIO          = 3   // local file system error (missing source, unwritable destination, disk full)
	exitVerify      = 4   // received or local data failed verification
	exitNetwork     = 5   // network failure or timeout (nothing heard, idle too long)
	exitPrivilege   = 6   // missing privilege (raw socket for MLD)
	exitTrust       = 7   // only untrusted, forged, expired or older signed manifests heard
	exitDoctor      = 8   // --doctor found a problem that blocks lcsync
	exitInterrupted = 130 // SIGINT or SIGTERM (and SIGHUP for a fetch or a local sync)
)

// usageError marks a command-line mistake.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(msg string) error { return usageError{msg} }

// classified lets a mode attach an exit code to an error without the libraries knowing about
// exit codes.
type classified struct {
	code int
	err  error
}

func (c classified) Error() string { return c.err.Error() }
func (c classified) Unwrap() error { return c.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return classified{code, err}
}

// exitCode maps an error to the documented exit status.
func exitCode(ctx context.Context, err error) int {
	var u usageError
	var c classified
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &c):
		return c.code
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrExist),
		errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EIO):
		return exitIO
	default:
		return exitError
	}
}
