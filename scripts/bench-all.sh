#!/bin/bash
# bench-all.sh [BUILD] - build vmbatch (into BUILD, default build) and run every
# benchmark in bench/ one after the other, as root (about 9 minutes; bench-submit
# alone takes about 6).
# Benchmarks print figures; they never pass or fail on time. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
[ "$(id -u)" -eq 0 ] || { echo "bench-all: run as root" >&2; exit 1; }
scripts/build.sh "$BUILD" >/dev/null
rc=0
run() {
  printf '\n== %s\n' "$*"
  "$@" || { echo "bench-all: '$*' did not complete (exit $?)"; rc=1; }
}
run "$BUILD/bench/bench-control" --clients 50 --cycles 100 --vmbatchd "$BUILD/src/daemon/vmbatchd"
run "$BUILD/bench/bench-control" --clients 300 --cycles 20 --vmbatchd "$BUILD/src/daemon/vmbatchd"
run bench/bench-derive.sh "$BUILD"
run bench/bench-responsive.sh "$BUILD"
run bench/bench-boot.sh "$BUILD"
run "$BUILD/bench/bench-filter"
run bench/bench-console.sh "$BUILD"
run bench/bench-exam.sh "$BUILD"
run bench/bench-submit.sh "$BUILD"
exit $rc
