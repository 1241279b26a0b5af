package sign

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"aead.dev/minisign"
	"github.com/lcsync/lcsync/pkg/wire"
)

// maxKeyFile bounds how much of a key file is read: minisign's are under 300 bytes.
const maxKeyFile = 4096

// PublicKey is a publisher's Ed25519 public key and its minisign key id.
type PublicKey struct {
	// ID is minisign's 8-byte key id (its key number, little-endian, as stored in key files).
	ID [wire.KeyIDLen]byte
	// Key is the Ed25519 public key.
	Key [wire.PublicKeyLen]byte
}

// keyLineLen is the length of a public key line: base64 of "Ed" || id || key.
var keyLineLen = base64.StdEncoding.EncodedLen(2 + wire.KeyIDLen + wire.PublicKeyLen)

// String returns the one-line form of the key, base64("Ed" || key id || key), as minisign
// prints it and as --trust takes it.
func (p PublicKey) String() string {
	b := append(append([]byte("Ed"), p.ID[:]...), p.Key[:]...)
	return base64.StdEncoding.EncodeToString(b)
}

// IDString returns the key id as minisign shows it: the key number in upper-case hex.
func (p PublicKey) IDString() string {
	return strings.ToUpper(strconv.FormatUint(binary.LittleEndian.Uint64(p.ID[:]), 16))
}

// File returns the contents of a public key file: minisign's untrusted comment line and the
// key line.
func (p PublicKey) File() []byte {
	return []byte("untrusted comment: minisign public key " + p.IDString() + "\n" + p.String() + "\n")
}

// Publisher returns the key as a signed manifest names it.
func (p PublicKey) Publisher() *wire.Publisher {
	return &wire.Publisher{KeyID: p.ID, Key: p.Key}
}

// PublicKeyOf returns the key a manifest's publisher field names.
func PublicKeyOf(pub *wire.Publisher) PublicKey {
	return PublicKey{ID: pub.KeyID, Key: pub.Key}
}

// ParsePublicKey parses a public key: the contents of a minisign (or signify) public key
// file, an "untrusted comment:" line then the key line, or the key line alone. Nothing else
// may follow but a final newline. Errors wrap ErrKey.
func ParsePublicKey(text []byte) (PublicKey, error) {
	if len(text) > maxKeyFile {
		return PublicKey{}, fmt.Errorf("%w: public key of %d bytes is too long", ErrKey, len(text))
	}
	lines := strings.Split(strings.TrimRight(string(text), "\r\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	switch {
	case len(lines) == 2 && strings.HasPrefix(lines[0], "untrusted comment: "):
		lines = lines[1:]
	case len(lines) == 2:
		return PublicKey{}, fmt.Errorf("%w: a public key file starts with an \"untrusted comment: \" line", ErrKey)
	case len(lines) > 2:
		return PublicKey{}, fmt.Errorf("%w: a public key is one line, or a comment line and a key line; found %d lines", ErrKey, len(lines))
	}
	line := strings.TrimSpace(lines[0])
	if len(line) != keyLineLen {
		return PublicKey{}, fmt.Errorf("%w: a public key line has %d characters, not %d", ErrKey, len(line), keyLineLen)
	}
	var k minisign.PublicKey
	if err := k.UnmarshalText([]byte(line)); err != nil {
		return PublicKey{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	raw, err := base64.StdEncoding.DecodeString(k.String())
	if err != nil || len(raw) != 2+wire.KeyIDLen+wire.PublicKeyLen {
		return PublicKey{}, fmt.Errorf("%w: public key does not re-encode", ErrKey)
	}
	return PublicKey{ID: [wire.KeyIDLen]byte(raw[2:]), Key: [wire.PublicKeyLen]byte(raw[2+wire.KeyIDLen:])}, nil
}

// LoadPublicKey reads a public key given as the key string or as the path of a public key
// file (what --trust takes). Errors wrap ErrKey.
func LoadPublicKey(arg string) (PublicKey, error) {
	if k, err := ParsePublicKey([]byte(arg)); err == nil {
		return k, nil
	}
	b, err := readKeyFile(arg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return PublicKey{}, fmt.Errorf("%w: %q is neither a public key nor a key file", ErrKey, arg)
		}
		return PublicKey{}, fmt.Errorf("%w: %v", ErrKey, err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%s: %w", arg, err)
	}
	return k, nil
}

// readKeyFile reads a regular file of at most maxKeyFile bytes.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%s is longer than %d bytes: not a key file", path, maxKeyFile)
	}
	return b, nil
}

// SecretKey is a publisher's secret key. Its zero value is not usable.
type SecretKey struct {
	pub  PublicKey
	priv minisign.PrivateKey
}

// Public returns the key's public half.
func (k *SecretKey) Public() PublicKey { return k.pub }

// Password returns the password of an encrypted secret key; it is called only for one.
type Password func() (string, error)

// LoadSecretKey reads a minisign secret key file. It refuses a file that its group or others
// may read or write (as ssh does), and asks password for the password of an encrypted key
// (decrypting costs what the file's scrypt parameters say: minisign's take 1 GiB of memory
// for about a second). Errors wrap ErrKey.
func LoadSecretKey(path string, password Password) (*SecretKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: secret key %s has mode %#o: others may read it; chmod 600 %s (and make a new key if others did)",
			ErrKey, path, perm, path)
	}
	b, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	k, err := ParseSecretKey(b, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseSecretKey parses the contents of a minisign secret key file, asking password for the
// password of an encrypted one. Errors wrap ErrKey.
func ParseSecretKey(text []byte, password Password) (*SecretKey, error) {
	if len(text) > maxKeyFile {
		return nil, fmt.Errorf("%w: secret key of %d bytes is too long", ErrKey, len(text))
	}
	if !bytes.HasPrefix(text, []byte("untrusted comment: ")) {
		return nil, fmt.Errorf("%w: not a minisign secret key (it starts with an \"untrusted comment: \" line)", ErrKey)
	}
	var priv minisign.PrivateKey
	if minisign.IsEncrypted(text) {
		if password == nil {
			return nil, fmt.Errorf("%w: the secret key is encrypted and no password was given", ErrKey)
		}
		pw, err := password()
		if err != nil {
			return nil, fmt.Errorf("%w: reading the password: %v", ErrKey, err)
		}
		if priv, err = minisign.DecryptKey(pw, text); err != nil {
			return nil, fmt.Errorf("%w: wrong password, or a damaged or unsupported encrypted key", ErrKey)
		}
	} else if err := priv.UnmarshalText(text); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	pubText, err := priv.Public().(minisign.PublicKey).MarshalText()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	pub, err := ParsePublicKey(pubText)
	if err != nil {
		return nil, err
	}
	k := &SecretKey{pub: pub, priv: priv}
	// The file stores the public half beside the secret one; a file whose halves disagree
	// would sign statements nobody can verify. Find out now, not on every receiver.
	probe := []byte(wire.StatementDomain + "key check")
	sig, err := k.sign(probe)
	if err != nil || !ed25519.Verify(pub.Key[:], probe, sig[:]) {
		return nil, fmt.Errorf("%w: the secret key does not match the public key stored with it (damaged file?)", ErrKey)
	}
	return k, nil
}

// sign returns the pure Ed25519 signature of msg.
func (k *SecretKey) sign(msg []byte) ([wire.SignatureLen]byte, error) {
	// minisign.PrivateKey keeps the raw key to itself; its legacy (not pre-hashed) mode
	// is Ed25519 over msg itself, which the minisign signature text carries.
	text, err := k.priv.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return [wire.SignatureLen]byte{}, fmt.Errorf("sign: %w", err)
	}
	var s minisign.Signature
	if err := s.UnmarshalText(text); err != nil {
		return [wire.SignatureLen]byte{}, fmt.Errorf("sign: %w", err)
	}
	if s.Algorithm != minisign.EdDSA {
		return [wire.SignatureLen]byte{}, fmt.Errorf("sign: minisign made a signature of algorithm %#x, not pure Ed25519", s.Algorithm)
	}
	return s.Signature, nil
}

// GenerateKey makes a new key pair and writes the secret key to path (mode 0600, not
// encrypted, so that a server can start unattended) and the public key to path + ".pub". It
// refuses to overwrite either file and leaves neither behind on failure.
func GenerateKey(path string) (PublicKey, error) {
	mpub, mpriv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return PublicKey{}, fmt.Errorf("sign: generating a key: %w", err)
	}
	secret, err := mpriv.MarshalText()
	if err != nil {
		return PublicKey{}, fmt.Errorf("sign: %w", err)
	}
	pubText, err := mpub.MarshalText()
	if err != nil {
		return PublicKey{}, fmt.Errorf("sign: %w", err)
	}
	pub, err := ParsePublicKey(pubText)
	if err != nil {
		return PublicKey{}, err
	}
	if err := writeNew(path, append(secret, '\n'), 0o600); err != nil {
		return PublicKey{}, err
	}
	if err := writeNew(path+".pub", pub.File(), 0o644); err != nil {
		os.Remove(path)
		return PublicKey{}, err
	}
	return pub, nil
}

// writeNew creates path (it must not exist), writes b and syncs it.
func writeNew(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("sign: %s: %w; not overwriting a key", path, os.ErrExist)
		}
		return fmt.Errorf("sign: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("sign: writing %s: %w", path, err)
	}
	return nil
}
