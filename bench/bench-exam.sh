#!/bin/bash
# bench-exam.sh [BUILD] - an exam's start (issue 14): N warm VMs resumed
# against N cold boots, in one run, on one vmbatchd (node role, local
# backend, TCG guests) in a network namespace of its own. Needs root. Prints
# figures only; it never passes or fails on time.
#
# N students (N=8 by default; N=... to change) sit two exams of the same
# template, whose guest (the test guest with a /vmb-probe on its disc) prints
# VMB-READY once up, then a heartbeat line on its serial console every 0.2 s:
#   (a) cold: `exam create` (no --warm); at its start every student runs her
#       VM at once (`vm run --no-wait`, all N in parallel), as students do;
#   (b) warm: `exam create --warm --warm-ready VMB-READY`: the N VMs boot
#       at once (exam_warm_lead) and pause on the marker; at the start the
#       exam clock resumes them.
# For each, from the exam's start time: until every instance is "running",
# and until every guest's console answers (its serial log grows: the
# heartbeat of a resumed guest, the first lines of a booting one up to
# VMB-READY). And what a paused warm VM costs: each qemu's RSS and PSS
# (/proc/PID/smaps_rollup) while paused, and the drop of MemAvailable from
# before the warm boot to when all N are paused.
# About 2 + N/4 minutes.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
SRC=$(realpath "$(dirname "$0")/..")
N=${N:-8}
LEAD=${LEAD:-60} # seconds from exam create to its start: the warm VMs boot meanwhile
[ "$(id -u)" -eq 0 ] || { echo "bench-exam: needs root (network namespace, taps, users)" >&2; exit 1; }
[ "$N" -ge 1 ] && [ "$N" -le 60 ] || { echo "bench-exam: N must be 1..60" >&2; exit 1; }
set +e
. "$SRC/tests/integration/lib.sh"
VMBATCHD=$BUILD/src/daemon/vmbatchd; VMBATCH=$BUILD/src/cli/vmbatch; STARTER=$BUILD/src/starter/vmbatch-starter
SCRIPTS=$SRC/scripts; VMAPP_BIN=$VMBATCH
export VMBATCH_GUEST_DIR=${VMBATCH_GUEST_DIR:-$BUILD/guest}
VMBATCH_SKIP_EXIT=1
die() { echo "bench-exam: $*" >&2; exit 1; }
VMB_TEST_USERS="bxteach bxs1 bxs2" begin_node_test bench-exam debugfs python3
STUDENTS=()
for i in $(seq 1 "$N"); do
  u=bxs$i; ensure_user "$u" || die "cannot create user $u"; STUDENTS+=("$u")
  install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "$T/home-$u"
done
vb() { local u=$1; shift; as "$u" "$VMAPP_BIN" "$@"; }
now_ms() { date +%s%3N; }

use_exam_template # lib.sh: the test guest's disc, its probe prints VMB-READY, then a heartbeat

start_node_vmbatchd "exam_warm_lead = 3600" || die "vmbatchd did not start"
A=$NODE_ADMIN
dirs=(); for u in "${STUDENTS[@]}"; do dirs+=("$u:$T/home-$u"); done
exam_setup "$A" bx 30 "$T/guest/exam.qcow2" "$EXAM_CMDLINE" "${dirs[@]}" || die "setup (init, users, template) failed"

instances() { vb "$A" --json instance list 2>/dev/null; }
# ids of the running or paused instances of exam E's vms, "ID STATE" per line
exam_instances() {
  local vms
  vms=$(vb "$A" --json exam show "$1" | pyj "print(' '.join(str(x['vm']) for x in m['members']))")
  instances | pyj "
vms=set(int(v) for v in '$vms'.split())
for i in m:
    if i['vm'] in vms: print(i['id'], i['state'])"
}
count_state() { exam_instances "$1" | awk -v s="$2" '$2 == s' | wc -l; }
serial_size() { stat -c %s "$T/state/jobs/instance-$1.serial" 2>/dev/null || echo 0; }
sleep_until_ms() { local ms=$(( $1 - $(now_ms) )); [ $ms -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; return 0; }
# wait_all E STATE TIMEOUT: until all N instances of E are in STATE
wait_all() {
  local e=$1 st=$2 until=$(( $(now_ms) + $3 * 1000 ))
  while [ "$(now_ms)" -lt $until ]; do
    [ "$(count_state "$e" "$st")" -ge "$N" ] && return 0
    sleep 0.05
  done
  return 1
}
# wait_answer E TIMEOUT SIZES...: until every instance's serial log is larger than its size then ("ID:SIZE")
wait_answer() {
  local e=$1 until=$(( $(now_ms) + $2 * 1000 )) left x
  shift 2
  while [ "$(now_ms)" -lt $until ]; do
    left=0
    for x in "$@"; do [ "$(serial_size "${x%%:*}")" -gt "${x#*:}" ] || { left=1; break; }; done
    [ $left = 0 ] && return 0
    sleep 0.05
  done
  return 1
}
end_exam() {
  vb "$A" exam stop "$1" >/dev/null 2>&1
  local id st
  exam_instances "$1" | while read -r id st; do vb "$A" instance stop "$id" --force >/dev/null 2>&1; done
  local until=$(( $(now_ms) + 60000 ))
  while [ -n "$(exam_instances "$1")" ] && [ "$(now_ms)" -lt $until ]; do sleep 0.5; done
}
# the daemon's own clock: when (ms after START_MS) the last of exam E's
# instances was logged "running" after START_MS (the CLI polling above adds
# its own delay of a few hundred ms)
log_running_ms() {
  local ids
  ids=$(exam_instances "$1" | awk '{print $1}' | tr '\n' ' ')
  python3 - "$T/vmbatchd.log" "$2" $ids <<'PY'
import datetime, re, sys
log, start, ids = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
last = None
for line in open(log, errors="replace"):
    m = re.match(r"(\S+)Z vmbatchd\[\d+\] info: instance (\d+): running$", line.strip())
    if not m or m.group(2) not in ids:
        continue
    t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
    if t >= start:
        last = t if last is None or t > last else last
print(int(last - start) if last is not None else "?")
PY
}
mem_avail_kib() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

echo "bench-exam: N=$N students, TCG guests (128 MiB each), $(nproc) cores, start $LEAD s after exam create"

# ---- (a) cold ----
vb "$A" exam create cold --template tmpl --group bx --start "+${LEAD}s" --end +2h --no-selftest >/dev/null || die "exam create cold"
START=$(vb "$A" --json exam show cold | pyj "print(m['start'])")
sleep_until_ms $(( START * 1000 ))
t0=$(now_ms)
runs=()
for u in "${STUDENTS[@]}"; do vb "$u" vm run "exam-cold-$u" --isolate --no-wait >/dev/null 2>&1 & runs+=($!); done
wait "${runs[@]}" # (not a bare wait: vmbatchd is a child too)
wait_all cold running 600 || die "cold: not all running"
cold_run=$(( $(now_ms) - START * 1000 )); cold_log=$(log_running_ms cold $(( START * 1000 )))
sizes=(); while read -r id st; do sizes+=("$id:0"); done < <(exam_instances cold)
wait_answer cold 600 "${sizes[@]}" || die "cold: a console did not answer"
cold_answer=$(( $(now_ms) - START * 1000 ))
# the console of a cold VM answers with its first boot lines; up is when it prints the marker
until_up() {
  local until=$(( $(now_ms) + 600000 )) id st all
  while [ "$(now_ms)" -lt $until ]; do
    all=1
    while read -r id st; do grep -q VMB-READY "$T/state/jobs/instance-$id.serial" 2>/dev/null || all=0; done < <(exam_instances cold)
    [ $all = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
until_up || die "cold: a guest never came up"
cold_up=$(( $(now_ms) - START * 1000 ))
echo "cold: ${N} vms: all running $cold_run ms (daemon's log: $cold_log ms; qemu started, the guest still booting), every console answering $cold_answer ms, every guest up (VMB-READY) $cold_up ms after the start (the runs issued $(( t0 - START * 1000 )) ms after it)"
end_exam cold

# ---- (b) warm ----
m0=$(mem_avail_kib)
tc=$(now_ms)
vb "$A" exam create warm --template tmpl --group bx --start "+${LEAD}s" --end +2h --warm --warm-ready VMB-READY --no-selftest >/dev/null ||
  die "exam create warm"
START=$(vb "$A" --json exam show warm | pyj "print(m['start'])")
wait_all warm paused $(( LEAD - 2 )) || die "warm: not all paused before the start (raise LEAD)"
warm_boot=$(( $(now_ms) - tc ))
sleep 2
m1=$(mem_avail_kib)
rss=(); pss=()
while read -r id st; do
  p=$(pgrep -f "$T/state/run/instance-$id/" | head -1)
  [ -n "$p" ] || continue
  rss+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")")
  pss+=("$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")")
done < <(exam_instances warm)
sizes=(); while read -r id st; do sizes+=("$id:$(serial_size "$id")"); done < <(exam_instances warm)
sleep_until_ms $(( START * 1000 ))
wait_all warm running 120 || die "warm: not all running after the start"
warm_run=$(( $(now_ms) - START * 1000 )); warm_log=$(log_running_ms warm $(( START * 1000 )))
wait_answer warm 120 "${sizes[@]}" || die "warm: a console did not answer"
warm_answer=$(( $(now_ms) - START * 1000 ))
echo "warm: ${N} vms booted and paused $warm_boot ms after exam create; at the start: all running $warm_run ms (daemon's log: $warm_log ms), every console answering $warm_answer ms after the start"
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1; s+=$1} END {printf "min %d, median %d, max %d, mean %d KiB", a[1], a[int((NR+1)/2)], a[NR], s/NR}'; }
echo "warm: a paused vm's qemu: RSS $(stats "${rss[@]}"); PSS $(stats "${pss[@]}") (guest memory 128 MiB)"
echo "warm: MemAvailable fell by $(( (m0 - m1) / 1024 )) MiB for $N paused vms ($(( (m0 - m1) / N / 1024 )) MiB each)"
awk -v n="$N" -v wr="$warm_run" -v cr="$cold_run" -v wa="$warm_answer" -v cu="$cold_up" 'BEGIN {
  printf "exam start, N=%d: warm/cold = %.3f (all running); warm consoles answering / cold guests up = %.3f\n", n, wr / cr, wa / cu }'
end_exam warm
