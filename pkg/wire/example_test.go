package wire_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/lcsync/lcsync/pkg/wire"
)

// fields prints b in hex, split at the given field lengths; the rest goes last.
func fields(b []byte, lens ...int) {
	var parts []string
	for _, n := range lens {
		parts = append(parts, hex.EncodeToString(b[:n]))
		b = b[n:]
	}
	if len(b) > 0 {
		parts = append(parts, hex.EncodeToString(b))
	}
	fmt.Println(strings.Join(parts, " "))
}

// A block packet carrying the 5 bytes "hello" at byte 1024 of block 5 below the node whose
// hash starts 01 02 … 08. Fields: header, label, block, offset, piece.
func ExampleAppendBlock() {
	b := wire.AppendBlock(nil, wire.BlockPacket{
		Label:  wire.Label{1, 2, 3, 4, 5, 6, 7, 8},
		Block:  5,
		Offset: 1024,
		Data:   []byte("hello"),
	})
	fields(b, 4, 8, 4, 4)
	// Output:
	// 6c630103 0102030405060708 00000005 00000400 68656c6c6f
}

func ExampleParseBlock() {
	dgram, _ := hex.DecodeString("6c630103010203040506070800000005000004006865")
	p, err := wire.ParseBlock(dgram)
	fmt.Println(p.Label, p.Block, p.Offset, string(p.Data), err)

	_, err = wire.ParseBlock(dgram[:12])
	fmt.Println(err, errors.Is(err, wire.ErrMalformed))
	// Output:
	// 0102030405060708 5 1024 he <nil>
	// wire: block packet: 12 bytes, need at least 21 true
}

// A tree packet carrying nodes (1, 2) and (1, 3) below the labelled node. Fields: header,
// label, level, reserved, index, then one hash per line.
func ExampleAppendTree() {
	hashes := make([]byte, 2*wire.HashLen)
	for i := range hashes {
		hashes[i] = byte(0x11 * (1 + i/wire.HashLen))
	}
	b := wire.AppendTree(nil, wire.TreePacket{
		Label:  wire.Label{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7},
		Level:  1,
		Index:  2,
		Hashes: hashes,
	})
	fields(b[:wire.TreeHeaderLen], 4, 8, 1, 3, 4)
	p, _ := wire.ParseTree(b)
	for i := range p.Count() {
		h := p.Hash(i)
		fmt.Println(hex.EncodeToString(h[:]))
	}
	// Output:
	// 6c630102 a0a1a2a3a4a5a6a7 01 000000 00000002
	// 1111111111111111111111111111111111111111111111111111111111111111
	// 2222222222222222222222222222222222222222222222222222222222222222
}

// A manifest for a share holding one directory entry (39 bytes), cut into chunks of at most
// 60 bytes. The id and blob were checked against Python's struct and hashlib.blake2s.
// Blob fields: magic, version, flags, page height, reserved, share name length and name,
// generation, entry count, then the entry: type, mode, mtime, name length and name.
// Chunk fields: header, manifest id, total, offset, data.
func ExampleManifestChunks() {
	m := &wire.Manifest{PageHeight: 4, Share: "s", Generation: 2, Entries: []wire.Entry{
		{Type: wire.EntryDir, Mode: 0o755, MTime: 1e18, Name: "s"},
	}}
	blob, err := m.MarshalBinary()
	if err != nil {
		fmt.Println(err)
		return
	}
	fields(blob, 4, 1, 1, 1, 1, 2, 1, 8, 4, 1, 4, 8, 2)
	chunks, _ := wire.ManifestChunks(blob, 60)
	for _, c := range chunks {
		fields(c, 4, 32, 4, 4)
	}
	// Output:
	// 4c434d46 01 00 04 00 0001 73 0000000000000002 00000001 02 000001ed 0de0b6b3a7640000 0001 73
	// 6c630101 8400f18fab74e5d4120ac41b3e020dd70d442725b9cc3eb3ee1d90733c2c3475 00000027 00000000 4c434d46010004000001730000000000
	// 6c630101 8400f18fab74e5d4120ac41b3e020dd70d442725b9cc3eb3ee1d90733c2c3475 00000027 00000010 0000020000000102000001ed0de0b6b3
	// 6c630101 8400f18fab74e5d4120ac41b3e020dd70d442725b9cc3eb3ee1d90733c2c3475 00000027 00000020 a7640000000173
}

// A receiver dispatches on the type and counts foreign or newer traffic instead of failing.
func ExamplePeekType() {
	for _, dgram := range [][]byte{
		{0x6c, 0x63, 1, 3, 0},
		{0x6c, 0x63, 2, 3},
		{0x47, 0x45, 0x54, 0x20},
		{0x6c, 0x63, 1, 9},
	} {
		t, err := wire.PeekType(dgram)
		switch {
		case errors.Is(err, wire.ErrNotOurs):
			fmt.Println("not ours")
		case errors.Is(err, wire.ErrVersion):
			fmt.Println("newer version")
		case errors.Is(err, wire.ErrType):
			fmt.Println("unknown type")
		case err != nil:
			fmt.Println("malformed")
		default:
			fmt.Println(t)
		}
	}
	// Output:
	// block
	// newer version
	// not ours
	// unknown type
}

func ExampleMaxDatagram() {
	n, _ := wire.MaxDatagram(wire.DefaultMTU)
	fmt.Println(n, wire.BlockPayload(n), wire.TreeHashes(n), wire.ManifestChunkPayload(n))
	_, err := wire.MaxDatagram(1200)
	fmt.Println(err)
	// Output:
	// 1452 1432 44 1408
	// wire: mtu 1200 out of range [1280, 65535]
}

// Entries are sorted in byte order, so "a.txt" sorts between "a" and "a/b"; Under still selects
// a subtree exactly.
func ExampleManifest_Under() {
	m := &wire.Manifest{PageHeight: 1, Share: "s", Entries: []wire.Entry{
		{Type: wire.EntryDir, Name: "s/a/b"},
		{Type: wire.EntryDir, Name: "s/a"},
		{Type: wire.EntrySymlink, Name: "s/a.txt", Target: "a/b"},
	}}
	m.SortEntries()
	if err := m.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range m.Under("s/a") {
		fmt.Println(e.Type, e.Name)
	}
	// Output:
	// directory s/a
	// directory s/a/b
}

func ExampleCheckName() {
	for _, name := range []string{"share/a/b.txt", "share/../etc/passwd", "/etc/passwd", "share/"} {
		fmt.Println(wire.CheckName(name))
	}
	// Output:
	// <nil>
	// wire: name "share/../etc/passwd": has a ".." component
	// wire: name "/etc/passwd": is absolute
	// wire: name "share/": ends with '/'
}
