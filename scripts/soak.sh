#!/bin/bash
# soak.sh [CYCLES] [BUILD] - the fault soak (not in CI): CYCLES (default 500)
# times, start a VM and after 0-4 s SIGKILL its starter, its qemu or vmbatchd
# itself (restarted at once), or stop it; then count what leaked: mappings,
# taps, DHCP host files and leases, nft elements, starters, qemus, dnsmasqs,
# runtime directories. It is tests/integration/test-vm-faults.sh with many
# cycles (VMBATCH_FAULT_CYCLES); VMBATCH_FAULT_SEED repeats a sequence. Run as
# root; guests run under TCG, about 5 s a cycle on 2 cores. Prints the
# per-kind tally of the cycles and each leak check with its figure.
set -uo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-500}
BUILD=${2:-build}
scripts/build.sh "$BUILD" >/dev/null || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
t0=$(date +%s)
VMBATCH_FAULT_CYCLES=$CYCLES VMBATCH_SKIP_EXIT=0 VMBATCH_GUEST_DIR=$BUILD/guest \
  bash tests/integration/test-vm-faults.sh "$BUILD/src/daemon/vmbatchd" "$BUILD/src/cli/vmbatch" \
  "$BUILD/src/starter/vmbatch-starter" scripts >"$out" 2>&1
rc=$?
echo "soak: $CYCLES cycles in $(( $(date +%s) - t0 )) s ($(grep -m1 -o 'seed [0-9]*' "$out"))"
echo "  SIGKILL of (none: a plain stop):"
for kind in starter qemu daemon none; do
  printf '  %-8s %4d cycles, ended and unmapped in %4d\n' "$kind" \
    "$(grep -E "^(not )?ok [0-9]+ - cycle [0-9]+: $kind after .*ended and unmapped" "$out" | grep -c .)" \
    "$(grep -E "^ok [0-9]+ - cycle [0-9]+: $kind after .*ended and unmapped" "$out" | grep -c .)"
done
echo "  cycles that failed: $(grep -cE '^not ok [0-9]+ - cycle' "$out")"
grep -E '^(ok|not ok) [0-9]+ - leaks:' "$out" | sed 's/^/  /'
echo "  not ok in all: $(grep -c '^not ok' "$out")"
exit $rc
