package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeName makes a file name safe to print on a terminal, as rsync does: every byte of a
// control character (C0, DEL, C1, Unicode format characters such as the bidirectional
// overrides), of a non-graphic rune or of invalid UTF-8 becomes \#ooo, its value in octal. A
// backslash that would start such an escape is escaped too, so the output is unambiguous.
// Names come from the network and from other users' directories; printed raw, they could
// move the cursor, rewrite earlier lines or retitle the terminal.
func escapeName(s string) string { return escape(s, false) }

// escapeMessage is escapeName for a whole message, which may hold names anywhere in it;
// line breaks between joined errors are kept.
func escapeMessage(s string) string { return escape(s, true) }

func escape(s string, keepNewline bool) string {
	if !needsEscape(s, keepNewline) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && strings.HasPrefix(s[i+1:], "#"):
			b.WriteString(`\#134`)
		case unsafeRune(r, n, keepNewline):
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, `\#%03o`, c)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string, keepNewline bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n, keepNewline) || r == '\\' && strings.HasPrefix(s[i+1:], "#") {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune reports whether rune r, n bytes long in the input, must be escaped.
func unsafeRune(r rune, n int, keepNewline bool) bool {
	switch {
	case r == utf8.RuneError && n <= 1:
		return true // invalid UTF-8
	case r == ' ', r == '\n' && keepNewline:
		return false
	default:
		return !unicode.IsGraphic(r)
	}
}
