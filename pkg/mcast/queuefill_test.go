//go:build linux

package mcast

import (
	"net"
	"testing"
)

func TestQueueFill(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no loopback interface:", err)
	}
	r, err := ListenRecv(RecvConfig{Port: 42999, Ifaces: []net.Interface{*lo}, RcvBuf: 1 << 20})
	if err != nil {
		t.Skip("cannot listen:", err)
	}
	defer r.Close()
	used, limit, err := r.QueueFill()
	if err != nil {
		t.Fatal(err)
	}
	if used != 0 || limit < 1<<20 {
		t.Errorf("empty queue: used %d, limit %d", used, limit)
	}
	// Fill it with unicast datagrams to the bound port.
	c, err := net.DialUDP("udp6", nil, &net.UDPAddr{IP: net.IPv6loopback, Port: 42999})
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer c.Close()
	for range 10 {
		if _, err := c.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if used, _, _ = r.QueueFill(); used < 10*1000 {
		t.Errorf("after 10 datagrams of 1000 bytes the queue holds %d bytes", used)
	}
}
