#!/usr/bin/env bash
# deps.sh [tools...]: install the Debian packages that provide the given tools, when missing.
# With no arguments: what the tests need (ip, bridge, tc from iproute2; nft from nftables;
# minisign, for the key interoperability test).
# Needs root for apt-get; prints what to install otherwise.
set -euo pipefail
declare -A pkg=([ip]=iproute2 [bridge]=iproute2 [tc]=iproute2 [nft]=nftables [rsync]=rsync
	[uftp]=uftp [uftpd]=uftp [udp-sender]=udpcast [udp-receiver]=udpcast [iperf]=iperf
	[ss]=iproute2 [timeout]=coreutils [truncate]=coreutils [tar]=tar [tcpdump]=tcpdump [man]=man-db [groff]=groff-base [sha256sum]=coreutils [time]=time [python3]=python3
	[lsyncd]=lsyncd [sshd]=openssh-server [ssh]=openssh-client [ssh-keygen]=openssh-client [syncthing]=syncthing
	[make]=make [systemd-analyze]=systemd [dpkg-deb]=dpkg [zsh]=zsh [fish]=fish [curl]=curl [minisign]=minisign)
tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(ip bridge tc nft minisign)
want=()
for t in "${tools[@]}"; do
	if [ "$t" = time ]; then [ -x /usr/bin/time ] && continue; else command -v "$t" >/dev/null && continue; fi
	want+=("${pkg[$t]:-$t}")
done
[ ${#want[@]} -eq 0 ] && exit 0
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing ${want[*]}; install them (apt-get install ${want[*]}) or run as root" >&2
	exit 0
fi
echo "deps.sh: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
