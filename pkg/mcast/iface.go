package mcast

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// errNoInterface is returned by Interfaces when nothing qualifies.
var errNoInterface = errors.New("mcast: no usable interface: need one that is up, multicast-capable and has IPv6; use --iface")

// Interfaces selects the interfaces to send and receive on. With no names it returns every
// interface that is up, multicast-capable, not loopback and has an IPv6 address (a link-local
// address counts), in the system's order. With names it returns exactly those interfaces, in
// the given order, and fails naming every one that is missing, down, not multicast-capable or
// without IPv6. It fails when the result would be empty.
func Interfaces(names []string) ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("mcast: listing interfaces: %w", err)
	}
	if len(names) == 0 {
		var out []net.Interface
		for _, ifi := range all {
			if ifi.Flags&net.FlagLoopback == 0 && usable(&ifi) == "" {
				out = append(out, ifi)
			}
		}
		if len(out) == 0 {
			return nil, errNoInterface
		}
		return out, nil
	}
	byName := make(map[string]net.Interface, len(all))
	for _, ifi := range all {
		byName[ifi.Name] = ifi
	}
	var (
		out      []net.Interface
		problems []string
		seen     = make(map[string]bool, len(names))
	)
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		ifi, ok := byName[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%q not found", name))
			continue
		}
		if why := usable(&ifi); why != "" {
			problems = append(problems, fmt.Sprintf("%q %s", name, why))
			continue
		}
		out = append(out, ifi)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("mcast: unusable interface: %s", strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, errNoInterface
	}
	return out, nil
}

// usable returns why ifi cannot carry lcsync traffic, or "" when it can.
func usable(ifi *net.Interface) string {
	switch {
	case ifi.Flags&net.FlagUp == 0:
		return "is down"
	case ifi.Flags&net.FlagMulticast == 0:
		return "is not multicast-capable"
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return fmt.Sprintf("has unreadable addresses (%v)", err)
	}
	for _, a := range addrs {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		if ip != nil && ip.To4() == nil && ip.To16() != nil {
			return ""
		}
	}
	return "has no IPv6 address"
}
