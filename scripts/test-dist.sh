#!/usr/bin/env bash
# test-dist.sh: check what an administrator installs.
#   make install into a temporary prefix (every file in place, the binary runs, the
#   completions parse), systemd-analyze verify on the installed units (their ExecStart
#   binary and their man: documentation resolved in that prefix) and their exposure score,
#   make uninstall (nothing left), then make deb and dpkg-deb --info/--contents on it.
# Needs make, systemd-analyze, man and dpkg-deb; scripts/deps.sh installs them as root.
# Without them it says so and fails under LCSYNC_REQUIRE_NETNS=1, else skips.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh make systemd-analyze man dpkg-deb
for t in make systemd-analyze man dpkg-deb; do
	if ! command -v "$t" >/dev/null; then
		if [ "${LCSYNC_REQUIRE_NETNS:-}" = 1 ]; then echo "test-dist: $t is missing" >&2; exit 1; fi
		echo "SKIP test-dist: $t is missing; run as root so scripts/deps.sh installs it" >&2
		exit 0
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-dist: FAIL: $*" >&2; exit 1; }

echo "== make install PREFIX=$tmp/usr"
make -s install PREFIX="$tmp/usr" >/dev/null
p=$tmp/usr
for f in bin/lcsync share/man/man1/lcsync.1 lib/systemd/system/lcsync-serve@.service \
	lib/systemd/system/lcsync-fetch@.service lib/systemd/system/lcsync-fetch@.timer lib/systemd/system/lcsync-follow@.service \
	lib/sysusers.d/lcsync.conf \
	share/bash-completion/completions/lcsync share/zsh/site-functions/_lcsync \
	share/fish/vendor_completions.d/lcsync.fish share/doc/lcsync/README.md share/doc/lcsync/PROTOCOL.md; do
	[ -s "$p/$f" ] || fail "make install did not install $f"
done
"$p/bin/lcsync" --version | grep -q '^lcsync ' || fail "the installed binary does not run"
grep -q "ExecStart=$p/bin/lcsync " "$p/lib/systemd/system/lcsync-serve@.service" || fail "ExecStart does not name the installed binary"
bash -n "$p/share/bash-completion/completions/lcsync" || fail "bash completion does not parse"
grep -q -- '--doctor' "$p/share/bash-completion/completions/lcsync" || fail "bash completion lacks --doctor"
MANPATH=$p/share/man man -w lcsync >/dev/null || fail "man does not find the installed page"

echo "== systemd-analyze verify"
units=(lcsync-serve@srv-share.service lcsync-fetch@srv-mirror.service lcsync-fetch@srv-mirror.timer lcsync-follow@srv-mirror.service)
# The unit path ends with ':' so that systemd's own units (sysinit.target...) are found too.
out=$(cd "$tmp" && SYSTEMD_UNIT_PATH=$p/lib/systemd/system: MANPATH=$p/share/man systemd-analyze verify "${units[@]}" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
# Exposure: 0 is fully sandboxed, 10 not at all; the server must stay "OK" (below 3).
SYSTEMD_UNIT_PATH=$p/lib/systemd/system: systemd-analyze security --offline=yes --threshold=30 lcsync-serve@srv-share.service >/dev/null ||
	fail "lcsync-serve@ exposure is above 3.0: $(SYSTEMD_UNIT_PATH=$p/lib/systemd/system: systemd-analyze security --offline=yes lcsync-serve@srv-share.service 2>&1 | tail -1)"
SYSTEMD_UNIT_PATH=$p/lib/systemd/system: systemd-analyze security --offline=yes lcsync-serve@srv-share.service lcsync-fetch@srv-mirror.service 2>&1 | grep 'Overall exposure' || true

echo "== make uninstall"
make -s uninstall PREFIX="$tmp/usr" >/dev/null
left=$(find "$p" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"

echo "== make deb"
make -s deb >/dev/null
deb=$(ls -t bin/lcsync_*.deb | head -1)
info=$(dpkg-deb --info "$deb")
for field in "Package: lcsync" "Architecture: $(go env GOARCH)" "Section: net" " postinst" " postrm"; do
	grep -q -- "$field" <<<"$info" || fail "dpkg-deb --info lacks '$field': $info"
done
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/lcsync ./usr/share/man/man1/lcsync.1.gz ./lib/systemd/system/lcsync-serve@.service \
	./lib/systemd/system/lcsync-fetch@.service ./lib/systemd/system/lcsync-fetch@.timer ./lib/systemd/system/lcsync-follow@.service \
	./usr/lib/sysusers.d/lcsync.conf \
	./usr/share/bash-completion/completions/lcsync ./usr/share/zsh/site-functions/_lcsync \
	./usr/share/fish/vendor_completions.d/lcsync.fish ./usr/share/doc/lcsync/copyright ./usr/share/doc/lcsync/README.md ./etc/lcsync/; do
	grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
grep -q 'ExecStart=/usr/bin/lcsync ' <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/lcsync-serve@.service) ||
	fail "the packaged unit does not run /usr/bin/lcsync"
dpkg-deb -x "$deb" "$tmp/x"
"$tmp/x/usr/bin/lcsync" --version >/dev/null || fail "the packaged binary does not run"
dpkg-deb -e "$deb" "$tmp/ctl"
sh -n "$tmp/ctl/postinst" && sh -n "$tmp/ctl/postrm" || fail "maintainer scripts do not parse"
if grep -Eq 'systemctl (enable|start|restart)|deb-systemd-invoke' "$tmp/ctl/postinst"; then fail "postinst enables or starts units"; fi
echo "test-dist: $deb ok"
