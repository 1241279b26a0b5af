package receiver

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// objectFetch collects the tree objects of a version 2 manifest (PROTOCOL.md §5.1): a walk
// says which it lacks (wanted), their chunks are assembled, and an object is kept once its
// bytes hash to its id and decode. Chunks of objects nobody wants are dropped, so a host
// sending objects of its own costs nothing; the bytes being assembled are bounded. Chunks are
// assembled apart by source address, as manifest chunks are (review M2): a host that forges
// chunks of a wanted object ahead of the server spoils only its own assembly.
type objectFetch struct {
	have  map[[wire.HashLen]byte]*wire.Object
	want  map[[wire.HashLen]byte]map[netip.Addr]*assembly // nil until the object's first chunk
	bytes int                                             // held by the assemblies
	err   error                                           // an object that hashed to its id but does not decode
}

// maxObjectSources bounds the assemblies of one object (one per source address); past it the
// one that has received the least goes.
const maxObjectSources = 4

func newObjectFetch() objectFetch {
	return objectFetch{have: map[[wire.HashLen]byte]*wire.Object{}, want: map[[wire.HashLen]byte]map[netip.Addr]*assembly{}}
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

// add stores a chunk of a wanted object from src; chunkComplete says an object was completed.
func (f *objectFetch) add(c wire.ManifestChunk, src netip.Addr, now time.Time) chunkResult {
	srcs, ok := f.want[c.ID]
	if !ok {
		return chunkRefused
	}
	if srcs == nil {
		srcs = map[netip.Addr]*assembly{}
		f.want[c.ID] = srcs
	}
	as := srcs[src]
	if as == nil {
		if len(srcs) >= maxObjectSources {
			f.evict(srcs)
		}
		as = &assembly{total: int(c.Total), chunks: map[int][]byte{}}
		srcs[src] = as
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
	delete(srcs, src)
	if wire.ObjectID(blob) != c.ID {
		return chunkRefused // damaged in transit or forged: this source assembles it again
	}
	for _, other := range srcs {
		f.bytes -= other.bytes
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

// evict drops, of one object's assemblies, the one that has received the least, the oldest of
// those (forged chunks from fresh sources make one-chunk assemblies, which go first).
func (f *objectFetch) evict(srcs map[netip.Addr]*assembly) {
	var victim netip.Addr
	var least *assembly
	for src, as := range srcs {
		if least == nil || as.bytes < least.bytes || as.bytes == least.bytes && as.touched.Before(least.touched) {
			victim, least = src, as
		}
	}
	if least != nil {
		f.bytes -= least.bytes
		delete(srcs, victim)
	}
}
