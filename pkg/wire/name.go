package wire

import (
	"fmt"
	"strings"
)

// Name limits (PROTOCOL.md §2).
const (
	// MaxNameLen is the longest canonical name in bytes.
	MaxNameLen = 4096
	// MaxComponentLen is the longest component of a canonical name in bytes.
	MaxComponentLen = 255
)

// CheckName reports whether name is a canonical relative name (PROTOCOL.md §2): non-empty, at
// most MaxNameLen bytes, no NUL byte, '/'-separated components that are neither empty, "." nor
// ".." and at most MaxComponentLen bytes each; hence no leading or trailing '/'. The error
// says what is wrong. Names are bytes: CheckName does not require UTF-8.
func CheckName(name string) error {
	if problem := nameProblem(name); problem != "" {
		return fmt.Errorf("wire: name %s: %s", quote(name), problem)
	}
	return nil
}

// CheckShareName reports whether share is a valid share name: a canonical name of exactly one
// component (PROTOCOL.md §2).
func CheckShareName(share string) error {
	if problem := shareProblem(share); problem != "" {
		return fmt.Errorf("wire: share name %s: %s", quote(share), problem)
	}
	return nil
}

// nameProblem returns why name is not canonical, or "" if it is.
func nameProblem(name string) string {
	if name == "" {
		return "is empty"
	}
	if len(name) > MaxNameLen {
		return fmt.Sprintf("is longer than %d bytes", MaxNameLen)
	}
	if i := strings.IndexByte(name, 0); i >= 0 {
		return fmt.Sprintf("has a NUL byte at offset %d", i)
	}
	if name[0] == '/' {
		return "is absolute"
	}
	if name[len(name)-1] == '/' {
		return "ends with '/'"
	}
	for rest := name; rest != ""; {
		comp, tail, _ := strings.Cut(rest, "/")
		switch {
		case comp == "":
			return "has an empty component"
		case comp == "." || comp == "..":
			return fmt.Sprintf("has a %q component", comp)
		case len(comp) > MaxComponentLen:
			return fmt.Sprintf("has a component longer than %d bytes", MaxComponentLen)
		}
		rest = tail
	}
	return ""
}

// shareProblem returns why share is not a valid share name, or "" if it is.
func shareProblem(share string) string {
	if problem := nameProblem(share); problem != "" {
		return problem
	}
	if strings.IndexByte(share, '/') >= 0 {
		return "has more than one component"
	}
	return ""
}
