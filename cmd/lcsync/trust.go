package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lcsync/lcsync/pkg/sender"
	"github.com/lcsync/lcsync/pkg/sign"
	"golang.org/x/term"
)

// passwordEnv holds the password of an encrypted secret key, for servers started unattended.
const passwordEnv = "LCSYNC_KEY_PASSWORD"

// checkSigningOptions refuses signing options given to a mode that does not use them.
func checkSigningOptions(o *options) error {
	a := o.args
	fetching := len(a) == 2 && !isLocal(a[0])
	serving := len(a) == 1 && isLocal(a[0]) && !o.hex && o.keygen == ""
	switch {
	case o.signKey != "" && !serving:
		return usagef("--sign FILE is for serving: lcsync --sign FILE SRC")
	case len(o.trust) > 0 && !fetching:
		return usagef("--trust KEY is for fetching: lcsync --trust KEY NAME DST")
	}
	return nil
}

// keygen writes a new key pair to path and path.pub and prints the public key.
func keygen(e *env, path string) error {
	pub, err := sign.GenerateKey(path)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return withCode(exitUsage, err)
		}
		return withCode(exitIO, err)
	}
	fmt.Fprintf(e.stderr, "lcsync: wrote the secret key to %s (keep it private) and the public key (id %s) to %s.pub\n",
		path, pub.IDString(), path)
	fmt.Fprintln(e.stdout, pub.String())
	return nil
}

// password returns the password of an encrypted secret key: $LCSYNC_KEY_PASSWORD, or asked on
// the terminal.
func password() (string, error) {
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("the key is encrypted: set %s or run on a terminal", passwordEnv)
	}
	fmt.Fprint(os.Stderr, "password for the secret key: ")
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	return string(pw), err
}

// loadSecretKey reads --sign's key; a bad key file is a usage error.
func loadSecretKey(e *env) (*sign.SecretKey, error) {
	k, err := sign.LoadSecretKey(e.o.signKey, password)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--sign: %w", err))
	}
	return k, nil
}

// stateDir returns --state, or the default: /var/lib/lcsync for root, else
// $XDG_STATE_HOME/lcsync (~/.local/state/lcsync).
func stateDir(o *options) (string, error) {
	switch {
	case o.stateDir != "":
		return o.stateDir, nil
	case os.Geteuid() == 0:
		return "/var/lib/lcsync", nil
	case os.Getenv("XDG_STATE_HOME") != "":
		return filepath.Join(os.Getenv("XDG_STATE_HOME"), "lcsync"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usagef("no home directory for the state of signed shares: give --state DIR")
	}
	return filepath.Join(home, ".local", "state", "lcsync"), nil
}

// openStore opens the state directory.
func openStore(o *options) (*sign.Store, error) {
	dir, err := stateDir(o)
	if err != nil {
		return nil, err
	}
	s, err := sign.OpenStore(dir)
	if err != nil {
		return nil, withCode(exitIO, err)
	}
	return s, nil
}

// publisher returns the signer for --sign, nil without it.
func publisher(e *env) (sender.Signer, error) {
	if e.o.signKey == "" {
		return nil, nil
	}
	k, err := loadSecretKey(e)
	if err != nil {
		return nil, err
	}
	store, err := openStore(e.o)
	if err != nil {
		return nil, err
	}
	p, err := sign.NewPublisher(k, store, e.o.sigLifetime, nil)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	e.log.Info("signing", "key", k.Public().IDString(), "public", k.Public().String(), "lifetime", e.o.sigLifetime, "state", store.Dir())
	return p, nil
}

// trustGate returns the fetch's gate: with --trust it accepts only manifests signed by those
// keys; without, it accepts any and reports the key of a signed share once.
func trustGate(e *env) (*sign.Gate, error) {
	cfg := sign.GateConfig{MaxSkew: e.o.maxSkew, Notice: func(msg string) { e.log.Warn(msg) }, ReadOnly: e.o.dryRun}
	if e.o.maxSkew == 0 {
		cfg.MaxSkew = -1 // --max-skew 0: no issue time in the future at all
	}
	for _, arg := range e.o.trust {
		k, err := sign.LoadPublicKey(arg)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--trust: %w", err))
		}
		cfg.Trusted = append(cfg.Trusted, k)
	}
	if len(cfg.Trusted) > 0 {
		store, err := openStore(e.o)
		if err != nil {
			return nil, err
		}
		cfg.Store = store
	}
	g, err := sign.NewGate(cfg)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return g, nil
}
