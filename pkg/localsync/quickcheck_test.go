package localsync

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSameMtime(t *testing.T) {
	base := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	before := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b time.Time
		want bool
	}{
		{"identical nanoseconds", base.Add(123456789), base.Add(123456789), true},
		{"one nanosecond apart", base.Add(123456789), base.Add(123456790), false},
		{"same second, both with nanoseconds", base.Add(100), base.Add(900), false},
		{"whole seconds on both sides", base, base, true},
		{"destination keeps whole seconds", base.Add(987654321), base, true},
		{"source keeps whole seconds", base, base.Add(987654321), true},
		{"whole second but the next second", base.Add(time.Second), base.Add(500), false},
		{"one second apart, whole seconds", base, base.Add(time.Second), false},
		{"before 1970, truncated", before.Add(-time.Second + 250), before.Add(-time.Second), true},
		{"before 1970, other second", before.Add(-time.Second + 250), before, false},
		{"time zones do not matter", base.Add(42), base.Add(42).In(time.FixedZone("x", 3600)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameMtime(tc.a, tc.b); got != tc.want {
				t.Errorf("sameMtime(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := sameMtime(tc.b, tc.a); got != tc.want {
				t.Errorf("sameMtime(%v, %v) = %v, want %v (swapped)", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

// TestQuickCheck syncs one file onto an existing destination set up with a
// given content, mode and mtime, and checks what was compared, opened, reported
// and written.
func TestQuickCheck(t *testing.T) {
	const size = 40000
	mtime := time.Date(2023, 3, 4, 5, 6, 7, 123456789, time.UTC)
	srcData := data(1, size)
	changed := bytes.Clone(srcData)
	changed[size/2] ^= 0xff
	tests := []struct {
		name     string
		dstData  []byte
		dstMtime time.Time
		dstMode  fs.FileMode // 0 means 0o644, the source's mode
		opt      Options

		action   string
		quick    bool
		compared int64 // Stats.ComparedBytes
		want     []byte
	}{
		{name: "same size and mtime skipped", dstData: srcData, dstMtime: mtime,
			action: ActionUnchanged, quick: true, compared: 0, want: srcData},
		{name: "destination with whole-second mtime skipped", dstData: srcData, dstMtime: mtime.Truncate(time.Second),
			action: ActionUnchanged, quick: true, compared: 0, want: srcData},
		{name: "same size, mtime one nanosecond off, compared", dstData: srcData, dstMtime: mtime.Add(1),
			action: ActionUnchanged, compared: 2 * size, want: srcData},
		{name: "same size, other second, compared", dstData: srcData, dstMtime: mtime.Add(-time.Second).Truncate(time.Second),
			action: ActionUnchanged, compared: 2 * size, want: srcData},
		{name: "same size, other mtime, changed content updated", dstData: changed, dstMtime: mtime.Add(time.Hour),
			action: ActionUpdate, compared: 2 * size, want: srcData},
		{name: "different size, same mtime, compared", dstData: srcData[:size-1], dstMtime: mtime,
			action: ActionUpdate, compared: 2*size - 1, want: srcData},
		{name: "checksum compares even when size and mtime match", dstData: srcData, dstMtime: mtime, opt: Options{Checksum: true},
			action: ActionUnchanged, compared: 2 * size, want: srcData},
		// The trade-off, as in rsync: content changed behind an
		// unchanged size and mtime goes unnoticed without Checksum.
		{name: "changed content with size and mtime forced equal kept", dstData: changed, dstMtime: mtime,
			action: ActionUnchanged, quick: true, compared: 0, want: changed},
		{name: "changed content with size and mtime forced equal updated with checksum", dstData: changed, dstMtime: mtime, opt: Options{Checksum: true},
			action: ActionUpdate, compared: 2 * size, want: srcData},
		{name: "inplace checksum updates too", dstData: changed, dstMtime: mtime, opt: Options{Checksum: true, Inplace: true},
			action: ActionUpdate, compared: 2 * size, want: srcData},
		{name: "dry run skipped", dstData: srcData, dstMtime: mtime, opt: Options{DryRun: true},
			action: ActionUnchanged, quick: true, compared: 0, want: srcData},
		{name: "dry run keeps forced-equal change", dstData: changed, dstMtime: mtime, opt: Options{DryRun: true},
			action: ActionUnchanged, quick: true, compared: 0, want: changed},
		{name: "dry run with checksum reports the update", dstData: changed, dstMtime: mtime, opt: Options{DryRun: true, Checksum: true},
			action: ActionUpdate, compared: 2 * size, want: changed},
		{name: "perms applied to a skipped file", dstData: srcData, dstMtime: mtime, dstMode: 0o600, opt: Options{Perms: true},
			action: ActionUnchanged, quick: true, compared: 0, want: srcData},
		{name: "times made exact on a skipped file", dstData: srcData, dstMtime: mtime.Truncate(time.Second), opt: Options{Times: true},
			action: ActionUnchanged, quick: true, compared: 0, want: srcData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			writeFile(t, src, srcData, 0o644)
			must(t, os.Chtimes(src, time.Time{}, mtime))
			dstMode := tc.dstMode
			if dstMode == 0 {
				dstMode = 0o644
			}
			writeFile(t, dst, tc.dstData, dstMode)
			must(t, os.Chtimes(dst, time.Time{}, tc.dstMtime))

			var opened []string
			opt := tc.opt
			opt.openedForRead = func(p string) { opened = append(opened, p) }
			st, res := syncT(t, src, dst, opt)
			r := res["dst"]
			if r.Action != tc.action || r.QuickChecked != tc.quick {
				t.Errorf("result %+v, want action %s, quick checked %v", r, tc.action, tc.quick)
			}
			if st.ComparedBytes != tc.compared {
				t.Errorf("compared %d bytes, want %d", st.ComparedBytes, tc.compared)
			}
			wantQuick := 0
			if tc.quick {
				wantQuick = 1
				if len(opened) != 0 || st.BytesRead != 0 || st.BytesWritten != 0 {
					t.Errorf("quick-checked file was read: opened %q, stats %+v", opened, st)
				}
				if r.Blocks != 3 || st.Blocks != 3 {
					t.Errorf("blocks %d (stats %d), want 3", r.Blocks, st.Blocks)
				}
			}
			if st.QuickChecked != wantQuick || st.Files != 1 {
				t.Errorf("stats %+v, want %d quick checked of 1 file", st, wantQuick)
			}
			if (tc.action == ActionUnchanged) != (st.Unchanged == 1) {
				t.Errorf("stats %+v for action %s", st, tc.action)
			}
			if !bytes.Equal(readFile(t, dst), tc.want) {
				t.Error("destination content is not the expected one")
			}
			fi, err := os.Stat(dst)
			must(t, err)
			wantMode, wantMtime := dstMode, tc.dstMtime
			if opt.Perms && !opt.DryRun {
				wantMode = 0o644
			}
			if opt.Times && !opt.DryRun {
				wantMtime = mtime
			}
			if tc.action == ActionUnchanged || opt.DryRun {
				if fi.Mode().Perm() != wantMode || !fi.ModTime().Equal(wantMtime) {
					t.Errorf("destination mode %v, mtime %v; want %v, %v", fi.Mode(), fi.ModTime(), wantMode, wantMtime)
				}
			}
			noTemps(t, dir)
		})
	}
}

// TestQuickCheckSecondSyncReadsNothing syncs a tree with Times (and Perms),
// then again: the second sync must not open or read any file. Without Times
// the destination files carry the time of writing, so a second sync compares
// them again, as rsync does.
func TestQuickCheckSecondSyncReadsNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opt       Options
		wantQuick bool
	}{
		{"times", Options{Times: true}, true},
		{"archive", Options{Times: true, Perms: true}, true},
		{"inplace archive", Options{Times: true, Perms: true, Inplace: true}, true},
		{"without times", Options{Perms: true}, false},
		{"times with checksum", Options{Times: true, Checksum: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			makeTree(t, src)
			syncT(t, src+"/", dst, tc.opt)

			var opened []string
			opt := tc.opt
			opt.openedForRead = func(p string) { opened = append(opened, p) }
			st, res := syncT(t, src+"/", dst, opt)
			if st.Files != 5 || st.Unchanged != 5 || st.Created+st.Updated+st.Errors != 0 {
				t.Fatalf("second sync stats %+v", st)
			}
			if !tc.wantQuick {
				if st.QuickChecked != 0 || st.ComparedBytes == 0 || len(opened) == 0 {
					t.Fatalf("second sync skipped comparing: stats %+v, opened %q", st, opened)
				}
				return
			}
			if st.QuickChecked != 5 || st.ComparedBytes != 0 || st.BytesRead+st.BytesWritten+st.BytesCloned != 0 || len(opened) != 0 {
				t.Fatalf("second sync read files: stats %+v, opened %q", st, opened)
			}
			if !res["a/one.bin"].QuickChecked {
				t.Errorf("a/one.bin: %+v", res["a/one.bin"])
			}
			equalLists(t, "trees", contentListing(t, dst), withoutFIFO(contentListing(t, src)))
		})
	}
}
