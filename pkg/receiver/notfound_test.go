package receiver_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/mcast/mcasttest"
	"github.com/lcsync/lcsync/pkg/receiver"
)

func TestFetchNotFound(t *testing.T) {
	n := mcasttest.NewNet()
	src := filepath.Join(t.TempDir(), "share")
	makeTree(t, src)
	serve(t, n, src, false)
	_, err := receiver.Fetch(t.Context(), receiver.Config{Name: "share/nope", Dest: t.TempDir(), Transport: n.Conn(0), IdleTimeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchNoServer(t *testing.T) {
	n := mcasttest.NewNet()
	_, err := receiver.Fetch(t.Context(), receiver.Config{Name: "share/x", Dest: t.TempDir(), Transport: n.Conn(0), IdleTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no manifest") {
		t.Fatalf("err = %v", err)
	}
}
