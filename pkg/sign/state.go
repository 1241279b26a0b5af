package sign

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lcsync/lcsync/pkg/wire"
	"golang.org/x/crypto/blake2s"
)

// Store keeps the persisted state of signed shares in one directory: for a receiver, the
// highest generation it accepted per key and share; for a publisher, the highest generation it
// issued. Each record is a small text file replaced atomically (write a temporary file, fsync,
// rename, fsync the directory), so a crash leaves either the old record or the new one.
type Store struct {
	dir string
}

// Mark is a persisted record: a generation and the manifest id that went with it (zero for a
// publisher's record, written before its manifest exists).
type Mark struct {
	// Generation is the highest generation accepted (or issued).
	Generation uint64
	// Manifest is the id of that generation's manifest.
	Manifest [wire.HashLen]byte
}

// Record kinds, part of the file names.
const (
	kindAccepted  = "accepted"  // a receiver's high-water mark
	kindPublished = "published" // a publisher's last generation
)

// stateVersion heads every record.
const stateVersion = "lcsync-state 1"

// OpenStore returns the store in dir, creating dir (mode 0700) if needed.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("sign: no state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sign: state directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// path names the record of kind for key and share: the key id in hex and a hash of the share
// name, which may hold bytes a file name should not.
func (s *Store) path(kind string, key PublicKey, share string) string {
	h := blake2s.Sum256([]byte(share))
	return filepath.Join(s.dir, kind+"-"+hex.EncodeToString(key.ID[:])+"-"+hex.EncodeToString(h[:12]))
}

// Load returns the record of kind for key and share; ok is false when there is none. A record
// that does not parse, or belongs to another key or share, is an error: state is never reset
// silently.
func (s *Store) load(kind string, key PublicKey, share string) (m Mark, ok bool, err error) {
	p := s.path(kind, key, share)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, fmt.Errorf("sign: reading state: %w", err)
	}
	m, err = parseRecord(b, kind, key, share)
	if err != nil {
		return Mark{}, false, fmt.Errorf("sign: state file %s: %w (remove it only if you know why it is damaged)", p, err)
	}
	return m, true, nil
}

// store replaces the record of kind for key and share with m.
func (s *Store) store(kind string, key PublicKey, share string, m Mark) error {
	p := s.path(kind, key, share)
	f, err := os.CreateTemp(s.dir, ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return fmt.Errorf("sign: writing state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(formatRecord(kind, key, share, m))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sign: writing state %s: %w", p, err)
	}
	if d, err := os.Open(s.dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("sign: syncing state directory: %w", err)
		}
	}
	return nil
}

// Accepted returns the receiver's high-water mark for key and share.
func (s *Store) Accepted(key PublicKey, share string) (Mark, bool, error) {
	return s.load(kindAccepted, key, share)
}

// SetAccepted records a receiver's new high-water mark for key and share.
func (s *Store) SetAccepted(key PublicKey, share string, m Mark) error {
	return s.store(kindAccepted, key, share, m)
}

// Published returns the last generation the publisher issued for key and share.
func (s *Store) Published(key PublicKey, share string) (Mark, bool, error) {
	return s.load(kindPublished, key, share)
}

// SetPublished records the last generation the publisher issued for key and share.
func (s *Store) SetPublished(key PublicKey, share string, m Mark) error {
	return s.store(kindPublished, key, share, m)
}

// formatRecord renders a record: six lines of "name value".
func formatRecord(kind string, key PublicKey, share string, m Mark) []byte {
	return fmt.Appendf(nil, "%s\nkind %s\nkey %s\nshare %s\ngeneration %d\nmanifest %s\n",
		stateVersion, kind, key, strconv.Quote(share), m.Generation, hex.EncodeToString(m.Manifest[:]))
}

// parseRecord parses a record strictly and checks that it is of kind, for key and share.
func parseRecord(b []byte, kind string, key PublicKey, share string) (Mark, error) {
	lines := strings.Split(string(b), "\n")
	if len(lines) != 7 || lines[6] != "" || lines[0] != stateVersion {
		return Mark{}, errors.New("not an lcsync state record")
	}
	var vals [5]string
	for i, name := range []string{"kind", "key", "share", "generation", "manifest"} {
		v, ok := strings.CutPrefix(lines[i+1], name+" ")
		if !ok {
			return Mark{}, fmt.Errorf("line %d is not %q", i+2, name)
		}
		vals[i] = v
	}
	if vals[0] != kind || vals[1] != key.String() || vals[2] != strconv.Quote(share) {
		return Mark{}, errors.New("the record is for another kind, key or share")
	}
	var m Mark
	var err error
	if m.Generation, err = strconv.ParseUint(vals[3], 10, 64); err != nil {
		return Mark{}, fmt.Errorf("generation: %w", err)
	}
	id, err := hex.DecodeString(vals[4])
	if err != nil || len(id) != wire.HashLen {
		return Mark{}, errors.New("manifest id is not 64 hex digits")
	}
	m.Manifest = [wire.HashLen]byte(id)
	if !bytes.Equal(formatRecord(kind, key, share, m), b) {
		return Mark{}, errors.New("the record is not in canonical form")
	}
	return m, nil
}
