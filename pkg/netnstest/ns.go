//go:build linux

package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace (as created by `ip netns add`).
type NS struct {
	// Name is the namespace name, unique per test run.
	Name string
	tb   testing.TB
}

// UniqueName returns prefix followed by 6 random hex digits, short enough for namespace names.
func UniqueName(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// New creates a namespace with loopback up, DAD disabled and IPv6 forwarding off, and deletes
// it (killing whatever still runs in it) when the test ends.
func New(tb testing.TB, prefix string) *NS {
	tb.Helper()
	n := &NS{Name: UniqueName(prefix), tb: tb}
	mustRun(tb, "ip", "netns", "add", n.Name)
	tb.Cleanup(n.remove)
	n.MustRun("sysctl", "-qw",
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.all.forwarding=0",
		"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
	n.MustRun("ip", "link", "set", "lo", "up")
	return n
}

func (n *NS) remove() {
	// Kill stragglers first: a namespace with live processes lingers after `ip netns del`.
	if out, err := exec.Command("ip", "netns", "pids", n.Name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			var pid int
			// Skip ourselves: a thread of this process may have entered the namespace in Do
			// (if it was the main thread, the kernel reports the whole process as inside).
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 && pid != os.Getpid() {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
		n.tb.Errorf("netnstest: deleting namespace %s: %v: %s", n.Name, err, out)
	}
}

// Command returns a command that runs inside the namespace (via `ip netns exec`).
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs a command inside the namespace and returns its combined output.
func (n *NS) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netnstest: %s: %s %s: %w: %s", n.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// MustRun is Run that fails the test on error.
func (n *NS) MustRun(name string, args ...string) string {
	n.tb.Helper()
	out, err := n.Run(name, args...)
	if err != nil {
		n.tb.Fatal(err)
	}
	return out
}

// Do runs f on a dedicated OS thread that has entered the namespace. Sockets created inside f
// belong to the namespace and may be used from any goroutine afterwards. Goroutines started by
// f do not run in the namespace. The thread is discarded when f returns.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlock: the goroutine exits with the thread locked, so the runtime discards
		// the thread instead of reusing it outside the namespace.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netnstest: opening namespace %s: %w", n.Name, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netnstest: entering namespace %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// LinkBytes returns the rx and tx byte counters of a link inside the namespace.
func (n *NS) LinkBytes(dev string) (rx, tx uint64, err error) {
	var errs []error
	for i, c := range []*uint64{&rx, &tx} {
		file := [...]string{"rx_bytes", "tx_bytes"}[i]
		out, err := n.Run("cat", "/sys/class/net/"+dev+"/statistics/"+file)
		if err == nil {
			_, err = fmt.Sscan(out, c)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return 0, 0, fmt.Errorf("netnstest: counters of %s in %s: %v", dev, n.Name, errs)
	}
	return rx, tx, nil
}

func mustRun(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("netnstest: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
