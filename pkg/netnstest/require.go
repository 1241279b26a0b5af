package netnstest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a skipped privileged test into a failure.
const RequireEnv = "LCSYNC_REQUIRE_NETNS"

// Required reports whether privileged tests must run (LCSYNC_REQUIRE_NETNS=1).
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Require skips the test, with the reason, unless the process runs as root and every tool in
// tools (plus ip) is on PATH. Under LCSYNC_REQUIRE_NETNS=1 it fails the test instead.
func Require(tb testing.TB, tools ...string) {
	tb.Helper()
	if reason := missing(tools); reason != "" {
		if Required() {
			tb.Fatalf("netnstest: %s, and %s=1 forbids skipping", reason, RequireEnv)
		}
		tb.Skipf("SKIP (privileged): %s; run as root to include this test", reason)
	}
}

func missing(tools []string) string {
	if os.Geteuid() != 0 {
		return "needs root to create network namespaces"
	}
	for _, t := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(t); err != nil {
			return "needs " + t + " on PATH"
		}
	}
	return ""
}
