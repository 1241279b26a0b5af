package mcast

import "errors"

// ErrNotSupported is returned by ListenRecv and NewSendConn on systems other than Linux.
var ErrNotSupported = errors.New("mcast: multicast sockets are only supported on Linux")

// ErrInterfaceGone is wrapped by the errors of sends on an interface the sender does not (or
// no longer) send on: one RemoveIface took out, or one it never had.
var ErrInterfaceGone = errors.New("mcast: interface not in use")
