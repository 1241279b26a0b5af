package receiver

import (
	"fmt"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// manifestAssembler turns manifest chunks into a checked manifest (PROTOCOL.md §4). It is
// fed by the reader and guarded by mu; the controller reads refusedErr for its timeout error.
type manifestAssembler struct {
	share      string
	partial    map[[32]byte]*assembly
	refused    map[[32]byte]bool // manifest ids that did not validate
	refusedErr error             // why the last one was refused
	scratch    []span
}

// assembly collects the chunks of one manifest blob.
type assembly struct {
	buf     []byte
	cov     coverage
	touched time.Time
}

// maxAssemblies bounds the manifests assembled at once (a hostile host could send many ids).
const maxAssemblies = 4

// chunkResult says what a chunk did.
type chunkResult int

const (
	chunkStored    chunkResult = iota // kept; the manifest is not complete yet
	chunkDuplicate                    // brought nothing new
	chunkMalformed                    // disagrees with the other chunks of its manifest
	chunkRefused                      // its manifest did not validate, now or earlier
	chunkComplete                     // completed a valid manifest
)

func newManifestAssembler(share string) manifestAssembler {
	return manifestAssembler{share: share, partial: map[[32]byte]*assembly{}, refused: map[[32]byte]bool{}}
}

// add stores a chunk and returns the manifest once one is complete and valid.
func (a *manifestAssembler) add(c wire.ManifestChunk, now time.Time) (*wire.Manifest, chunkResult) {
	if a.refused[c.ID] {
		return nil, chunkRefused
	}
	as := a.partial[c.ID]
	if as == nil {
		if len(a.partial) >= maxAssemblies {
			a.evict()
		}
		as = &assembly{buf: make([]byte, c.Total)}
		a.partial[c.ID] = as
	}
	if int(c.Total) != len(as.buf) {
		return nil, chunkMalformed
	}
	as.touched = now
	lo, hi := int(c.Offset), int(c.Offset)+len(c.Data)
	a.scratch = as.cov.gaps(a.scratch[:0], lo, hi)
	if len(a.scratch) == 0 {
		return nil, chunkDuplicate
	}
	for _, g := range a.scratch {
		copy(as.buf[g.lo:g.hi], c.Data[g.lo-lo:g.hi-lo])
	}
	as.cov.add(lo, hi)
	if !as.cov.full(len(as.buf)) {
		return nil, chunkStored
	}
	delete(a.partial, c.ID)
	if wire.ManifestID(as.buf) != c.ID {
		return nil, chunkRefused // damaged in transit: assembled again from later chunks
	}
	m, err := wire.UnmarshalManifest(as.buf)
	if err == nil && m.Share != a.share {
		err = fmt.Errorf("it is for share %q", m.Share)
	}
	if err != nil {
		// Remember it, so the same bad manifest is not assembled again and again, and so
		// the final error can say why nothing was accepted. It is not progress.
		a.refused[c.ID] = true
		a.refusedErr = err
		return nil, chunkRefused
	}
	return m, chunkComplete
}

func (a *manifestAssembler) evict() {
	var oldest [32]byte
	var at time.Time
	for id, as := range a.partial {
		if at.IsZero() || as.touched.Before(at) {
			oldest, at = id, as.touched
		}
	}
	delete(a.partial, oldest)
}
