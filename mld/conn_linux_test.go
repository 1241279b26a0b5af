package mld

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenWithoutCapNetRaw drops CAP_NET_RAW from one locked OS thread (capabilities are per
// thread on Linux) and opens the socket there: the error must wrap ErrPrivilege and tell the
// user how to fix it. The thread is never unlocked, so the runtime discards it afterwards.
func TestOpenWithoutCapNetRaw(t *testing.T) {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1 << unix.CAP_NET_RAW
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		c, err := openConn(nil, false)
		if err == nil {
			c.Close()
			err = errors.New("opened a raw socket without CAP_NET_RAW")
		}
		errc <- err
	}()
	err := <-errc
	if !errors.Is(err, ErrPrivilege) {
		t.Fatalf("err = %v, want one wrapping ErrPrivilege", err)
	}
	for _, want := range []string{"run as root", "setcap cap_net_raw+ep", "--carousel", "operation not permitted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	t.Log(err)
}

func TestResolveLinks(t *testing.T) {
	links, err := resolveLinks(nil)
	if err != nil {
		t.Skipf("SKIP: no multicast interface on this host: %v", err)
	}
	for _, l := range links {
		if l.Index <= 0 || l.Name == "" || (l.Addr.IsValid() && !l.Addr.IsLinkLocalUnicast()) {
			t.Errorf("link %+v", l)
		}
	}
}
