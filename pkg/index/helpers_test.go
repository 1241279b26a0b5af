package index

import (
	"bytes"
	"io"

	"golang.org/x/sys/unix"
)

func bytesReader(b []byte) io.ReaderAt { return bytes.NewReader(b) }

func mkfifo(p string) error { return unix.Mkfifo(p, 0o644) }
