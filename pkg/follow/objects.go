package follow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/lcsync/lcsync/pkg/wire"
)

// ObjectsName is the file in DST where the follower keeps the tree objects (PROTOCOL.md
// §5.1) of the generation it applied last, and that generation's manifest header: after a
// restart it walks the next generation from them, fetching only the directories that
// changed, and renames by content against what it applied (lcsync.1, FILES). Like StateName
// it is a kept temporary name. It is a cache: whatever it holds is checked when read (each
// object is hashed to its id, the header must walk to a complete manifest over them and be
// of the generation the state file records), and a file that fails is ignored.
const ObjectsName = ".lcsync-follow.lcsync-00000002"

// objectsTemp is where the objects are written before they are renamed over ObjectsName.
const objectsTemp = ".lcsync-follow.lcsync-00000003"

// objectsMagic and objectsVersion start the objects file:
//
//	"LCFO" | version u8 | 0 u8 0 u16 | header length u32 | header (a version 2 manifest)
//	| count u32 | count × (object length u32 | object)
const (
	objectsMagic   = "LCFO"
	objectsVersion = 1
)

// maxObjectsFile bounds the objects file, written and read: a share whose objects take more
// is walked afresh after a restart, as when there is no file.
const maxObjectsFile = 128 << 20

// objectsSaveDelay is how long after a generation is applied its tree objects are recorded,
// if no newer one came meanwhile (and at the latest when the follower stops): writing the file
// stays off the way of the generations that follow at once, and a burst of them writes it once.
const objectsSaveDelay = 2 * time.Second

// keptObjects is what the objects file holds.
type keptObjects struct {
	tree    *wire.TreeManifest
	objects map[[wire.HashLen]byte]*wire.Object
}

// saveObjects records tm and objs in root: written to a temporary name and renamed over
// ObjectsName, so that the file is the old one or the new one, whole (it is not synced: after
// a power loss a torn file fails the checks and is ignored). Objects that would make the file
// larger than maxObjectsFile are not recorded, and the old file is removed.
func saveObjects(root *os.Root, tm *wire.TreeManifest, objs map[[wire.HashLen]byte]*wire.Object) error {
	head, err := tm.MarshalBinary()
	if err != nil {
		return fmt.Errorf("follow: recording the tree objects: %w", err)
	}
	ids := slices.SortedFunc(maps.Keys(objs), func(a, b [wire.HashLen]byte) int { return bytes.Compare(a[:], b[:]) })
	b := append([]byte(objectsMagic), objectsVersion, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(head)))
	b = append(b, head...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		o, err := objs[id].MarshalBinary()
		if err != nil {
			return fmt.Errorf("follow: recording the tree objects: %w", err)
		}
		if len(b)+4+len(o) > maxObjectsFile {
			_ = root.Remove(ObjectsName)
			return fmt.Errorf("follow: the tree objects take more than %d MiB; not recorded", maxObjectsFile>>20)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(o)))
		b = append(b, o...)
	}
	if err := root.WriteFile(objectsTemp, b, 0o644); err != nil {
		_ = root.Remove(objectsTemp)
		return fmt.Errorf("follow: recording the tree objects: %w", err)
	}
	if err := root.Rename(objectsTemp, ObjectsName); err != nil {
		_ = root.Remove(objectsTemp)
		return fmt.Errorf("follow: recording the tree objects: %w", err)
	}
	return nil
}

// loadObjects reads the objects file in root. A missing file is no objects and no error;
// a file that is not a whole, valid one is an error (the caller goes on without it). Each
// object is hashed to the id it is kept by, so nothing in the file can stand for an object it
// is not.
func loadObjects(root *os.Root) (keptObjects, error) {
	f, err := root.Open(ObjectsName)
	if errors.Is(err, fs.ErrNotExist) {
		return keptObjects{}, nil
	}
	if err != nil {
		return keptObjects{}, fmt.Errorf("follow: reading %s: %w", ObjectsName, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxObjectsFile+1))
	if err != nil {
		return keptObjects{}, fmt.Errorf("follow: reading %s: %w", ObjectsName, err)
	}
	bad := func(why string) (keptObjects, error) {
		return keptObjects{}, fmt.Errorf("follow: %s is not a valid objects file: %s", ObjectsName, why)
	}
	if len(b) > maxObjectsFile {
		return bad("too large")
	}
	if len(b) < 12 || string(b[:4]) != objectsMagic || b[4] != objectsVersion || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return bad("bad header")
	}
	take := func(n int) ([]byte, bool) {
		if n < 0 || n > len(b) {
			return nil, false
		}
		p := b[:n]
		b = b[n:]
		return p, true
	}
	b = b[8:]
	n32 := func() (int, bool) {
		p, ok := take(4)
		if !ok {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(p)), true
	}
	hl, ok := n32()
	head, ok2 := take(hl)
	if !ok || !ok2 {
		return bad("truncated manifest header")
	}
	tm, err := wire.UnmarshalTreeManifest(head)
	if err != nil {
		return bad(err.Error())
	}
	count, ok := n32()
	if !ok || count > len(b)/(4+wire.ObjectHeaderLen) {
		return bad("bad object count")
	}
	k := keptObjects{tree: tm, objects: make(map[[wire.HashLen]byte]*wire.Object, count)}
	for range count {
		l, ok := n32()
		blob, ok2 := take(l)
		if !ok || !ok2 {
			return bad("truncated object")
		}
		o, err := wire.UnmarshalObject(blob)
		if err != nil {
			return bad(err.Error())
		}
		k.objects[wire.ObjectID(blob)] = o
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return k, nil
}

// applied returns the manifest k describes, walked to under as WatchManifests walks (prune:
// receiver.ObjectPrune), if it is generation gen and complete; else nil.
func (k keptObjects) applied(gen uint64, under string, prune func(string) bool) *wire.Manifest {
	if k.tree == nil || gen == 0 || k.tree.Generation != gen {
		return nil
	}
	m, _, err := k.tree.FlattenPruned(k.objects, under, prune)
	if err != nil {
		return nil
	}
	return m // nil when an object is missing
}
