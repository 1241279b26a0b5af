package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/term"
)

// TestKeygenAndKeyErrors: --keygen writes a key pair and prints the public key; bad keys,
// readable secret keys and signing options in the wrong mode are usage errors (exit 2).
func TestKeygenAndKeyErrors(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "share.key")
	code, out, stderr := runArgs(t, "--keygen", key)
	pub := strings.TrimSpace(out)
	if code != exitOK || len(pub) != 56 || !strings.HasPrefix(pub, "RW") {
		t.Fatalf("--keygen: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if b, err := os.ReadFile(key + ".pub"); err != nil || !strings.Contains(string(b), pub) {
		t.Fatalf("%s.pub: %q, %v", key, b, err)
	}
	readable := filepath.Join(dir, "readable.key")
	if b, err := os.ReadFile(key); err != nil || os.WriteFile(readable, b, 0o644) != nil {
		t.Fatal(err)
	}
	os.Chmod(readable, 0o644)
	garbage := filepath.Join(dir, "garbage.pub")
	os.WriteFile(garbage, []byte("untrusted comment: x\nnot a key\n"), 0o644)
	truncated := filepath.Join(dir, "truncated.key")
	b, _ := os.ReadFile(key)
	os.WriteFile(truncated, b[:len(b)-30], 0o600)
	src := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"keygen over a key", []string{"--keygen", key}, "not overwriting"},
		{"keygen with arguments", []string{"--keygen", filepath.Join(dir, "k2"), "./x"}, "no other arguments"},
		{"trust garbage string", []string{"--trust", "RWQgarbage", "share/", "./x"}, "neither a public key nor a key file"},
		{"trust a bad key file", []string{"--trust", garbage, "share/", "./x"}, "bad key"},
		{"trust a secret key", []string{"--trust", key, "share/", "./x"}, "bad key"},
		{"sign with a readable key", []string{"--sign", readable, src}, "chmod 600"},
		{"sign with a truncated key", []string{"--sign", truncated, src}, "bad key"},
		{"sign with a public key", []string{"--sign", key + ".pub", src}, "bad key"},
		{"sign when fetching", []string{"--sign", key, "share/", "./x"}, "for serving"},
		{"trust when serving", []string{"--trust", pub, src}, "for fetching"},
		{"short lifetime", []string{"--sig-lifetime", "1s", "--sign", key, src}, "--sig-lifetime"},
		{"negative skew", []string{"--max-skew", "-1m", "--trust", pub, "share/", "./x"}, "--max-skew"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runArgs(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
	code, _, stderr = runArgs(t, "--keygen", filepath.Join(dir, "missing", "k"))
	if code != exitIO {
		t.Fatalf("--keygen into a missing directory: exit %d, %q", code, stderr)
	}
}

// encryptKeyFile rewrites the unencrypted minisign secret key at path encrypted with
// password, at cheap scrypt parameters (opslimit 2^15, memlimit 2^24: N = 1024, r = 8, p = 1).
func encryptKeyFile(t *testing.T, path, password string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(b, '\n') + 1
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b[nl:])))
	if err != nil || len(raw) != 158 {
		t.Fatalf("secret key of %d bytes: %v", len(raw), err)
	}
	copy(raw[2:4], "Sc")
	salt := raw[6:38]
	binary.LittleEndian.PutUint64(raw[38:], 1<<15)
	binary.LittleEndian.PutUint64(raw[46:], 1<<24)
	sum := blake2b.Sum256(append([]byte("Ed"), raw[54:126]...))
	copy(raw[126:], sum[:])
	ks, err := scrypt.Key([]byte(password), salt, 1024, 8, 1, 104)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ks {
		raw[54+i] ^= ks[i]
	}
	if err := os.WriteFile(path, append(b[:nl], base64.StdEncoding.EncodeToString(raw)+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEncryptedSigningKey: an encrypted --sign key with a wrong password, or none to be had
// (no LCSYNC_KEY_PASSWORD, no terminal), is a usage error before anything is indexed.
func TestEncryptedSigningKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "enc.key")
	if code, _, stderr := runArgs(t, "--keygen", key); code != exitOK {
		t.Fatal(stderr)
	}
	encryptKeyFile(t, key, "right")
	src := t.TempDir()
	t.Setenv(passwordEnv, "wrong")
	if code, _, stderr := runArgs(t, "--sign", key, src); code != exitUsage || !strings.Contains(stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d, %q", code, stderr)
	}
	os.Unsetenv(passwordEnv)
	if term.IsTerminal(int(os.Stdin.Fd())) {
		t.Skip("SKIP the no-password case: standard input is a terminal, lcsync would prompt")
	}
	if code, _, stderr := runArgs(t, "--sign", key, src); code != exitUsage || !strings.Contains(stderr, passwordEnv) {
		t.Fatalf("no password: exit %d, %q", code, stderr)
	}
}
