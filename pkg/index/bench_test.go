package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lcsync/lcsync/pkg/watch"
)

// BenchmarkUpdateOneOf100k measures Update for one rewritten file in a share of 100,000 files
// in 10,000 directories (the setup takes a while: go test -run - -bench UpdateOneOf100k
// -benchtime 20x ./pkg/index). BenchmarkTreeOneOf100k measures the tree objects' part alone.
func BenchmarkUpdateOneOf100k(b *testing.B) {
	src, ix := bigShare(b)
	p := filepath.Join(src, "d0042", "f7")
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		if err := os.WriteFile(p, []byte(fmt.Sprint("changed ", i)), 0o644); err != nil {
			b.Fatal(err)
		}
		r, err := Update(context.Background(), ix, []watch.Change{{Rel: "d0042/f7"}}, Options{})
		if err != nil || !r.Changed {
			b.Fatal(err, r.Changed)
		}
		ix = r.Index
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkTreeOneOf100k(b *testing.B) {
	_, ix := bigShare(b)
	names := []string{ix.Share + "/d0042/f7", ix.Share + "/d0042"}
	cpu := cpuTime()
	for b.Loop() {
		if _, err := updateTree(ix.tree, ix.Share, ix.Entries, names, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

func bigShare(b *testing.B) (string, *Index) {
	b.Helper()
	src := filepath.Join(b.TempDir(), "share")
	for d := range 10000 {
		dir := filepath.Join(src, fmt.Sprintf("d%04d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 10 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint("f", f)), []byte(dir), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	ix, err := Build(context.Background(), src, Options{BlockSize: 1024})
	if err != nil {
		b.Fatal(err)
	}
	return src, ix
}
