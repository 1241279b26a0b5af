package sender

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/lcsync/lcsync/pkg/index"
	"github.com/lcsync/lcsync/pkg/wire"
)

// logRecorder keeps the messages logged at each level.
type logRecorder struct {
	mu   sync.Mutex
	msgs map[slog.Level][]string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs = map[slog.Level][]string{}
	}
	r.msgs[rec.Level] = append(r.msgs[rec.Level], rec.Message)
	return nil
}

// withDirs returns a copy of ix with n more directory entries of about 3.8 KB of name each, after the others in name order.
func withDirs(ix *index.Index, n int) *index.Index {
	long := strings.Repeat(strings.Repeat("z", 250)+"/", 15)
	big := *ix
	big.Entries = append([]wire.Entry(nil), ix.Entries...)
	for i := range n {
		big.Entries = append(big.Entries, wire.Entry{Type: wire.EntryDir, Mode: 0o755,
			Name: fmt.Sprintf("%s/%s%06d", ix.Share, long, i)})
	}
	return &big
}

// TestRebuildOverLimitKeepsOldState: a re-index whose manifest exceeds wire.MaxManifestLen
// leaves the sender serving the old manifest with the old group table and generation, and
// logs an error; a manifest over half the limit is served, with a warning.
func TestRebuildOverLimitKeepsOldState(t *testing.T) {
	s := gatherSender(t, 64<<10)
	rec := &logRecorder{}
	s.cfg.Logger = slog.New(rec)
	tab, manifest, gen, ix := s.tab, s.manifest, s.gen, s.ix

	s.applyRefresh(refreshResult{ix: withDirs(ix, 18_000), changed: true}) // about 70 MB
	if s.tab != tab || &s.manifest[0] != &manifest[0] || s.gen != gen || s.ix != ix {
		t.Fatalf("a manifest over the limit changed the state: table %v, manifest %v, generation %v, index %v",
			s.tab != tab, &s.manifest[0] != &manifest[0], s.gen != gen, s.ix != ix)
	}
	if st := s.Stats(); st.Generation != gen {
		t.Errorf("Stats.Generation %d, want %d", st.Generation, gen)
	}
	if len(rec.msgs[slog.LevelError]) != 1 {
		t.Errorf("errors logged: %q", rec.msgs[slog.LevelError])
	}

	s.applyRefresh(refreshResult{ix: withDirs(ix, 9_000), changed: true}) // about 35 MB
	if s.gen != gen+1 || s.tab == tab {
		t.Fatal("a manifest under the limit was not installed")
	}
	if w := rec.msgs[slog.LevelWarn]; len(w) != 1 || !strings.Contains(w[0], "limit") {
		t.Errorf("warnings logged: %q, want one about the limit", w)
	}
}
