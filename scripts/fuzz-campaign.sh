#!/bin/bash
# fuzz-campaign.sh [SECONDS] [TARGET...] - the long fuzz run (not in CI): each
# libFuzzer target (clang, ASan+UBSan, build-fuzz/) for SECONDS (default 600)
# from its seed corpus, JOBS (default 1) at a time. Prints per target its
# executions, executions per second, corpus size and whether it found
# anything (a crash file under build-fuzz/findings/TARGET); exit 1 if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-600}
shift || true
JOBS=${JOBS:-1}
CC=clang scripts/build.sh build-fuzz -Dfuzz=true >/dev/null || { echo "fuzz-campaign: cannot build build-fuzz"; exit 1; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || for f in build-fuzz/tests/fuzz/fuzz-*; do [ -f "$f" ] && [ -x "$f" ] && targets+=("$(basename "$f")"); done
mkdir -p build-fuzz/findings
run_one() {
  local name=$1 corpus seeds
  corpus=build-fuzz/corpus-$name; mkdir -p "$corpus" "build-fuzz/findings/$name"
  seeds=tests/fuzz/corpus/${name#fuzz-}
  build-fuzz/tests/fuzz/"$name" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/findings/$name/" "$corpus" $( [ -d "$seeds" ] && echo "$seeds") \
    >"build-fuzz/$name.campaign.log" 2>&1
  local rc=$? runs
  runs=$(grep -o 'Done [0-9]* runs' "build-fuzz/$name.campaign.log" | tail -1 | grep -o '[0-9]*')
  printf '%-18s %s s  %12s execs  %8s execs/s  corpus %5s files  %s\n' "$name" "$SECONDS_PER" "${runs:-?}" \
    "$(( ${runs:-0} / SECONDS_PER ))" "$(ls "$corpus" | wc -l)" \
    "$([ $rc -eq 0 ] && [ -z "$(ls "build-fuzz/findings/$name")" ] && echo "no finding" || echo "FINDING (see build-fuzz/$name.campaign.log)")"
  [ $rc -eq 0 ]
}
fail=0
running=0
for t in "${targets[@]}"; do
  run_one "$t" & running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then wait -n || fail=1; running=$((running - 1)); fi
done
while [ $running -gt 0 ]; do wait -n || fail=1; running=$((running - 1)); done
exit $fail
