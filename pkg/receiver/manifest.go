package receiver

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// manifestAssembler turns manifest chunks into a checked manifest (PROTOCOL.md §4). It is
// fed by the reader and guarded by mu; the controller reads refusedErr for its timeout error.
type manifestAssembler struct {
	share      string
	partial    map[asmKey]*assembly
	refused    map[[32]byte]bool // manifest ids that did not validate
	refusedErr error             // why the last one was refused
	// limit bounds the bytes the assemblies hold together (0: maxAssemblyBytes); accepted is
	// the size of the last manifest that completed.
	limit, accepted int
}

// asmKey names an assembly: a manifest id as heard from one source address. Chunks carry no
// authentication of their own (only the whole blob is checked against its id), so chunks from
// different sources are assembled apart: a host that sends forged chunks with the genuine id
// ahead of the server cannot spoil the server's assembly (review M2).
type asmKey struct {
	id  [32]byte
	src netip.Addr
}

// assembly collects the chunks of one manifest blob. Chunks are kept as they come, so an
// assembly costs what was received, not what its first chunk claims the blob's size is
// (review H5). A sender cuts a blob into chunks of one size, the last maybe shorter
// (PROTOCOL.md §4.2), so chunks are kept by offset and must fit that grid: no overlaps to
// resolve, and no way for tiny chunks at odd offsets to make the bookkeeping expensive.
type assembly struct {
	total   int
	per     int // chunk size: 0 until a chunk other than the last has come
	chunks  map[int][]byte
	bytes   int // received, distinct
	touched time.Time
}

// fits reports whether a chunk of n bytes at off fits the assembly's grid, fixing the grid
// with the first chunk that is not the last; chunks kept before that which do not fit are
// dropped.
func (as *assembly) fits(off, n int) bool {
	last := off+n == as.total
	if as.per == 0 && !last {
		as.per = n
		for o, d := range as.chunks {
			if o%n != 0 || len(d) != n && o+len(d) != as.total {
				delete(as.chunks, o)
				as.bytes -= len(d)
			}
		}
	}
	if as.per == 0 {
		return true // a last chunk, before the grid is known
	}
	return off%as.per == 0 && (n == as.per || last && n < as.per)
}

// maxAssemblies bounds the manifests assembled at once (a hostile host could send many ids),
// and maxAssemblyBytes the bytes they hold together.
const (
	maxAssemblies    = 4
	maxAssemblyBytes = 80 << 20
)

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
	return manifestAssembler{share: share, partial: map[asmKey]*assembly{}, refused: map[[32]byte]bool{}}
}

// decoded is a manifest that assembled and decoded: a flat (version 1) one, or a version 2
// one whose objects are still to be fetched (tree set; flat then holds its header fields and
// no entries, for the Gate, which needs nothing else).
type decoded struct {
	flat *wire.Manifest
	tree *wire.TreeManifest
}

// decodeManifest decodes a blob of either manifest version.
func decodeManifest(blob []byte) (decoded, error) {
	v, err := wire.ManifestVersionOf(blob)
	if err != nil {
		return decoded{}, err
	}
	if v != wire.TreeManifestVersion {
		m, err := wire.UnmarshalManifest(blob)
		return decoded{flat: m}, err
	}
	tm, err := wire.UnmarshalTreeManifest(blob)
	if err != nil {
		return decoded{}, err
	}
	return decoded{tree: tm, flat: headerOf(tm)}, nil
}

// headerOf returns the fields of a version 2 manifest as a flat manifest without entries.
func headerOf(tm *wire.TreeManifest) *wire.Manifest {
	return &wire.Manifest{Carousel: tm.Carousel, PageHeight: tm.PageHeight, Publisher: tm.Publisher,
		Share: tm.Share(), Generation: tm.Generation}
}

// add stores a chunk from src and returns the manifest once one is complete and valid.
func (a *manifestAssembler) add(c wire.ManifestChunk, src netip.Addr, now time.Time) (decoded, chunkResult) {
	if a.refused[c.ID] {
		return decoded{}, chunkRefused
	}
	key := asmKey{c.ID, src}
	as := a.partial[key]
	if as == nil {
		if len(a.partial) >= maxAssemblies {
			a.evict(nil)
		}
		as = &assembly{total: int(c.Total), chunks: map[int][]byte{}}
		a.partial[key] = as
	}
	off := int(c.Offset)
	if int(c.Total) != as.total || !as.fits(off, len(c.Data)) {
		return decoded{}, chunkMalformed
	}
	as.touched = now
	if _, ok := as.chunks[off]; ok {
		return decoded{}, chunkDuplicate
	}
	limit := a.limit
	if limit <= 0 {
		limit = maxAssemblyBytes
	}
	for a.bytes()+len(c.Data) > limit && len(a.partial) > 1 {
		a.evict(as)
	}
	if as.bytes+len(c.Data) > limit {
		delete(a.partial, key) // larger than the bound alone
		return decoded{}, chunkMalformed
	}
	as.chunks[off] = append([]byte(nil), c.Data...)
	as.bytes += len(c.Data)
	if as.bytes < as.total {
		return decoded{}, chunkStored
	}
	delete(a.partial, key)
	blob := as.blob()
	if wire.ManifestID(blob) != c.ID {
		return decoded{}, chunkRefused // damaged in transit: assembled again from later chunks
	}
	m, err := decodeManifest(blob)
	if err == nil && m.flat.Share != a.share {
		err = fmt.Errorf("it is for share %q", m.flat.Share)
	}
	if err != nil {
		// Remember it, so the same bad manifest is not assembled again and again, and so
		// the final error can say why nothing was accepted. It is not progress.
		a.refused[c.ID] = true
		a.refusedErr = err
		return decoded{}, chunkRefused
	}
	a.accepted = as.total
	return m, chunkComplete
}

// forget marks manifest id as one not to assemble again, without making it the reason of a
// refusal; the set stays within maxStale.
func (a *manifestAssembler) forget(id [32]byte) {
	if len(a.refused) >= maxStale {
		clear(a.refused)
	}
	a.refused[id] = true
}

// blob returns the assembled bytes of a complete assembly.
func (as *assembly) blob() []byte {
	blob := make([]byte, as.total)
	for o, d := range as.chunks {
		copy(blob[o:], d)
	}
	return blob
}

// evict drops the assembly other than keep that has received the least, the oldest of
// those: a flood of chunks with fresh ids makes assemblies of one chunk each, which go first,
// while the genuine manifest's grows with every cycle.
func (a *manifestAssembler) evict(keep *assembly) {
	var victim asmKey
	var least *assembly
	for id, as := range a.partial {
		if as != keep && (least == nil || as.bytes < least.bytes || as.bytes == least.bytes && as.touched.Before(least.touched)) {
			victim, least = id, as
		}
	}
	delete(a.partial, victim)
}

// bytes returns the bytes all assemblies hold.
func (a *manifestAssembler) bytes() int {
	n := 0
	for _, as := range a.partial {
		n += as.bytes
	}
	return n
}
