package receiver

import (
	"fmt"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// objectFetch collects the tree objects of a version 2 manifest (PROTOCOL.md §5.1): a walk
// says which it lacks (wanted), their chunks are assembled, and an object is kept once its
// bytes hash to its id and decode. Chunks of objects nobody wants are dropped, so a host
// sending objects of its own costs nothing; the bytes being assembled are bounded.
type objectFetch struct {
	have  map[[wire.HashLen]byte]*wire.Object
	want  map[[wire.HashLen]byte]*assembly // nil until the object's first chunk
	bytes int                              // held by the assemblies
	err   error                            // an object that hashed to its id but does not decode
}

func newObjectFetch() objectFetch {
	return objectFetch{have: map[[wire.HashLen]byte]*wire.Object{}, want: map[[wire.HashLen]byte]*assembly{}}
}

// wanted adds ids to the objects wanted.
func (f *objectFetch) wanted(ids [][wire.HashLen]byte) {
	for _, id := range ids {
		if _, ok := f.want[id]; !ok && f.have[id] == nil {
			f.want[id] = nil
		}
	}
}

// drop forgets the objects wanted (a newer manifest replaces the walk).
func (f *objectFetch) drop() {
	clear(f.want)
	f.bytes = 0
}

// keep forgets the objects but those of ids (the ones the last complete walk used).
func (f *objectFetch) keep(ids [][wire.HashLen]byte) {
	used := make(map[[wire.HashLen]byte]*wire.Object, len(ids))
	for _, id := range ids {
		if o := f.have[id]; o != nil {
			used[id] = o
		}
	}
	f.have = used
}

// add stores a chunk of a wanted object; chunkComplete says an object was completed.
func (f *objectFetch) add(c wire.ManifestChunk, now time.Time) chunkResult {
	as, ok := f.want[c.ID]
	if !ok {
		return chunkRefused
	}
	if as == nil {
		as = &assembly{total: int(c.Total), chunks: map[int][]byte{}}
		f.want[c.ID] = as
	}
	off := int(c.Offset)
	if int(c.Total) != as.total || !as.fits(off, len(c.Data)) {
		return chunkMalformed
	}
	as.touched = now
	if _, dup := as.chunks[off]; dup {
		return chunkDuplicate
	}
	if f.bytes+len(c.Data) > maxAssemblyBytes {
		return chunkDuplicate // dropped: sent again when the channel is joined again
	}
	as.chunks[off] = append([]byte(nil), c.Data...)
	as.bytes += len(c.Data)
	f.bytes += len(c.Data)
	if as.bytes < as.total {
		return chunkStored
	}
	blob := as.blob()
	f.bytes -= as.bytes
	if wire.ObjectID(blob) != c.ID {
		f.want[c.ID] = nil // damaged in transit: assembled again from later chunks
		return chunkRefused
	}
	delete(f.want, c.ID)
	o, err := wire.UnmarshalObject(blob)
	if err != nil {
		f.err = fmt.Errorf("tree object %x: %w", c.ID[:8], err)
		return chunkRefused
	}
	f.have[c.ID] = o
	return chunkComplete
}
