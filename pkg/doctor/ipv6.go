package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// readInt reads a /proc/sys file holding one integer.
func readInt(sys System, path string) (int64, error) {
	b, err := sys.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var v int64
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &v); err != nil {
		return 0, fmt.Errorf("doctor: %s: %q is not a number", path, strings.TrimSpace(string(b)))
	}
	return v, nil
}

// IPv6 checks that the kernel has IPv6 and that it is not disabled, globally or on the
// chosen interfaces (net.ipv6.conf.*.disable_ipv6).
func IPv6(sys System, ifaces []Interface) Result {
	all, err := readInt(sys, "/proc/sys/net/ipv6/conf/all/disable_ipv6")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(CheckIPv6, "the kernel has no IPv6 (/proc/sys/net/ipv6 is missing)",
			"boot without ipv6.disable=1, or load the ipv6 module")
	case err != nil:
		return warn(CheckIPv6, "cannot read net.ipv6.conf.all.disable_ipv6: "+err.Error(), "")
	case all != 0:
		return fail(CheckIPv6, "IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1)",
			"sysctl -w net.ipv6.conf.all.disable_ipv6=0 (and remove it from /etc/sysctl.d)")
	}
	var off []string
	for _, ifi := range ifaces {
		if v, err := readInt(sys, "/proc/sys/net/ipv6/conf/"+ifi.Name+"/disable_ipv6"); err == nil && v != 0 {
			off = append(off, ifi.Name)
		}
	}
	if len(off) > 0 {
		return fail(CheckIPv6, "IPv6 is disabled on "+strings.Join(off, ", "),
			"sysctl -w net.ipv6.conf."+off[0]+".disable_ipv6=0")
	}
	// force_mld_version=1 makes this host report with MLDv1, to the group address itself,
	// which a server in MLD mode hears only for groups it listens to (mld.Config.MLDv1Reports).
	var v1 []string
	for _, name := range append([]string{"all"}, ifaceNamesOf(ifaces)...) {
		if v, err := readInt(sys, "/proc/sys/net/ipv6/conf/"+name+"/force_mld_version"); err == nil && v == 1 {
			v1 = append(v1, name)
		}
	}
	if len(v1) > 0 {
		return warn(CheckIPv6, "MLDv1 is forced (net.ipv6.conf."+v1[0]+".force_mld_version = 1): this host's joins are MLDv1 reports, which an lcsync server in MLD mode does not hear",
			"sysctl -w net.ipv6.conf."+v1[0]+".force_mld_version=0")
	}
	return pass(CheckIPv6, "IPv6 is enabled")
}
