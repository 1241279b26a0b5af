package test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lcsync/lcsync/pkg/netnstest"
)

// Bounds on a server's life: how long it may take to index and start, and how long it may run
// at most (a backstop; tests stop their servers long before).
const (
	serverStartTimeout = 60 * time.Second
	serverMaxLifetime  = 10 * time.Minute
	serverStopTimeout  = 10 * time.Second
)

// syncBuffer is a bytes.Buffer that a running command and the test may use concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is an `lcsync SRC` process serving inside a namespace.
type server struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when the process has exited and been waited for
	err    error         // Wait's result, valid after done
	code   int           // the exit status (-1: killed by a signal), valid after done
}

// startServer runs `lcsync ARGS...` in ns and waits until it logs that it is serving. The
// server is stopped with SIGTERM (and waited for) when the test ends; its output is logged if
// the test failed.
func startServer(t *testing.T, ns *netnstest.NS, args ...string) *server {
	t.Helper()
	return startProcess(t, ns, "server", "serving", serverStartTimeout, args)
}

// startProcess runs `lcsync ARGS...` (a long-lived role: "server" or "follower") in ns and
// waits up to within for ready in its output. SIGTERM stops it when the test ends (SIGQUIT
// makes one that hangs dump its goroutines first, then SIGKILL); its output is logged if the
// test failed.
func startProcess(t *testing.T, ns *netnstest.NS, role, ready string, within time.Duration, args []string) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), serverMaxLifetime)
	s := &server{out: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	s.cmd = ns.Command(ctx, lcsyncBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Cancel = func() error {
		err := s.cmd.Process.Signal(syscall.SIGTERM)
		go func() {
			select {
			case <-s.done:
			case <-time.After(serverStopTimeout - 2*time.Second):
				_ = s.cmd.Process.Signal(syscall.SIGQUIT)
			}
		}()
		return err
	}
	s.cmd.WaitDelay = serverStopTimeout // then SIGKILL
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s %v: %v", role, args, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		// After a cancellation Wait reports the context's error; the status is in ProcessState.
		s.code = -1
		if s.cmd.ProcessState != nil {
			s.code = s.cmd.ProcessState.ExitCode()
		}
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("%s `lcsync %s` in %s exited with status %d (%v); output:\n%s", role, strings.Join(args, " "), ns.Name, s.code, s.err, s.out)
		}
	})
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(s.out.String(), ready) {
		select {
		case <-s.done:
			t.Fatalf("%s `lcsync %s` exited (status %d) before printing %q:\n%s", role, strings.Join(args, " "), s.code, ready, s.out)
		case <-deadline.C:
			t.Fatalf("%s `lcsync %s` did not print %q within %v:\n%s", role, strings.Join(args, " "), ready, within, s.out)
		case <-tick.C:
		}
	}
	return s
}

// stop sends SIGTERM (through the context) and waits for the process; it returns the exit code.
func (s *server) stop() int {
	s.cancel()
	<-s.done
	return s.code
}

// exitCodeOf returns a command's exit status: 0 for success, -1 when it did not exit normally.
func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
