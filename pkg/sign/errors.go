package sign

import "errors"

// Errors callers can branch on (errors.Is).
var (
	// ErrKey is wrapped when a key file or key string is malformed, truncated, of the wrong
	// type, unreadable by the rules (a secret key others may read), or its password is wrong.
	ErrKey = errors.New("sign: bad key")
	// ErrUntrusted is wrapped when a receiver heard only manifests it must refuse: unsigned,
	// signed by an unknown key, badly signed, expired, issued in the future, older than one
	// already accepted, or equivocating.
	ErrUntrusted = errors.New("sign: no trusted manifest")
	// ErrEquivocation is wrapped (with ErrUntrusted) when a trusted key signed two different
	// manifests as the same generation of a share: a sign that the key is compromised.
	ErrEquivocation = errors.New("sign: equivocation")
)
