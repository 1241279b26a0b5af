package wire

import (
	"errors"
	"strings"
	"testing"
)

// checkErr fails t unless err matches want: nil for success, or a "wire: " error that wraps
// want. If msg is not empty the error text must contain it.
func checkErr(t *testing.T, err, want error, msg string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one wrapping %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q does not wrap %v", err, want)
	}
	if !strings.HasPrefix(err.Error(), "wire: ") {
		t.Errorf("error %q lacks the wire: prefix", err)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not mention %q", err, msg)
	}
}

// edit returns a copy of b with f applied, so table cases can be written as small changes to a
// good packet.
func edit(b []byte, f func(b []byte) []byte) []byte {
	return f(append([]byte(nil), b...))
}

// put returns an edit that overwrites b at off with v.
func put(off int, v ...byte) func([]byte) []byte {
	return func(b []byte) []byte {
		copy(b[off:], v)
		return b
	}
}
