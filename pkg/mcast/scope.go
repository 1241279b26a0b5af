package mcast

import (
	"fmt"
	"strings"
)

// Scope is the 4-bit scope field of an IPv6 multicast address (RFC 4291 §2.7, RFC 7346).
type Scope uint8

// Scopes selectable with --scope.
const (
	// ScopeLink is link-local scope (2): the group never leaves the link.
	ScopeLink Scope = 0x2
	// ScopeSite is site-local scope (5), the lcsync default.
	ScopeSite Scope = 0x5
	// ScopeOrg is organization-local scope (8).
	ScopeOrg Scope = 0x8
	// ScopeGlobal is global scope (e).
	ScopeGlobal Scope = 0xe
)

// DefaultScope is the scope used when none is configured.
const DefaultScope = ScopeSite

// ParseScope parses a scope name ("link", "site", "org", "global") or a single hex digit from
// 1 to e (for example "5" or "E"). Digits 0 and f are reserved by RFC 4291 and refused.
func ParseScope(s string) (Scope, error) {
	l := strings.ToLower(s)
	switch l {
	case "link":
		return ScopeLink, nil
	case "site":
		return ScopeSite, nil
	case "org":
		return ScopeOrg, nil
	case "global":
		return ScopeGlobal, nil
	}
	if len(l) == 1 {
		var v Scope
		switch c := l[0]; {
		case c >= '0' && c <= '9':
			v = Scope(c - '0')
		case c >= 'a' && c <= 'f':
			v = Scope(c-'a') + 10
		default:
			return 0, fmt.Errorf("mcast: scope %q: want link, site, org, global or a hex digit 1-e", s)
		}
		if !v.Valid() {
			return 0, fmt.Errorf("mcast: scope %q is reserved (RFC 4291): want 1-e", s)
		}
		return v, nil
	}
	return 0, fmt.Errorf("mcast: scope %q: want link, site, org, global or a hex digit 1-e", s)
}

// Valid reports whether s is a usable scope: 1 to e (0 and f are reserved).
func (s Scope) Valid() bool { return s >= 0x1 && s <= 0xe }

// String returns the scope's name ("link", "site", "org", "global"), or its hex digit for the
// other scopes.
func (s Scope) String() string {
	switch s {
	case ScopeLink:
		return "link"
	case ScopeSite:
		return "site"
	case ScopeOrg:
		return "org"
	case ScopeGlobal:
		return "global"
	}
	if s <= 0xf {
		return fmt.Sprintf("%x", uint8(s))
	}
	return fmt.Sprintf("Scope(%d)", uint8(s))
}
