#!/bin/bash
# test-all.sh - build vmbatch three ways and run every test:
#   build/       gcc, -Werror: unit + integration suites
#   build-asan/  gcc with ASan+UBSan: unit suite and fuzz corpus replays
#   build-fuzz/  clang libFuzzer targets, each run for $FUZZ_SECONDS (default 20)
# Ends with one line "N passed, N failed[, N skipped]". Exit 0 only if none failed.
# Integration tests need root (network namespaces, system users); without
# root they report themselves skipped.
# First of all, scripts/check-provenance.sh: every program in scripts/programs.list
# must come from a Debian package that scripts/install-deps.sh installs; when it
# fails, nothing is built or run ("provenance: ..." failures and the summary line).

# Debian's directories only: nothing installed by hand outside Debian's packages
# (/usr/local, ~/.pyenv shims, ...) may be used by the builds and tests, or a
# green run here would not mean a green run on a fresh machine after install-deps.sh.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
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
import json, re, sys
# a skipped TAP subtest of a passing test ("ok N - what # SKIP why") counts as a skip too:
# skips are shown and counted, never hidden inside a green test
skip = re.compile(r"^ok\s+\d+\s*(?:-\s*)?(.*?)\s*#\s*SKIP\b\s*(.*)$", re.I)
for line in open(sys.argv[1]):
    t = json.loads(line)
    print("%s\t%s: %s" % (t["result"], sys.argv[2], t["name"]))
    if t["result"] != "OK":
        continue
    for out in (t.get("stdout") or "").splitlines():
        m = skip.match(out)
        if m:
            print("SKIP\t%s: %s: %s (%s)" % (sys.argv[2], t["name"], m.group(1) or "subtest", m.group(2)))
PY
}

record() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }

# the results, then "N passed, N failed[, N skipped]"; exit status 1 if any failed
# (awk, not python3: this must work when the provenance check finds python3 missing)
summary() {
  note "results"
  sort -s -k1,1 "$results" | awk -F'\t' '{printf "%-8s %s\n", $1, $2}'
  awk -F'\t' '
    $1 == "OK" || $1 == "EXPECTEDFAIL" { p++; next }
    $1 == "SKIP" { s++; next }
    { f++ }
    END { printf "%d passed, %d failed%s\n", p, f, s ? sprintf(", %d skipped", s) : ""; exit f ? 1 : 0 }' "$results"
}

note "provenance (scripts/check-provenance.sh)"
prov=$(scripts/check-provenance.sh 2>&1)
prov_rc=$?
printf '%s\n' "$prov"
if [ $prov_rc -eq 0 ]; then
  record OK "provenance"
else
  n=0
  while IFS= read -r line; do
    case "$line" in "provenance: "*) record FAIL "$line"; n=$((n + 1)) ;; esac
  done <<<"$prov"
  [ $n -gt 0 ] || record FAIL "provenance: scripts/check-provenance.sh failed (exit $prov_rc)"
  summary
  exit 1
fi

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

summary
