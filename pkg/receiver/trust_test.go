package receiver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
	"github.com/lcsync/lcsync/pkg/sign"
)

// serveSigned serves dir on the fake link, signed with the key at keyPath.
func serveSigned(t *testing.T, n *mcasttest.Net, dir, keyPath string, carousel bool) {
	t.Helper()
	key, err := sign.LoadSecretKey(keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sign.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.NewPublisher(key, store, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	serveWith(t, n, dir, serveOpts{carousel: carousel, signer: pub})
}

func trustGate(t *testing.T, notices *[]string, keys ...sign.PublicKey) *sign.Gate {
	t.Helper()
	store, err := sign.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, err := sign.NewGate(sign.GateConfig{Trusted: keys, Store: store, Notice: func(s string) { *notices = append(*notices, s) }})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestFetchSigned fetches a signed share trusting its key (MLD and carousel mode: the stream
// channel is keyed by the publisher), without trusting any key (the key is reported), and
// trusting another key (refused with sign.ErrUntrusted, nothing written).
func TestFetchSigned(t *testing.T) {
	keys := t.TempDir()
	alice, err := sign.GenerateKey(filepath.Join(keys, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := sign.GenerateKey(filepath.Join(keys, "mallory"))
	if err != nil {
		t.Fatal(err)
	}
	for _, carousel := range []bool{false, true} {
		n := mcasttest.NewNet()
		src := filepath.Join(t.TempDir(), "share")
		writeFile(t, filepath.Join(src, "a"), randBytes(t, 50_000))
		writeFile(t, filepath.Join(src, "d/b"), randBytes(t, 3000))
		serveSigned(t, n, src, filepath.Join(keys, "alice"), carousel)

		var notices []string
		dst := filepath.Join(t.TempDir(), "trusted")
		fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.Gate = trustGate(t, &notices, mallory, alice) })
		sameFile(t, filepath.Join(src, "a"), filepath.Join(dst, "a"))
		sameFile(t, filepath.Join(src, "d/b"), filepath.Join(dst, "d/b"))

		open, err := sign.NewGate(sign.GateConfig{Notice: func(s string) { notices = append(notices, s) }})
		if err != nil {
			t.Fatal(err)
		}
		dst = filepath.Join(t.TempDir(), "open")
		fetch(t, n.Conn(0), "share/", dst, func(c *receiver.Config) { c.Gate = open })
		sameFile(t, filepath.Join(src, "a"), filepath.Join(dst, "a"))
		if len(notices) != 1 || !strings.Contains(notices[0], "--trust "+alice.String()) {
			t.Fatalf("carousel=%v: notices %q, want one naming the key", carousel, notices)
		}
		notices = nil

		dst = filepath.Join(t.TempDir(), "refused")
		// The refusal is reported when the fetch gives up; alice's channel is joined only
		// after manifestLater (1 s) on mallory's, so a loaded machine needs room for one
		// carousel cycle after that (1.5 s failed in CI with "no manifest heard").
		cfg := receiver.Config{Name: "share/", Dest: dst, Transport: n.Conn(0), IdleTimeout: 5 * time.Second,
			Retrigger: 100 * time.Millisecond, Gate: trustGate(t, &notices, mallory)}
		_, err = receiver.Fetch(context.Background(), cfg)
		if !errors.Is(err, sign.ErrUntrusted) || !strings.Contains(err.Error(), "signed by an unknown key "+alice.IDString()) {
			t.Fatalf("carousel=%v: trusting another key: %v", carousel, err)
		}
		if _, err := os.Lstat(dst); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("carousel=%v: the refused fetch created %s", carousel, dst)
		}
		t.Logf("carousel=%v: %v", carousel, err)
	}
}
