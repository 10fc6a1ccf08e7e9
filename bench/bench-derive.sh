#!/bin/bash
# bench-derive.sh [BUILD] - time to derive a VM (qcow2 overlay through
# vmbatchd: authorise, qemu-img as the user, quota, record) from a 1 GiB and
# from a 20 GiB (virtual) template, N times each, interleaved. Copy-on-write
# makes it O(1): the two medians should be the same. Prints figures only.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${N:-15}
T=$(mktemp -d /tmp/vmbatch-bench-derive-XXXXXX)
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
chmod 0755 "$T"
. "$(dirname "$0")/lib.sh"
bench_daemon "$BUILD" "$T"
V="$BUILD/src/cli/vmbatch"
bench_admin "$V" vm add small --disc 1G --derivable >/dev/null
bench_admin "$V" vm add big --disc 20G --derivable >/dev/null
ms() { python3 -c 'import sys,statistics; v=[float(x)/1000 for x in sys.stdin.read().split()]; print("%.1f %.1f %.1f" % (statistics.median(v), min(v), max(v)))'; }
: >"$T/small.us"; : >"$T/big.us"
for i in $(seq "$N"); do
  for base in small big; do
    t0=$(date +%s%N); bench_admin "$V" vm add "d-$base-$i" --base "$base" >/dev/null; t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >>"$T/$base.us"
  done
done
read -r s_med s_min s_max < <(ms <"$T/small.us")
read -r b_med b_min b_max < <(ms <"$T/big.us")
printf 'derive (vm add --base), %d runs each, through the CLI and vmbatchd\n' "$N"
printf '%-22s %10s %10s %10s\n' template "median ms" "min ms" "max ms"
printf '%-22s %10s %10s %10s\n' "1 GiB virtual" "$s_med" "$s_min" "$s_max"
printf '%-22s %10s %10s %10s\n' "20 GiB virtual" "$b_med" "$b_min" "$b_max"
python3 -c "print('ratio 20 GiB / 1 GiB: %.2fx (O(1) means ~1.0)' % ($b_med / $s_med))"
du -k "$T"/adm/"$(id -u "$BENCH_ADMIN")"_d-big-1_0.qcow2 | awk '{print "overlay of the 20 GiB template occupies " $1 " KiB"}'
