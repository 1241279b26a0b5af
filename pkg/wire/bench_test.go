package wire

import (
	"fmt"
	"testing"
)

// TestParseAllocs pins the zero-allocation promise of the hot-path parsers and appenders.
func TestParseAllocs(t *testing.T) {
	block, tree, chunk := goodBlock(), goodTree(), goodChunk()
	buf := make([]byte, 0, DefaultMaxDatagram)
	piece := make([]byte, BlockPayload(DefaultMaxDatagram))
	oneHash := hashes(1)
	cases := []struct {
		name string
		f    func()
	}{
		{"ParseBlock", func() { _, _ = ParseBlock(block) }},
		{"ParseTree", func() { _, _ = ParseTree(tree) }},
		{"ParseManifestChunk", func() { _, _ = ParseManifestChunk(chunk) }},
		{"PeekType", func() { _, _ = PeekType(block) }},
		{"AppendBlock into capacity", func() { buf = AppendBlock(buf[:0], BlockPacket{Data: piece}) }},
		{"AppendTree into capacity", func() { buf = AppendTree(buf[:0], TreePacket{Hashes: oneHash}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.f); n != 0 {
				t.Errorf("%s allocates %v times per call, want 0", tc.name, n)
			}
		})
	}
}

func BenchmarkAppendBlock(b *testing.B) {
	piece := make([]byte, BlockPayload(DefaultMaxDatagram))
	buf := make([]byte, 0, DefaultMaxDatagram)
	p := BlockPacket{Label: testLabel, Block: 12345, Offset: 4096, Data: piece}
	b.SetBytes(int64(len(piece)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBlock(buf[:0], p)
	}
}

func BenchmarkParseBlock(b *testing.B) {
	dgram := AppendBlock(nil, BlockPacket{Label: testLabel, Block: 12345, Offset: 4096, Data: make([]byte, BlockPayload(DefaultMaxDatagram))})
	b.SetBytes(int64(len(dgram)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBlock(dgram); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTree(b *testing.B) {
	dgram := AppendTree(nil, TreePacket{Label: testLabel, Hashes: hashes(TreeHashes(DefaultMaxDatagram))})
	b.SetBytes(int64(len(dgram)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTree(dgram); err != nil {
			b.Fatal(err)
		}
	}
}

// benchManifest returns a manifest of n files spread over directories of 100.
func benchManifest(n int) *Manifest {
	m := &Manifest{PageHeight: 4, Share: "share", Entries: []Entry{{Type: EntryDir, Mode: 0o755, Name: "share"}}}
	for d := range (n + 99) / 100 {
		dir := fmt.Sprintf("share/dir%04d", d)
		m.Entries = append(m.Entries, Entry{Type: EntryDir, Mode: 0o755, Name: dir})
		for f := range min(100, n-d*100) {
			m.Entries = append(m.Entries, Entry{Type: EntryFile, Mode: 0o644, MTime: 1.7e18,
				Name: fmt.Sprintf("%s/file-%04d.dat", dir, f), Size: 1 << 20, BlockShift: 14, Top: someTop})
		}
	}
	m.SortEntries()
	return m
}

func BenchmarkMarshalManifest(b *testing.B) {
	m := benchManifest(10000)
	blob, err := m.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalManifest(b *testing.B) {
	blob, err := benchManifest(10000).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalManifest(blob); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalManifestDeepNames decodes a hostile-shaped manifest: as many entries as
// fit 1 MiB, each a 4096-byte name of 2048 components, alternating symlinks and directories,
// so the below-a-symlink check has the most ancestors to consider.
func BenchmarkUnmarshalManifestDeepNames(b *testing.B) {
	m := &Manifest{PageHeight: 1, Share: "s"}
	for i := 0; len(m.Entries)*(4096+20) < 1<<20; i++ {
		name := fmt.Sprintf("s/%06d", i)
		for len(name) < MaxNameLen-1 {
			name += "/d"
		}
		e := Entry{Type: EntryDir, Name: name}
		if i%2 == 1 {
			e = Entry{Type: EntrySymlink, Name: name, Target: "t"}
		}
		m.Entries = append(m.Entries, e)
	}
	blob, err := m.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalManifest(blob); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkManifestChunks(b *testing.B) {
	blob, err := benchManifest(10000).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ManifestChunks(blob, DefaultMaxDatagram); err != nil {
			b.Fatal(err)
		}
	}
}
