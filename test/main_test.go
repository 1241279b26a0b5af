package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// lcsyncBin is the binary under test, built once by TestMain (or named by binEnv) and only
// read afterwards. It stays empty when the tests cannot run (not root), since they skip
// before using it.
var lcsyncBin string

// binEnv names an environment variable that, when set, gives an lcsync binary to test instead
// of building ./cmd/lcsync (for example an installed one, or one built from another commit).
const binEnv = "LCSYNC_E2E_BIN"

// TestMain builds the binary under test once for all tests, then runs them.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 && !netnstest.Required() {
		return m.Run() // every test skips (loudly) in netnstest.Require
	}
	if bin := os.Getenv(binEnv); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "test: %s: %v\n", binEnv, err)
			return 1
		}
		lcsyncBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "lcsync-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "test: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildLcsync(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "test: building lcsync: %v\n", err)
		return 1
	}
	lcsyncBin = bin
	return m.Run()
}

// buildLcsync builds ./cmd/lcsync into dir, running the go tool from the module root.
func buildLcsync(dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is not on PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the lcsync module (go env GOMOD = %q)", gomod)
	}
	bin := filepath.Join(dir, "lcsync")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/lcsync")
	cmd.Dir = filepath.Dir(gomod)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lcsync: %w: %s", err, stderr.String())
	}
	return bin, nil
}
