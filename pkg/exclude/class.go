package exclude

import (
	"errors"
	"strings"
)

// errClass reports a character class without its closing bracket or with an unknown
// [:name:], which rsync silently never matches and lcsync refuses.
var errClass = errors.New("unterminated or malformed character class")

// matchClass matches the bracket expression at the start of p (p[0] == '[') against c. It
// returns the expression's length and whether c is in the class.
func matchClass(p string, c byte) (n int, ok bool, err error) {
	i := 1
	negate := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		negate = true
		i++
	}
	var prev byte
	havePrev := false
	in := false
	first := true
	for {
		if i >= len(p) {
			return 0, false, errClass
		}
		ch := p[i]
		if ch == ']' && !first {
			break
		}
		first = false
		switch {
		case ch == '\\':
			i++
			if i >= len(p) {
				return 0, false, errClass
			}
			ch = p[i]
			if c == ch {
				in = true
			}
			prev, havePrev = ch, true
		case ch == '-' && havePrev && i+1 < len(p) && p[i+1] != ']':
			i++
			hi := p[i]
			if hi == '\\' {
				i++
				if i >= len(p) {
					return 0, false, errClass
				}
				hi = p[i]
			}
			if c >= prev && c <= hi {
				in = true
			}
			havePrev = false
		case ch == '[' && i+1 < len(p) && p[i+1] == ':':
			end := strings.Index(p[i+2:], ":]")
			if end < 0 {
				return 0, false, errClass
			}
			name := p[i+2 : i+2+end]
			is, known := posixClass(name, c)
			if !known {
				return 0, false, errClass
			}
			if is {
				in = true
			}
			i += 2 + end + 1 // at the closing ']' of [:name:]
			havePrev = false
		default:
			if c == ch {
				in = true
			}
			prev, havePrev = ch, true
		}
		i++
	}
	return i + 1, in != negate, nil
}

// posixClass reports whether c is in the named POSIX class, and whether the name is known.
func posixClass(name string, c byte) (in, known bool) {
	lower := c >= 'a' && c <= 'z'
	upper := c >= 'A' && c <= 'Z'
	digit := c >= '0' && c <= '9'
	switch name {
	case "alnum":
		return lower || upper || digit, true
	case "alpha":
		return lower || upper, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 0x20 || c == 0x7f, true
	case "digit":
		return digit, true
	case "graph":
		return c > 0x20 && c < 0x7f, true
	case "lower":
		return lower, true
	case "print":
		return c >= 0x20 && c < 0x7f, true
	case "punct":
		return c > 0x20 && c < 0x7f && !lower && !upper && !digit, true
	case "space":
		return c == ' ' || (c >= '\t' && c <= '\r'), true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}

// checkPattern reports a pattern that could never match as written: a class without its
// closing bracket, an unknown [:name:] or a trailing backslash.
func checkPattern(p string) error {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
			if i >= len(p) {
				return errors.New("trailing backslash")
			}
		case '[':
			n, _, err := matchClass(p[i:], 'a')
			if err != nil {
				return err
			}
			i += n - 1
		}
	}
	return nil
}
