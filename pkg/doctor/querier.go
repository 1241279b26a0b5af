package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

// Querier listens for an MLD query on the interfaces for up to wait. A querier (a router, or
// a switch with its querier on) makes hosts report their groups periodically, which keeps
// snooping switches forwarding the channels; without one, snooping switches flood the
// channels to every port or stop forwarding them once their memberships time out, depending
// on the switch. Queriers ask every 125 s by default, so a short wait can miss one: absence
// is a warning, not a failure, and lcsync servers act as querier themselves when none is
// elected.
func Querier(ctx context.Context, ql QuerierListener, ifaces []Interface, wait time.Duration) Result {
	switch {
	case wait <= 0:
		return skip(CheckQuerier, "not checked (--querier-wait 0)", "")
	case len(ifaces) == 0:
		return skip(CheckQuerier, "no usable interface to listen on", "")
	case ql == nil:
		return skip(CheckQuerier, "listening for queries is not supported here", "")
	}
	heard, err := ql.Listen(ctx, ifaces, wait)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return skip(CheckQuerier, "cannot listen for MLD queries without CAP_NET_RAW", "run lcsync --doctor as root to check for a querier")
	case err != nil && ctx.Err() != nil:
		return skip(CheckQuerier, "interrupted", "")
	case err != nil:
		return warn(CheckQuerier, "cannot listen for MLD queries: "+err.Error(), "")
	}
	byIndex := map[int][]QueryHeard{}
	for _, q := range heard {
		byIndex[q.Ifindex] = append(byIndex[q.Ifindex], q)
	}
	var found, v1, silent []string
	for _, ifi := range ifaces {
		qs := byIndex[ifi.Index]
		if len(qs) == 0 {
			silent = append(silent, ifi.Name)
			continue
		}
		q := qs[0]
		desc := fmt.Sprintf("%s: MLDv%d querier %s", ifi.Name, q.Version, q.Source)
		if q.Interval > 0 {
			desc += fmt.Sprintf(" (every %s)", q.Interval)
		}
		found = append(found, desc)
		for _, q := range qs {
			if q.Version == 1 {
				v1 = append(v1, ifi.Name)
				break
			}
		}
	}
	sort.Strings(v1)
	switch {
	case len(v1) > 0:
		return warn(CheckQuerier, "an MLDv1 querier is on "+strings.Join(v1, ", ")+": hosts fall back to MLDv1 and the server may miss their joins",
			"configure the querier for MLDv2 (Linux bridge: ip link set BR type bridge mcast_mld_version 2)")
	case len(silent) > 0:
		detail := fmt.Sprintf("no MLD query heard in %s on %s: snooping switches without a querier may flood the channels to every port or drop them once memberships time out",
			wait, strings.Join(silent, ", "))
		if len(found) > 0 {
			detail += "; heard " + strings.Join(found, ", ")
		}
		return warn(CheckQuerier, detail,
			"enable an MLDv2 querier on the switch or router (Linux bridge: mcast_querier 1), or wait longer (--querier-wait 130s; queriers ask every 125 s by default)")
	}
	return pass(CheckQuerier, strings.Join(found, "; "))
}
