package sign

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/scrypt"
)

// newKey generates a key pair in a temporary directory and returns the secret key's path.
func newKey(t testing.TB) (string, PublicKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lcsync.key")
	pub, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, pub
}

func TestGenerateAndLoad(t *testing.T) {
	path, pub := newKey(t)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret key mode %v, %v; want 0600", st.Mode(), err)
	}
	k, err := LoadSecretKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Public() != pub {
		t.Fatalf("loaded key %v, generated %v", k.Public(), pub)
	}
	fromFile, err := LoadPublicKey(path + ".pub")
	if err != nil || fromFile != pub {
		t.Fatalf("public key file gives %v, %v; want %v", fromFile, err, pub)
	}
	fromString, err := LoadPublicKey(pub.String())
	if err != nil || fromString != pub {
		t.Fatalf("key string gives %v, %v", fromString, err)
	}
	if _, err := GenerateKey(path); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("GenerateKey over an existing key: %v", err)
	}
	// A .pub in the way leaves no secret key behind either.
	other := filepath.Join(t.TempDir(), "k")
	os.WriteFile(other+".pub", []byte("x"), 0o644)
	if _, err := GenerateKey(other); err == nil {
		t.Fatal("GenerateKey overwrote a .pub")
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("secret key left behind: %v", err)
	}
}

func TestSecretKeyPermissions(t *testing.T) {
	path, _ := newKey(t)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		os.Chmod(path, mode)
		_, err := LoadSecretKey(path, nil)
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %#o: %v", mode, err)
		}
	}
}

func TestBadKeys(t *testing.T) {
	path, pub := newKey(t)
	secret, _ := os.ReadFile(path)
	pubFile := pub.File()
	line := pub.String()
	raw, _ := base64.StdEncoding.DecodeString(line)
	sig := append([]byte("ED"), raw[2:]...) // a signature-type tag
	cases := []struct {
		name string
		text []byte
	}{
		{"empty", nil},
		{"truncated line", []byte(line[:40])},
		{"truncated file", pubFile[:len(pubFile)-10]},
		{"not base64", []byte(strings.Repeat("!", len(line)))},
		{"wrong algorithm", []byte(base64.StdEncoding.EncodeToString(sig))},
		{"two comment lines", append([]byte("untrusted comment: a\n"), pubFile...)},
		{"trailing line", append(bytes.Clone(pubFile), "x\n"...)},
		{"no comment prefix", []byte("comment\n" + line)},
		{"secret key as public", secret},
		{"huge", bytes.Repeat([]byte("a"), 5000)},
	}
	for _, c := range cases {
		if _, err := ParsePublicKey(c.text); !errors.Is(err, ErrKey) {
			t.Errorf("public key %s: %v", c.name, err)
		}
	}
	badSecret := []struct {
		name string
		text []byte
	}{
		{"empty", nil},
		{"public key as secret", pubFile},
		{"truncated", secret[:len(secret)-20]},
		{"no comment", secret[bytes.IndexByte(secret, '\n')+1:]},
		{"bad base64", append(bytes.Clone(secret[:bytes.IndexByte(secret, '\n')+1]), "@@@@"...)},
		{"halves disagree", mismatchedHalves(t, secret)},
	}
	for _, c := range badSecret {
		if _, err := ParseSecretKey(c.text, nil); !errors.Is(err, ErrKey) {
			t.Errorf("secret key %s: %v", c.name, err)
		}
	}
	if _, err := LoadPublicKey(filepath.Join(t.TempDir(), "nothing")); !errors.Is(err, ErrKey) ||
		!strings.Contains(err.Error(), "neither a public key nor a key file") {
		t.Errorf("missing key file: %v", err)
	}
}

// mismatchedHalves returns secret with the public half of its Ed25519 key changed.
func mismatchedHalves(t *testing.T, secret []byte) []byte {
	nl := bytes.IndexByte(secret, '\n') + 1
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(secret[nl:])))
	if err != nil || len(raw) != 158 {
		t.Fatalf("secret key of %d bytes, %v", len(raw), err)
	}
	raw[54+8+32+5] ^= 1 // key id, seed, then the public half
	return append(bytes.Clone(secret[:nl]), base64.StdEncoding.EncodeToString(raw)+"\n"...)
}

// encryptForTest encrypts the unencrypted minisign key text with password at cheap scrypt
// parameters (opslimit 2^15, memlimit 2^24: N = 1024, r = 8, p = 1), as minisign's format
// allows: the keystream XORs key id, secret key and the BLAKE2b-256 checksum.
func encryptForTest(t *testing.T, secret []byte, password string) []byte {
	nl := bytes.IndexByte(secret, '\n') + 1
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(secret[nl:])))
	out := bytes.Clone(raw)
	copy(out[2:4], "Sc")
	salt := bytes.Repeat([]byte{7}, 32)
	copy(out[6:38], salt)
	binary.LittleEndian.PutUint64(out[38:], 1<<15)
	binary.LittleEndian.PutUint64(out[46:], 1<<24)
	plain := raw[54 : 54+72]
	sum := blake2b.Sum256(append([]byte("Ed"), plain...))
	msg := append(bytes.Clone(plain), sum[:]...)
	ks, err := scrypt.Key([]byte(password), salt, 1024, 8, 1, len(msg))
	if err != nil {
		t.Fatal(err)
	}
	for i := range msg {
		out[54+i] = msg[i] ^ ks[i]
	}
	return append(bytes.Clone(secret[:nl]), base64.StdEncoding.EncodeToString(out)+"\n"...)
}

func TestEncryptedKey(t *testing.T) {
	path, pub := newKey(t)
	secret, _ := os.ReadFile(path)
	enc := encryptForTest(t, secret, "correct horse")
	pw := func(s string) Password { return func() (string, error) { return s, nil } }
	k, err := ParseSecretKey(enc, pw("correct horse"))
	if err != nil || k.Public() != pub {
		t.Fatalf("right password: %v", err)
	}
	if _, err := ParseSecretKey(enc, pw("wrong")); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := ParseSecretKey(enc, nil); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("no password: %v", err)
	}
	failing := func() (string, error) { return "", errors.New("no terminal") }
	if _, err := ParseSecretKey(enc, failing); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "no terminal") {
		t.Fatalf("password prompt failing: %v", err)
	}
}

// TestMinisignInterop checks the key files against the minisign tool itself: a key made by
// `minisign -G -W` loads and signs statements its .pub verifies, and a key made by lcsync
// signs a file with minisign that minisign verifies with lcsync's .pub (and that crypto/ed25519
// verifies with the key lcsync parsed from it).
func TestMinisignInterop(t *testing.T) {
	bin, err := exec.LookPath("minisign")
	if err != nil {
		if os.Getenv("LCSYNC_REQUIRE_NETNS") == "1" {
			t.Fatal("minisign is not installed (scripts/deps.sh installs it)")
		}
		t.Skip("SKIP: minisign is not installed; apt-get install minisign (scripts/deps.sh does)")
	}
	dir := t.TempDir()
	sk, pk := filepath.Join(dir, "m.key"), filepath.Join(dir, "m.pub")
	if out, err := exec.Command(bin, "-G", "-W", "-s", sk, "-p", pk).CombinedOutput(); err != nil {
		t.Fatalf("minisign -G: %v\n%s", err, out)
	}
	k, err := LoadSecretKey(sk, nil)
	if err != nil {
		t.Fatalf("a key made by minisign: %v", err)
	}
	pub, err := LoadPublicKey(pk)
	if err != nil || pub != k.Public() {
		t.Fatalf("minisign's .pub gives %v, %v; the secret key %v", pub, err, k.Public())
	}
	st := testStatement()
	if err := k.Sign(st); err != nil {
		t.Fatal(err)
	}
	if err := Verify(pub, st); err != nil {
		t.Fatalf("statement signed with minisign's key: %v", err)
	}

	ours, ourPub := newKey(t)
	msg := filepath.Join(dir, "msg")
	os.WriteFile(msg, []byte("signed by minisign with an lcsync key\n"), 0o644)
	if out, err := exec.Command(bin, "-S", "-l", "-s", ours, "-m", msg).CombinedOutput(); err != nil {
		t.Fatalf("minisign -S with an lcsync key: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "-V", "-p", ours+".pub", "-m", msg).CombinedOutput(); err != nil {
		t.Fatalf("minisign -V with an lcsync .pub: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "-V", "-P", ourPub.String(), "-m", msg).CombinedOutput(); err != nil {
		t.Fatalf("minisign -V -P with lcsync's key string: %v\n%s", err, out)
	}
	sigText, _ := os.ReadFile(msg + ".minisig")
	lines := strings.Split(string(sigText), "\n")
	raw, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil || len(raw) != 74 || string(raw[:2]) != "Ed" || [8]byte(raw[2:10]) != ourPub.ID {
		t.Fatalf("minisign's legacy signature %q: %v", lines[1], err)
	}
	body, _ := os.ReadFile(msg)
	if !ed25519.Verify(ourPub.Key[:], body, raw[10:]) {
		t.Fatal("crypto/ed25519 does not verify minisign's signature with the key lcsync parsed")
	}
}

func FuzzParsePublicKey(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "k")
	pub, err := GenerateKey(path)
	if err != nil {
		f.Fatal(err)
	}
	secret, _ := os.ReadFile(path)
	f.Add(pub.File())
	f.Add([]byte(pub.String()))
	f.Add(secret)
	f.Add([]byte("untrusted comment: \n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKey(b)
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Fatalf("error %v does not wrap ErrKey", err)
			}
			return
		}
		again, err := ParsePublicKey([]byte(k.String()))
		if err != nil || again != k {
			t.Fatalf("%v does not round-trip: %v", k, err)
		}
	})
}

func FuzzParseSecretKey(f *testing.F) {
	path := filepath.Join(f.TempDir(), "k")
	if _, err := GenerateKey(path); err != nil {
		f.Fatal(err)
	}
	secret, _ := os.ReadFile(path)
	f.Add(secret)
	f.Add(secret[:60])
	f.Add([]byte("untrusted comment: x\nRWQAAEIy"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Encrypted keys would cost an scrypt each: a password function that fails keeps
		// the fuzzer on the parser.
		k, err := ParseSecretKey(b, func() (string, error) { return "", errors.New("no password") })
		if err != nil {
			if !errors.Is(err, ErrKey) {
				t.Fatalf("error %v does not wrap ErrKey", err)
			}
			return
		}
		st := testStatement()
		if err := k.Sign(st); err != nil || Verify(k.Public(), st) != nil {
			t.Fatalf("an accepted key does not sign: %v", err)
		}
	})
}
