#!/bin/bash
# install-deps.sh - install every Debian 12 package vmbatch needs to build,
# run and test. Idempotent: does nothing (and needs no network) when all
# packages are present. Run as root.
#   install-deps.sh --list   print the packages, one a line, and do nothing else
#                            (scripts/check-provenance.sh reads them)
set -euo pipefail

PACKAGES=(
  # build; apt: apt-get, apt-cache (this script, build-test-guest.sh): required, not Essential
  apt gcc meson ninja-build pkg-config libsqlite3-dev libjansson-dev nettle-dev
  # cluster mode: controller <-> node messages sealed with MUNGE
  libmunge-dev
  # isolation filters; iptables brings ebtables-nft, which the ebtables backend runs
  # (Debian's ebtables package is only ebtables-legacy, which this kernel lacks)
  libnftables-dev nftables iptables
  # fuzzing (libFuzzer + sanitizer runtimes); llvm: llvm-ar, meson's static linker for clang
  clang libclang-rt-14-dev llvm
  # the console gateway (vmbatch-web): HTTP, WebSocket and TLS from libwebsockets,
  # its self-signed certificate through OpenSSL (libssl-dev), noVNC's files served
  # to the browser; tests: a WebSocket client (test-web-gateway.sh) and a headless
  # browser for the console's browser test
  libwebsockets-dev libssl-dev novnc python3-websocket chromium
  # the browser test decodes the canvas, the screenshots and vncsnapshot's JPEG
  python3-pil
  # runtime: discs, guests, DHCP
  qemu-utils qemu-system-x86 dnsmasq-base dnsmasq-utils isc-dhcp-server
  # tests: the tiny test guest, its ISO, a VNC client, system users; python3
  # (Debian's /usr/bin/python3) for test-all.sh, meson and the tests
  busybox-static cpio e2fsprogs kmod gzip xorriso isolinux syslinux-common vncsnapshot
  passwd util-linux iproute2 sqlite3 acl python3
  # the Debian package (test-package.sh): dpkg-buildpackage with debhelper's meson
  # support, lintian, sd_notify readiness (libsystemd), systemd-analyze verify and
  # systemd-tmpfiles (systemd), the logrotate config, bash completion's helpers,
  # capsh (libcap2-bin: the daemon's bounding set), git (a clean clone)
  dpkg-dev debhelper lintian libsystemd-dev systemd logrotate bash-completion libcap2-bin git
  # batch_backend = slurm (scripts/slurm-up.sh runs them without systemd)
  slurm-wlm slurmctld slurmd slurm-client munge
  # batch_backend = sge (scripts/sge-up.sh runs them without systemd)
  gridengine-master gridengine-exec gridengine-client gridengine-common
)
if [ "${1:-}" = --list ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Grid Engine's packages ask (debconf) whether to set up a cell and where its master is
if command -v debconf-set-selections >/dev/null; then
  for p in common client exec master; do
    echo "gridengine-$p shared/gridengineconfig boolean true"
    echo "gridengine-$p shared/gridenginecell string default"
    echo "gridengine-$p shared/gridenginemaster string $(hostname)"
  done | debconf-set-selections
fi
# daemons packaged with init scripts (isc-dhcp-server) must not start at install
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
