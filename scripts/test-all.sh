#!/bin/bash
# test-all.sh - build vmbatch three ways and run every test:
#   build/       gcc, -Werror: unit + integration suites
#   build-asan/  gcc with ASan+UBSan: unit suite and fuzz corpus replays
#   build-fuzz/  clang libFuzzer targets, each run for $FUZZ_SECONDS (default 20)
# Ends with one line "N passed, N failed[, N skipped]". Exit 0 only if none failed.
# Integration tests need root (network namespaces, system users); without
# root they report themselves skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

note() { printf '== %s\n' "$*"; }

# $1 build dir, rest: meson test arguments
run_meson_tests() {
  local dir=$1; shift
  meson test -C "$dir" --print-errorlogs "$@"
  python3 - "$dir/meson-logs/testlog.json" "$dir" >>"$results" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print("%s\t%s: %s" % (t["result"], sys.argv[2], t["name"]))
PY
}

record() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }

note "build (gcc, -Werror)"
if scripts/build.sh build -Dwerror=true; then
  run_meson_tests build
else
  record FAIL "build: compile"
fi

note "build-asan (ASan + UBSan)"
if scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_meson_tests build-asan --suite unit --suite fuzz
else
  record FAIL "build-asan: compile"
fi

note "build-fuzz (clang libFuzzer, ${FUZZ_SECONDS}s per target)"
if command -v clang >/dev/null && CC=clang scripts/build.sh build-fuzz -Dfuzz=true; then
  for f in build-fuzz/tests/fuzz/fuzz-*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus=$(mktemp -d)
    seeds=tests/fuzz/corpus/${name#fuzz-}
    if "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 "$corpus" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} \
         >"build-fuzz/$name.log" 2>&1; then
      record OK "build-fuzz: $name ($(grep -o 'Done [0-9]* runs' "build-fuzz/$name.log" | tail -1))"
    else
      tail -30 "build-fuzz/$name.log"
      record FAIL "build-fuzz: $name (see build-fuzz/$name.log)"
    fi
    rm -rf "$corpus"
  done
else
  record SKIP "build-fuzz: clang not available"
fi

note "results"
sort -s -k1,1 "$results" | awk -F'\t' '{printf "%-8s %s\n", $1, $2}'
python3 - "$results" <<'PY'
import sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = line.split("\t", 1)[0]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print("%d passed, %d failed%s" % (p, f, (", %d skipped" % s) if s else ""))
sys.exit(1 if f else 0)
PY
