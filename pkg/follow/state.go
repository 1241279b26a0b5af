package follow

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// StateName is the file in DST that records the last applied generation. Its name is one of
// lcsync's temporary names (destfs.IsTemp, exclude.IsTemp), so that no --delete removes it
// and no server serving the mirror indexes it, and a kept one (destfs.KeptName), so that no
// fetch's sweep of stale temporary files takes it.
const StateName = ".lcsync-follow.lcsync-00000000"

// stateTemp is where the state is written before it is renamed over StateName.
const stateTemp = ".lcsync-follow.lcsync-00000001"

// stateHeader starts the state file.
const stateHeader = "lcsync-follow 1"

// maxState bounds the state file read (it holds two short lines).
const maxState = 4096

// state is what the state file records.
type state struct {
	name       string // the followed name, as given ("share/dir/")
	generation uint64
}

// loadState reads the state in root; a missing file is the zero state.
func loadState(root *os.Root) (state, error) {
	f, err := root.Open(StateName)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("follow: reading the state: %w", err)
	}
	defer f.Close()
	b := make([]byte, maxState+1)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return state{}, fmt.Errorf("follow: reading the state %s: %w", StateName, err)
	}
	var st state
	sc := bufio.NewScanner(bytes.NewReader(b[:n]))
	line := 0
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch {
		case line == 0 && sc.Text() != stateHeader, n > maxState:
			return state{}, fmt.Errorf("follow: %s is not a follower's state file", StateName)
		case k == "name":
			st.name = v
		case k == "generation":
			if st.generation, err = strconv.ParseUint(v, 10, 64); err != nil {
				return state{}, fmt.Errorf("follow: %s: bad generation %q", StateName, v)
			}
		}
		line++
	}
	return st, nil
}

// errBusy is lockFile's error when another process holds the lock.
var errBusy = errors.New("locked by another process")

// holdState opens and locks the state file, if there is one, and returns it (nil if there
// is none): while it is held, another follower of the same mirror is refused.
func holdState(root *os.Root) (*os.File, error) {
	f, err := root.Open(StateName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("follow: opening the state: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("follow: the state file %s: %w (is another follower applying generations to this mirror?)", StateName, err)
	}
	return f, nil
}

// saveState records st in root: written to a temporary name, synced and renamed over the
// state file, so a crash leaves the old state or the new one. It returns the new state
// file, open and locked (see holdState).
func saveState(root *os.Root, st state) (*os.File, error) {
	f, err := root.OpenFile(stateTemp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("follow: writing the state: %w", err)
	}
	err = lockFile(f)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s\nname %s\ngeneration %d\n", stateHeader, st.name, st.generation)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = root.Rename(stateTemp, StateName)
	}
	if err != nil {
		f.Close()
		_ = root.Remove(stateTemp)
		return nil, fmt.Errorf("follow: writing the state: %w", err)
	}
	return f, nil
}
