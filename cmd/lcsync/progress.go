package main

import (
	"fmt"
	"strings"

	"github.com/lcsync/lcsync/pkg/receiver"
)

// progressBar draws a one-line progress bar on stderr.
type progressBar struct {
	e     *env
	on    bool
	drawn bool
}

// newProgressBar shows a bar when stderr is a terminal (or --progress), unless -q.
func newProgressBar(e *env) *progressBar {
	on := e.o.progress || isTerminal(e.stderr)
	return &progressBar{e: e, on: on && !e.o.quiet}
}

func (b *progressBar) update(p receiver.Progress) {
	if !b.on {
		return
	}
	const width = 30
	frac := 0.0
	if p.Bytes > 0 {
		frac = float64(p.BytesDone) / float64(p.Bytes)
	}
	fill := int(frac * width)
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.BytesDone) / s
	}
	fmt.Fprintf(b.e.stderr, "\r%-8s [%s%s] %3.0f%% %s / %s  %s/s  files %d/%d ", p.Phase,
		strings.Repeat("#", fill), strings.Repeat(" ", width-fill), frac*100,
		humanBytes(float64(p.BytesDone)), humanBytes(float64(p.Bytes)), humanBytes(rate), p.FilesDone, p.Files)
	b.drawn = true
}

// clear erases the bar so a line can be printed.
func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.e.stderr, "\r\033[K")
	}
}

// done ends the bar's line.
func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.e.stderr)
		b.drawn = false
	}
}
