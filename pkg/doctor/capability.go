package doctor

import (
	"fmt"
	"strconv"
	"strings"
)

// Capability numbers (linux/capability.h).
const (
	capNetAdmin = 12
	capNetRaw   = 13
)

// procCaps are the capability lines of /proc/self/status.
type procCaps struct {
	eff, prm, bnd uint64
	noNewPrivs    bool
}

// parseStatus reads CapEff, CapPrm, CapBnd and NoNewPrivs from /proc/self/status.
func parseStatus(b []byte) (procCaps, error) {
	var pc procCaps
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var dst *uint64
		switch key {
		case "CapEff":
			dst = &pc.eff
		case "CapPrm":
			dst = &pc.prm
		case "CapBnd":
			dst = &pc.bnd
		case "NoNewPrivs":
			pc.noNewPrivs = val == "1"
			continue
		default:
			continue
		}
		v, err := strconv.ParseUint(val, 16, 64)
		if err != nil {
			return pc, fmt.Errorf("doctor: /proc/self/status %s: %q is not hex", key, val)
		}
		*dst = v
		seen++
	}
	if seen < 3 {
		return pc, fmt.Errorf("doctor: /proc/self/status lacks CapEff, CapPrm or CapBnd")
	}
	return pc, nil
}

func has(set uint64, c int) bool { return set&(1<<c) != 0 }

// Capability checks whether a server started like this process could open the raw ICMPv6
// socket its MLD listener needs: CAP_NET_RAW in the effective set (root, or a systemd unit's
// AmbientCapabilities), or granted by the executable's file capabilities. A capability check,
// not a uid check: root without CAP_NET_RAW (a container, a bounding set) cannot either.
// Missing it is a warning: receivers do not need it, and a server can use --carousel.
func Capability(sys System) Result {
	b, err := sys.ReadFile("/proc/self/status")
	if err != nil {
		return warn(CheckCapability, "cannot read /proc/self/status: "+err.Error(), "")
	}
	pc, err := parseStatus(b)
	if err != nil {
		return warn(CheckCapability, err.Error(), "")
	}
	if has(pc.eff, capNetRaw) {
		return pass(CheckCapability, "this process has CAP_NET_RAW, so a server started the same way can listen to MLD")
	}
	fc, err := sys.ExecutableCaps()
	if fc.Path == "" {
		fc.Path = "$(command -v lcsync)"
	}
	fix := "setcap cap_net_raw+ep " + fc.Path + ", or run the server from the lcsync-serve@ systemd unit (AmbientCapabilities=CAP_NET_RAW)"
	switch {
	case err == nil && has(fc.Permitted, capNetRaw) && fc.Effective && has(pc.bnd, capNetRaw) && !pc.noNewPrivs:
		return pass(CheckCapability, fc.Path+" has the file capability cap_net_raw+ep, so a server it starts can listen to MLD")
	case err == nil && has(fc.Permitted, capNetRaw) && (!has(pc.bnd, capNetRaw) || pc.noNewPrivs):
		return warn(CheckCapability, fc.Path+" has cap_net_raw, but this process's bounding set or no_new_privs would not let a server use it",
			"start the server with CAP_NET_RAW in its bounding set and without NoNewPrivileges, or grant it as an ambient capability")
	case err == nil && has(fc.Permitted, capNetRaw):
		return warn(CheckCapability, fc.Path+" has cap_net_raw without the effective bit, so lcsync does not raise it", fix)
	}
	return warn(CheckCapability, "no CAP_NET_RAW: a server here must use --carousel (MLD mode exits with status 6); receivers do not need it", fix)
}
