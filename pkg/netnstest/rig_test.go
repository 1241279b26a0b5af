package netnstest

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestRigSnooping checks the two properties lcsync relies on: a joined group reaches the
// receiver that joined it, and snooping keeps it away from a receiver that did not.
func TestRigSnooping(t *testing.T) {
	Require(t, "bridge", "nft", "tc")
	r := NewRig(t, RigConfig{Receivers: 2})
	group := &net.UDPAddr{IP: net.ParseIP("ff15::6c63:1"), Port: 4243}

	var joined, other *net.UDPConn
	if err := r.Receivers[0].Do(func() error {
		ifi, err := net.InterfaceByName(Iface)
		if err != nil {
			return err
		}
		joined, err = net.ListenMulticastUDP("udp6", ifi, group)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	if err := r.Receivers[1].Do(func() error {
		var err error
		other, err = net.ListenUDP("udp6", &net.UDPAddr{Port: group.Port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	time.Sleep(200 * time.Millisecond) // let the join report reach the bridge
	if err := r.Sender.Do(func() error {
		ifi, err := net.InterfaceByName(Iface)
		if err != nil {
			return err
		}
		c, err := net.ListenUDP("udp6", &net.UDPAddr{})
		if err != nil {
			return err
		}
		defer c.Close()
		dst := *group
		dst.Zone = ifi.Name
		for i := 0; i < 20; i++ {
			if _, err := c.WriteToUDP([]byte("hello"), &dst); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := count(joined, 20); got != 20 {
		t.Errorf("joined receiver got %d of 20 datagrams; mdb:\n%s", got, r.MDB())
	}
	if got := count(other, 20); got != 0 {
		t.Errorf("receiver that did not join got %d datagrams (snooping not in effect); mdb:\n%s", got, r.MDB())
	}
}

func count(c *net.UDPConn, want int) int {
	buf := make([]byte, 2048)
	n := 0
	for n < want {
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, _, err := c.ReadFromUDP(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return n
			}
			return n
		}
		n++
	}
	return n
}

func TestRequireSkipsOrFails(t *testing.T) {
	if reason := missing(nil); reason == "" {
		t.Log("privileged: Require would let tests run")
	} else {
		t.Logf("unprivileged: Require would skip (%s)", reason)
	}
}
