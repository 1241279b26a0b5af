package receiver_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
)

func TestFetchManyReceiversWithLoss(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	writeFile(t, filepath.Join(src, "f"), randBytes(t, 500*1024+3))
	serve(t, n, src, false)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 30 * time.Millisecond) // late joiners
			dst := filepath.Join(t.TempDir(), "f")
			st := fetch(t, n.Conn(0.05), "share/f", dst, nil)
			sameFile(t, filepath.Join(src, "f"), dst)
			t.Logf("receiver %d: %+v", i, st)
		}()
	}
	wg.Wait()
}
