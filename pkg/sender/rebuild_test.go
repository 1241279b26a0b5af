package sender

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/lcsync/lcsync/pkg/index"
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

// TestRebuildFailureKeepsOldState: a re-index whose manifest cannot be built (here a share
// left without an entry of its own) leaves the sender serving the old manifest with the old
// group table and generation, and logs an error; the next good re-index is installed.
func TestRebuildFailureKeepsOldState(t *testing.T) {
	s := gatherSender(t, 64<<10)
	rec := &logRecorder{}
	s.cfg.Logger = slog.New(rec)
	tab, manifest, gen, ix := s.tab, s.manifest, s.gen, s.ix

	broken := index.Index{Share: ix.Share, Source: ix.Source, Files: ix.Files, BlockSize: ix.BlockSize} // no entry of its own
	s.applyRefresh(refreshResult{ix: &broken, changed: true})
	if s.tab != tab || &s.manifest[0] != &manifest[0] || s.gen != gen || s.ix != ix {
		t.Fatalf("a manifest that cannot be built changed the state: table %v, manifest %v, generation %v, index %v",
			s.tab != tab, &s.manifest[0] != &manifest[0], s.gen != gen, s.ix != ix)
	}
	if st := s.Stats(); st.Generation != gen {
		t.Errorf("Stats.Generation %d, want %d", st.Generation, gen)
	}
	if len(rec.msgs[slog.LevelError]) != 1 {
		t.Errorf("errors logged: %q", rec.msgs[slog.LevelError])
	}

	again := *ix
	s.applyRefresh(refreshResult{ix: &again, changed: true})
	if s.gen != gen+1 || s.tab == tab {
		t.Fatal("a good re-index was not installed")
	}
}
