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

// BenchmarkUpdateOneFile measures Update for one rewritten file in shares of 10,000 and
// 100,000 files, 10 to a directory and every directory at the root (the widest directory
// object, paged): the cost is that of the change, so both sizes cost about the same (the
// setup of the larger takes a while: go test -run - -bench UpdateOneFile -benchtime 200x
// ./pkg/index). cpu-ns/op is the process's CPU time (the collector's included) per update.
func BenchmarkUpdateOneFile(b *testing.B) {
	for _, dirs := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("files=%d", 10*dirs), func(b *testing.B) {
			src, ix := bigShare(b, dirs)
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
		})
	}
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func bigShare(b *testing.B, dirs int) (string, *Index) {
	b.Helper()
	src := filepath.Join(b.TempDir(), "share")
	for d := range dirs {
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
