package mld

import "errors"

// ErrPrivilege is wrapped by the error Listen returns when the process may not open a raw
// ICMPv6 socket (it lacks CAP_NET_RAW).
var ErrPrivilege = errors.New("mld: raw ICMPv6 socket needs CAP_NET_RAW")

// ErrNotSupported is wrapped by the error Listen returns on systems without the raw-socket
// support the listener needs (everything but Linux).
var ErrNotSupported = errors.New("mld: raw MLD listening is not supported on this system")

// privilegeHint tells the user how to get past ErrPrivilege.
const privilegeHint = "run as root, or `setcap cap_net_raw+ep` on the binary, or serve in carousel mode (--carousel)"
