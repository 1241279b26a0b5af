package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mask is what every directory watch asks for.
const mask = unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM |
	unix.IN_MOVED_TO | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR | unix.IN_EXCL_UNLINK

// rootRetry is how often a vanished root is looked for again.
const rootRetry = 2 * time.Second

// event is one parsed inotify event.
type event struct {
	wd   int32
	mask uint32
	name string
}

// inotify is the inotify backend: the descriptor, the watches and the debouncer, all owned by
// the goroutine in run (New fills them before run starts).
type inotify struct {
	w      *Watcher
	f      *os.File
	fd     int              // f's descriptor (f.Fd would make it blocking, and Close could not end a Read)
	byWd   map[int32]string // watch descriptor → directory, relative to the root ("" is the root)
	byPath map[string]int32
	rootWd int32
	d      *debouncer
	events chan []event // from the reader goroutine; tests inject events here
	add    func(fd int, path string, mask uint32) (int, error)
}

func newInotify(w *Watcher, addWatch func(int, string, uint32) (int, error)) (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.EMFILE) {
			return nil, &limitError{sysctl: "fs.inotify.max_user_instances", dirs: countDirs(w), err: err}
		}
		return nil, fmt.Errorf("watch: inotify_init1: %w", err)
	}
	in := &inotify{w: w, f: os.NewFile(uintptr(fd), "inotify"), fd: fd, byWd: map[int32]string{}, byPath: map[string]int32{},
		rootWd: -1, d: newDebouncer(w.cfg), events: make(chan []event, 16), add: addWatch}
	if err := in.addTree(""); err != nil {
		in.f.Close()
		return nil, err
	}
	return in, nil
}

// addTree watches directory rel and, after that, every directory below it that is not
// excluded. A directory that vanishes meanwhile is skipped; the watch limit is an error.
func (in *inotify) addTree(rel string) error {
	abs := in.abs(rel)
	flags := uint32(mask)
	if rel != "" {
		flags |= unix.IN_DONT_FOLLOW
	}
	wd, err := in.add(in.fd, abs, flags)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOSPC):
			return &limitError{sysctl: "fs.inotify.max_user_watches", dirs: countDirs(in.w), err: err}
		case rel == "":
			return fmt.Errorf("watch: %s: %w", abs, err)
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EACCES), errors.Is(err, unix.ELOOP):
			return nil // gone, replaced or unreadable: the indexer sees the same
		}
		return fmt.Errorf("watch: %s: %w", abs, err)
	}
	w32 := int32(wd)
	if old, ok := in.byPath[rel]; ok && old != w32 {
		delete(in.byWd, old)
	}
	in.byWd[w32], in.byPath[rel] = rel, w32
	if rel == "" {
		in.rootWd = w32
	}
	if in.w.file != "" {
		return nil // a single file: only its directory is watched
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil // the indexer reports unreadable directories
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := e.Name()
		if rel != "" {
			sub = rel + "/" + sub
		}
		if in.w.cfg.Exclude.Match(sub, true) {
			continue
		}
		if err := in.addTree(sub); err != nil {
			return err
		}
	}
	return nil
}

func (in *inotify) abs(rel string) string {
	if rel == "" {
		return in.w.abs
	}
	return filepath.Join(in.w.abs, filepath.FromSlash(rel))
}

// forgetTree removes the watches of rel and everything below it.
func (in *inotify) forgetTree(rel string) {
	for p, wd := range in.byPath {
		if p == rel || strings.HasPrefix(p, rel+"/") || rel == "" {
			_, _ = unix.InotifyRmWatch(in.fd, uint32(wd))
			delete(in.byPath, p)
			delete(in.byWd, wd)
		}
	}
}

// read parses events until the descriptor is closed; it is run's reader goroutine.
func (in *inotify) read(done chan<- error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := in.f.Read(buf)
		if err != nil {
			done <- err
			return
		}
		var evs []event
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			raw := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			end := off + unix.SizeofInotifyEvent + int(raw.Len)
			if end > n {
				break
			}
			name := string(buf[off+unix.SizeofInotifyEvent : end])
			if i := strings.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			evs = append(evs, event{wd: raw.Wd, mask: raw.Mask, name: name})
			off = end
		}
		in.events <- evs
	}
}

// run handles events until ctx ends. It returns a *limitError if a new directory could not
// be watched for the watch limit (the caller then polls).
func (in *inotify) run(ctx context.Context) error {
	readDone := make(chan error, 1)
	go in.read(readDone)
	defer func() {
		in.f.Close() // ends the reader
		for {
			select {
			case <-readDone:
				return
			case <-in.events:
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var retryRoot <-chan time.Time
	for {
		now := time.Now()
		send, next := in.d.tick(now)
		if send {
			b := in.d.take(now)
			in.w.pending.Store(in.d.pending())
			if b.Rescan && in.w.cfg.Logger != nil {
				in.w.cfg.Logger.Info("rescanning the share: events may have been lost")
			}
			if !in.w.send(ctx, b) {
				return nil
			}
			continue
		}
		in.w.pending.Store(in.d.pending())
		if !next.IsZero() {
			timer.Reset(max(next.Sub(now), time.Millisecond))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-readDone:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch: reading inotify events: %w", err)
		case evs := <-in.events:
			for _, ev := range evs {
				if err := in.handle(ev, time.Now()); err != nil {
					return err
				}
			}
			in.w.pending.Store(in.d.pending())
			if in.rootWd < 0 && retryRoot == nil {
				retryRoot = time.After(rootRetry)
			}
		case <-retryRoot:
			retryRoot = nil
			if _, err := os.Stat(in.w.abs); err == nil {
				in.forgetTree("")
				if err := in.addTree(""); err != nil {
					return err
				}
				in.d.needRescan()
			} else {
				retryRoot = time.After(rootRetry)
			}
		case <-timer.C:
		}
	}
}

// handle applies one event.
func (in *inotify) handle(ev event, now time.Time) error {
	if ev.mask&unix.IN_Q_OVERFLOW != 0 {
		in.w.setStats(func(s *Stats) { s.Overflows++ })
		if in.w.cfg.Logger != nil {
			in.w.cfg.Logger.Warn("inotify queue overflowed; rescanning the share")
		}
		// Directories made meanwhile have no watch yet: add what is missing.
		if err := in.addTree(""); err != nil {
			return err
		}
		in.d.needRescan()
		return nil
	}
	dir, ok := in.byWd[ev.wd]
	if ev.mask&unix.IN_IGNORED != 0 {
		if ok {
			delete(in.byWd, ev.wd)
			if in.byPath[dir] == ev.wd {
				delete(in.byPath, dir)
			}
			if ev.wd == in.rootWd {
				in.rootWd = -1
				in.d.needRescan()
			}
		}
		return nil
	}
	if !ok {
		return nil // a watch removed a moment ago
	}
	if ev.name == "" {
		// The directory itself.
		switch {
		case ev.mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0 && ev.wd == in.rootWd:
			// The share root moved or vanished (an unmount shows as this too).
			in.forgetTree("")
			in.rootWd = -1
			in.d.needRescan()
		case ev.mask&unix.IN_ATTRIB != 0 && in.w.file == "":
			in.d.note(dir, wMeta, now)
		}
		return nil
	}
	full := ev.name
	if dir != "" {
		full = dir + "/" + ev.name
	}
	rel, ours := in.w.rel(in.abs(full))
	if !ours {
		return nil
	}
	isDir := ev.mask&unix.IN_ISDIR != 0
	if in.w.cfg.Exclude.Match(rel, isDir) {
		return nil
	}
	switch {
	case isDir && ev.mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
		// Watch it (and what is already in it) first, then report it whole.
		if err := in.addTree(full); err != nil {
			return err
		}
		in.d.note(rel, wTree, now)
	case isDir && ev.mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		in.forgetTree(full)
		in.d.note(rel, wGone, now)
	case ev.mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
		in.d.note(rel, wGone, now)
	case ev.mask&unix.IN_MOVED_TO != 0:
		in.d.note(rel, wClosed, now) // a complete file renamed into place
	case ev.mask&unix.IN_CLOSE_WRITE != 0:
		in.d.note(rel, wClosed, now)
	case ev.mask&(unix.IN_CREATE|unix.IN_MODIFY) != 0:
		in.d.note(rel, wContent, now)
	case ev.mask&unix.IN_ATTRIB != 0:
		in.d.note(rel, wMeta, now)
	}
	return nil
}

// inotifyAddWatch is inotify_add_watch(2).
var inotifyAddWatch = unix.InotifyAddWatch

// errNoInotify is what newInotify returns where there is no inotify (never on Linux).
var errNoInotify = errors.New("watch: inotify is not supported on this system")

// queued reports whether the kernel holds events the watcher has not read yet.
func (in *inotify) queued() bool {
	n, err := unix.IoctlGetInt(in.fd, unix.TIOCINQ) // FIONREAD
	return err == nil && n > 0
}

// countDirs counts the directories of the share, for the watch-limit message.
func countDirs(w *Watcher) int {
	if w.file != "" {
		return 1
	}
	n := 0
	_ = filepath.WalkDir(w.abs, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
