package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Linux is the real System: /proc, the interface list, the executable's extended attributes
// and the firewall tools on PATH.
type Linux struct{}

// ReadFile reads a file.
func (Linux) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

// Interfaces lists the interfaces with their addresses.
func (Linux) Interfaces() ([]Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("doctor: listing interfaces: %w", err)
	}
	out := make([]Interface, 0, len(all))
	for _, ifi := range all {
		d := Interface{Name: ifi.Name, Index: ifi.Index, Flags: ifi.Flags}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("doctor: addresses of %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ip, _ := netip.AddrFromSlice(n.IP)
				ones, _ := n.Mask.Size()
				d.Addrs = append(d.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// ExecutableCaps reads the executable's security.capability attribute.
func (Linux) ExecutableCaps() (FileCaps, error) {
	exe, err := os.Executable()
	if err != nil {
		return FileCaps{}, fmt.Errorf("doctor: finding the executable: %w", err)
	}
	fc := FileCaps{Path: exe}
	b, err := getxattr(exe, "security.capability")
	if err != nil {
		return fc, err
	}
	return parseFileCaps(fc, b)
}

// firewallTimeout bounds each firewall tool's run.
const firewallTimeout = 10 * time.Second

// Firewall runs `nft -j list ruleset`, or `ip6tables-save` when nft is absent.
func (Linux) Firewall(ctx context.Context) (FirewallDump, error) {
	ctx, cancel := context.WithTimeout(ctx, firewallTimeout)
	defer cancel()
	tool, args := "nft", []string{"-j", "list", "ruleset"}
	path, err := exec.LookPath(tool)
	if err != nil {
		tool, args = "ip6tables", nil
		if path, err = exec.LookPath("ip6tables-save"); err != nil {
			return FirewallDump{}, ErrNoFirewallTool
		}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "Operation not permitted") || strings.Contains(msg, "Permission denied") {
			return FirewallDump{}, fmt.Errorf("doctor: %s: %s: %w", path, msg, fs.ErrPermission)
		}
		return FirewallDump{}, fmt.Errorf("doctor: %s: %w: %s", path, err, msg)
	}
	return FirewallDump{Tool: tool, Output: out}, nil
}

// errEnough stops CountDirs at its limit.
var errEnough = errors.New("enough")

// CountDirs counts the directories under root, stopping at limit.
func (Linux) CountDirs(root string, limit int) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n++; n >= limit {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return n, fmt.Errorf("doctor: %w", err)
	}
	return n, nil
}
