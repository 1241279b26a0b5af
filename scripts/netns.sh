#!/usr/bin/env bash
# netns.sh: the lcsync test rig for people: one sender and N receivers on a Linux bridge, each
# in its own network namespace. Tests build their own rigs from Go (pkg/netnstest); this script
# is for manual runs, demos and benchmarks.
#
#   scripts/netns.sh up [N]          create lc-br, lc-s and lc-r1..lc-rN (default N=2)
#   scripts/netns.sh down            delete every lc-* namespace
#   scripts/netns.sh loss PCT [I]    drop PCT% of packets towards receiver I (default: all)
#   scripts/netns.sh rate RATE       shape the sender's uplink, e.g. 200mbit (tbf)
#   scripts/netns.sh clear           remove loss and rate shaping
#   scripts/netns.sh status          list namespaces and the bridge's multicast database
#
#  lc-s (sender)   lc-r1 ... lc-rN           each node: eth0 = fd00:6c63::1 / ::1II (+10.99.0.x)
#     |              |         |
#    [s]------------[r1]-br0--[rN]           lc-br: Linux bridge, MLD snooping, MLDv2 querier,
#                                            s is a permanent multicast-router port
#
# Loss uses an nftables random-drop rule on the bridge (this kernel may lack sch_netem);
# each receiver loses its own random set. Needs root, iproute2 and nftables.
set -euo pipefail

need() { command -v "$1" >/dev/null || { echo "netns.sh: $1 is missing (apt-get install ${2:-$1})" >&2; exit 1; }; }
[ "$(id -u)" -eq 0 ] || { echo "netns.sh: must run as root" >&2; exit 1; }
need ip iproute2

receivers() { ip netns list | awk '{print $1}' | grep -E '^lc-r[0-9]+$' | sort -V; }

node() { # node NS PORT ADDR6 ADDR4
	local ns=$1 port=$2
	ip netns add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.forwarding=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$ns" link set lo up
	ip -n "$ns" link add eth0 mtu 1500 type veth peer name "$port" mtu 1500 netns lc-br
	ip -n lc-br link set "$port" master br0 up
	ip -n "$ns" addr add "$3/64" dev eth0 nodad
	ip -n "$ns" addr add "$4/24" brd + dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 224.0.0.0/4 dev eth0
}

up() {
	local n=${1:-2}
	down >/dev/null 2>&1 || true
	ip netns add lc-br
	ip netns exec lc-br sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip -n lc-br link set lo up
	# Timers in centiseconds; the response interval must be set before the querier starts.
	ip -n lc-br link add br0 type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 1 mcast_mld_version 2 mcast_igmp_version 3 \
		mcast_query_interval 1250 mcast_query_response_interval 100 \
		mcast_startup_query_interval 100 mcast_startup_query_count 3
	ip -n lc-br link set br0 up
	node lc-s s fd00:6c63::1 10.99.0.1
	ip -n lc-br link set dev s type bridge_slave mcast_router 2
	for i in $(seq 1 "$n"); do
		node "lc-r$i" "r$i" "fd00:6c63::$((100 + i))" "10.99.0.$((100 + i))"
	done
	ip -n lc-br link set br0 type bridge mcast_querier 1
	sleep 1.5 # the bridge floods until its other-querier delay has passed
	echo "rig up: lc-s and $n receivers (lc-r1..lc-r$n); run commands with: ip netns exec lc-s ..."
}

down() {
	for ns in $(ip netns list | awk '{print $1}' | grep -E '^lc-(br|s|r[0-9]+)$' || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns"
	done
}

loss() {
	need nft nftables
	local pct=$1 only=${2:-}
	ip netns exec lc-br nft add table bridge lc_impair
	ip netns exec lc-br nft add chain bridge lc_impair downlink '{ type filter hook forward priority 0; policy accept; }'
	local th; th=$(awk -v p="$pct" 'BEGIN { printf "%d", p * 1000 }')
	for ns in $(receivers); do
		local i=${ns#lc-r}
		[ -n "$only" ] && [ "$only" != "$i" ] && continue
		ip netns exec lc-br nft add rule bridge lc_impair downlink oifname "r$i" numgen random mod 100000 '<' "$th" counter drop
	done
}

rate() { ip -n lc-s link set eth0 up && tc -n lc-s qdisc replace dev eth0 root tbf rate "$1" burst 256kb latency 50ms; }

clear_impair() {
	ip netns exec lc-br nft delete table bridge lc_impair 2>/dev/null || true
	tc -n lc-s qdisc del dev eth0 root 2>/dev/null || true
}

status() {
	ip netns list | grep -E '^lc-' || echo "no rig"
	bridge -n lc-br mdb show 2>/dev/null || true
}

case "${1:-}" in
up) up "${2:-2}" ;;
down) down ;;
loss) loss "${2:?percent}" "${3:-}" ;;
rate) rate "${2:?rate such as 200mbit}" ;;
clear) clear_impair ;;
status) status ;;
*) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
