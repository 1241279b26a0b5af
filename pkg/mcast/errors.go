package mcast

import "errors"

// ErrNotSupported is returned by ListenRecv and NewSendConn on systems other than Linux.
var ErrNotSupported = errors.New("mcast: multicast sockets are only supported on Linux")
