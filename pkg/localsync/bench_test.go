package localsync

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var benchSizeMiB = flag.Int("localsync.benchsize", 64, "file size in MiB for BenchmarkSync (512 for the full-size run)")

// BenchmarkSync syncs a file onto a copy of it in which 1% of the blocks
// differ (spread evenly), in both write modes. MB/s is over the file size;
// the byte counters are per sync. Checksum is set so the files are always
// read and compared, whatever their times.
func BenchmarkSync(b *testing.B) {
	size := *benchSizeMiB << 20
	const bs = 16 << 10
	dir := b.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	content := data(40, size)
	if err := os.WriteFile(src, content, 0o644); err != nil {
		b.Fatal(err)
	}
	old := make([]byte, size)
	copy(old, content)
	changed := 0
	for i := 0; i < size/bs; i += 100 {
		old[i*bs]++
		changed++
	}
	for _, mode := range []struct {
		name    string
		inplace bool
	}{{"temp", false}, {"inplace", true}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			var st Stats
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := os.WriteFile(dst, old, 0o644); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var err error
				st, err = Sync(context.Background(), src, dst, Options{BlockSize: bs, Inplace: mode.inplace, Checksum: true})
				if err != nil {
					b.Fatal(err)
				}
				if st.ChangedBlocks != int64(changed) {
					b.Fatalf("%d blocks changed, want %d", st.ChangedBlocks, changed)
				}
			}
			b.ReportMetric(float64(st.BytesRead), "read-B/op")
			b.ReportMetric(float64(st.BytesWritten), "written-B/op")
			b.ReportMetric(float64(st.BytesCloned), "cloned-B/op")
		})
	}
}
