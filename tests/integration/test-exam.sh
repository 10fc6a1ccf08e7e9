#!/bin/bash
# test-exam.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Issue 14's "Done when" for an exam on the local backend, with --warm: a
# real vmbatchd (node role, dnsmasq, TCG guests) in a network namespace this
# test makes, a teacher (admin_user) and three students in a user group.
#  - `vmbatch exam create --warm` derives one forced-isolated vm per student
#    (exam-final-USER, the student's) and boots each at once (the start is
#    within exam_warm_lead), as its student; each is paused once its serial
#    console prints the exam's marker (VMB-READY), and stays silent; before
#    the start the student can neither resume it, nor open its console, nor
#    run it (controls: the teacher's console.open is given);
#  - at the start all three are resumed: the time from the start until every
#    instance is running and every guest prints again is measured (and a
#    cold boot of the same guest for comparison);
#  - each guest writes a known file (answer.txt, with its own address and a
#    counter it raises every second) to its disc, prints a heartbeat every
#    0.2 s; the sealed answer.txt holds a counter the guest reached after
#    the start;
#  - one student gets a minute more (`exam extend`): only their deadline moves;
#  - at each deadline the vm is frozen within 1 s (the frozen_at the daemon
#    recorded, and the guest's last serial output), paused, its tap off the
#    bridge; the others' stay running until theirs;
#  - the recorded sha256 is sha256sum's of the sealed file, which is the
#    teacher's, 0440, out of the student's reach, and holds the known file;
#  - after the deadline run, mod, del and resume are refused with the message,
#    and so is more time for a frozen student;
#  - a receipt verifies (daemon key and --key), one with a changed sha256
#    digit does not; a student's exam show has only their row; the audit
#    log has the exam's actions;
#  - a second exam, stopped (exam stop) before anyone ran, seals every
#    member's untouched overlay at once.
# Figures (TAP diagnostics): time to derive the three vms, freeze latency per
# student, seal time per student.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release debugfs python3 sha256sum; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

TEACHER=exwteach
STUDENTS=(exwst1 exwst2 exwst3)
LATE=exwst3 # the one with a minute more
EXAM=final

T=$(mktemp -d /tmp/vmbatch-exam-XXXXXX); chmod 0755 "$T"
NS=vmb-exam-$$
# the daemon, the jobs, whatever runs in the namespace, the namespace, our users, $T
trap 'end_node_test "$NS"' EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

use_test_guest
use_exam_template # $T/guest/exam.qcow2 (lib.sh): answer.txt with a counter, VMB-READY, a heartbeat

for u in "$TEACHER" "${STUDENTS[@]}"; do ensure_user "$u" || skip_all "cannot create user $u"; done
mkdir -p "$T/home" && chmod 0755 "$T/home"
for u in "${STUDENTS[@]}"; do install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "$T/home/$u"; done
mkdir -p "$T/templates" && chown "$TEACHER": "$T/templates" && chmod 0711 "$T/templates"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
vb() { local u=$1; shift; as "$u" "$VMAPP_BIN" "$@"; }

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
VMB_PREFIX="ip netns exec $NS"
start_vmbatchd "$T" "admin_user = $TEACHER" "admin_stordir = $T/templates" "state_dir = $T/state" \
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
  "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" &&
  wait_for 15 eval 'v $TEACHER --ping >/dev/null 2>&1' ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (node role, dnsmasq) started in namespace $NS"

setup() {
  local u dirs=()
  for u in "${STUDENTS[@]}"; do dirs+=("$u:"$T/home/$u""); done
  exam_setup $TEACHER examug 20 "$T/guest/exam.qcow2" "$EXAM_CMDLINE" "${dirs[@]}"
}
setup; ok $? "setup: the teacher $TEACHER (admin_user), group examug with ${STUDENTS[*]}, template tmpl"

# ---- create: one vm per student ----
t0=$(now_ms)
out=$(vb $TEACHER exam create $EXAM --template tmpl --group examug --start +100s --end +190s --warm --warm-ready VMB-READY --no-selftest 2>&1); rc=$?
derive_ms=$(( $(now_ms) - t0 ))
[ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "created exam $EXAM (id 1): 3 vm(s) derived from tmpl for group examug"
ok $? "exam create: $out"
diag "time to derive the three vms (exam create, wall): $derive_ms ms"
[ $rc -eq 0 ] || { tail -20 "$T/vmbatchd.log" | sed 's/^/# /'; }

show_json() { vb "${1:-$TEACHER}" --json exam show $EXAM 2>/dev/null; }
# member USER KEY: a field of USER's row in the teacher's exam show
member() { show_json | pyj "r=[x for x in m['members'] if x['user']=='$1']; print(r[0]['$2'] if r else '')"; }
exam_field() { show_json | pyj "print(m['$1'])"; }
END=$(exam_field end); START=$(exam_field start)
names=$(show_json | pyj "print(' '.join(sorted(x['vm_name'] for x in m['members'])))")
[ "$names" = "exam-$EXAM-exwst1 exam-$EXAM-exwst2 exam-$EXAM-exwst3" ]; ok $? "three vms derived: $names"
states=$(show_json | pyj "print(' '.join(x['state'] for x in m['members']))")
[ "$states" = "pending pending pending" ]; ok $? "each member is pending before the start ($states)"
exam_field warm_ready | grep -qx VMB-READY; ok $? "the exam is warm, its marker VMB-READY"

for u in "${STUDENTS[@]}"; do
  vmj=$(vb "$u" --json vm show "exam-$EXAM-$u" 2>&1)
  printf '%s' "$vmj" | pyj "sys.exit(0 if m['owner']==$(id -u "$u") and m.get('base_name', m.get('base'))  else 1)"
  ok $? "$u owns exam-$EXAM-$u, derived from the template"
  [ -f "$T/home/$u/$(id -u "$u")_exam-${EXAM}-${u}_0.qcow2" ]; ok $? "$u's overlay is in their storage folder"
done
diag "vm show of exam-$EXAM-exwst1: $(vb exwst1 --json vm show exam-$EXAM-exwst1 2>&1 | tr -d '\n' | head -c 600)"

# ---- warm: booted now (the start is within exam_warm_lead), paused once up ----
maplist() { vb $TEACHER --json instance list 2>/dev/null; }
declare -A VMID INST TAP IP SERIAL PRE_N
for u in "${STUDENTS[@]}"; do VMID[$u]=$(member "$u" vm); done
# inst_field USER KEY: a field of the instance of USER's exam vm
inst_field() { maplist | pyj "r=[i for i in m if i['vm']==${VMID[$1]}]; print(r[0]['$2'] if r else '')"; }
t0=$(now_ms)
for u in "${STUDENTS[@]}"; do
  wait_for 120 eval '[ "$(inst_field '"$u"' state)" = paused ]'
  ok $? "$u's vm was booted by the exam and paused once up ($(( $(now_ms) - t0 )) ms after create)"
  INST[$u]=$(inst_field "$u" id); TAP[$u]=$(inst_field "$u" tap); IP[$u]=$(inst_field "$u" ip)
  SERIAL[$u]=$T/state/jobs/instance-${INST[$u]}.serial
  [ "$(inst_field "$u" uid)" = "$(id -u "$u")" ] && [ "$(inst_field "$u" isolated)" = True ]
  ok $? "$u's warm instance ${INST[$u]} runs as $u, isolated ($(inst_field "$u" uid) $(inst_field "$u" isolated))"
done
diag "warm boot: all three paused $(( $(now_ms) - t0 )) ms after exam create"
for u in "${STUDENTS[@]}"; do
  grep -q "VMB-READY" "${SERIAL[$u]}"; ok $? "$u's guest printed the marker before it was paused"
  grep -q "warm: its console printed the marker after" "$T/jobs/instance-${INST[$u]}.log" "$T/state/jobs/instance-${INST[$u]}.log" 2>/dev/null
  ok $? "$u's starter paused it on the marker ($(grep -ho "warm: its console printed the marker after [0-9]* ms" "$T/state/jobs/instance-${INST[$u]}.log" 2>/dev/null))"
done
s1=$(for u in "${STUDENTS[@]}"; do stat -c %s "${SERIAL[$u]}"; done); sleep 2
s2=$(for u in "${STUDENTS[@]}"; do stat -c %s "${SERIAL[$u]}"; done)
[ "$s1" = "$s2" ]; ok $? "the paused guests print nothing before the start (serial sizes $(echo $s1) -> $(echo $s2))"
for u in "${STUDENTS[@]}"; do PRE_N[$u]=$(grep -ao "VMB-ANSWER n=[0-9]*" "${SERIAL[$u]}" | tail -1 | cut -d= -f2); PRE_N[$u]=${PRE_N[$u]:-0}; done
diag "answer counters when paused: $(for u in "${STUDENTS[@]}"; do printf '%s=%s ' "$u" "${PRE_N[$u]}"; done)"
expect_fail "a student's resume before the start is refused" "has not started" -- vb exwst1 vm resume "exam-$EXAM-exwst1"
expect_fail "a student's console before the start is refused" "has not started" -- vb exwst1 console "exam-$EXAM-exwst1"
out=$(vb $TEACHER console --instance "${INST[exwst1]}" 2>&1); ok $? "control: the teacher's console.open of the warm vm is given ($(printf '%s' "$out" | head -1 | cut -c1-60))"
[ "$(inst_field exwst1 state)" = paused ]; ok $? "exwst1's vm is still paused"
expect_fail "a run before the start is refused" "has not started" -- vb exwst1 vm run "exam-$EXAM-exwst1" --isolate --no-wait
# what the exam vm boots is the teacher's, before the deadline too: a student's own initrd could carry notes
echo notes >"$T/home/exwst1/notes.img" && chown exwst1: "$T/home/exwst1/notes.img"
expect_fail "a vm mod of the exam vm's kernel and initrd before the deadline is refused" "only an admin changes it" -- \
  vb exwst1 vm mod "exam-$EXAM-exwst1" --kernel "$T/home/exwst1/notes.img" --initrd "$T/home/exwst1/notes.img"
own_mod() { vb exwst1 vm add "own-$EXAM" --disc 16M >/dev/null && vb exwst1 vm mod "own-$EXAM" --kernel "$T/home/exwst1/notes.img" --initrd "$T/home/exwst1/notes.img"; }
out=$(own_mod 2>&1); ok $? "control: the same change to a vm of her own that is not the exam's is taken${out:+: $out}"
vb exwst1 vm del "own-$EXAM" >/dev/null 2>&1
# ---- the start: the clock resumes every warm vm ----
all_running() {
  local u
  for u in "${STUDENTS[@]}"; do [ "$(inst_field "$u" state)" = running ] || return 1; done
}
# printing again: the serial log grew past its size while paused
all_printing() {
  local u i=0
  for u in "${STUDENTS[@]}"; do
    [ "$(stat -c %s "${SERIAL[$u]}")" -gt "$(echo $s2 | cut -d' ' -f$((i + 1)))" ] || return 1; i=$((i + 1))
  done
}
sleep_until_ms() { local ms=$(( $1 - $(now_ms) )); [ $ms -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; return 0; }
sleep_until_ms $(( START * 1000 - 500 ))
wait_for 20 all_running; run_ms=$(( $(now_ms) - START * 1000 ))
ok $? "at the start all three warm vms are running: $run_ms ms after the start time"
wait_for 20 all_printing; print_ms=$(( $(now_ms) - START * 1000 ))
ok $? "... and every guest prints again: $print_ms ms after the start time"
[ "$run_ms" -le 5000 ] && [ "$print_ms" -le 5000 ]; ok $? "the warm start took seconds, not a boot ($run_ms / $print_ms ms <= 5000)"
diag "warm start: all running $run_ms ms, all printing $print_ms ms after the start time"
running() { [ "$(exam_field state)" = running ]; }
wait_for 10 running; ok $? "the exam is running"
for u in "${STUDENTS[@]}"; do
  [ "$(inst_field "$u" id)" = "${INST[$u]}" ]; ok $? "$u's instance is still the warm one (${INST[$u]})"
done
expect_fail "a run without --isolate is refused (forced isolation)" "unisolated" -- \
  vb exwst1 vm run "exam-$EXAM-exwst1" --no-wait

out=$(vb $TEACHER exam extend $EXAM $LATE 1 2>&1); ok $? "exam extend $EXAM $LATE 1: $out"
for u in "${STUDENTS[@]}"; do
  want=$END; [ "$u" = "$LATE" ] && want=$((END + 60))
  [ "$(member "$u" deadline)" = "$want" ]; ok $? "$u's deadline is $want ($(member "$u" extra_minutes) extra minutes)"
done

for u in "${STUDENTS[@]}"; do
  left=$(( END - $(date +%s) )); [ $left -lt 1 ] && left=1
  wait_for "$left" grep -q "VMB-ANSWER-WRITTEN ip=${IP[$u]}" "${SERIAL[$u]}"
  ok $? "$u's guest (${IP[$u]}) wrote answer.txt before the deadline"
  wait_for 5 grep -q "VMB-HB" "${SERIAL[$u]}"; ok $? "$u's guest prints its heartbeat"
  ip -n "$NS" -d link show "${TAP[$u]}" 2>/dev/null | grep -q "master vbr0"; ok $? "$u's tap ${TAP[$u]} is on vbr0"
done
for u in "${STUDENTS[@]}"; do
  grep -q "VMB-ANSWER-WRITTEN" "${SERIAL[$u]}" || { diag "serial of $u:"; tail -20 "${SERIAL[$u]}" | sed 's/^/#   /'; }
done
# the teacher sees when each disc was last written (the guests write every
# second once resumed; before the start they last wrote at their warm boot)
disc_age() { local w; w=$(member "$1" disc_written_ms); [ -n "$w" ] && [ "$w" != None ] && echo $(( $(now_ms) - w )); }
fresh() { local a; a=$(disc_age "$1"); [ -n "$a" ] && [ "$a" -ge 0 ] && [ "$a" -le 3000 ]; }
for u in "${STUDENTS[@]}"; do
  wait_for 10 fresh "$u"; ok $? "exam show: $u's disc was last written $(disc_age "$u") ms ago (<= 3000)"
done
out=$(vb $TEACHER exam show $EXAM 2>&1)
printf '%s\n' "$out" | grep -E "^exwst1[[:space:]].*[0-9]+s ago" >/dev/null; ok $? "exam show's table has the disc_written column"
diag "exam show:" "$out"

# ---- the deadline ----
mtime_ms() { python3 -c "import os,sys; print(os.stat(sys.argv[1]).st_mtime_ns // 1000000)" "$1"; }
size_of() { stat -c %s "$1"; }
# check_frozen USER DEADLINE: frozen within 1 s, paused, tap cut, guest silent
check_frozen() {
  local u=$1 dl=$2 fa lat last s1
  wait_for 30 eval '[ "$(member '"$u"' frozen_at_ms)" -gt 0 ] 2>/dev/null'
  fa=$(member "$u" frozen_at_ms)
  lat=$(( fa - dl * 1000 ))
  [ "$fa" -gt 0 ] && [ $lat -ge 0 ] && [ $lat -le 1000 ]
  ok $? "$u frozen within 1 s of their deadline (frozen_at - deadline = $lat ms)"
  last=$(( $(mtime_ms "${SERIAL[$u]}") - dl * 1000 ))
  diag "freeze latency of $u: $lat ms (frozen_at recorded); the guest's last serial output $last ms after the deadline"
  [ $last -le 1000 ] && [ $last -ge -1000 ]
  ok $? "$u's guest ran until its deadline and went silent within 1 s ($last ms)"
  [ "$(inst_field "$u" state)" = paused ]; ok $? "$u's instance is paused"
  ! ip -n "$NS" -d link show "${TAP[$u]}" 2>/dev/null | grep -q "master vbr0"; ok $? "$u's tap ${TAP[$u]} is off the bridge"
  local c1 c2
  c1=$(vcpu_ticks "$u"); s1=$(size_of "${SERIAL[$u]}"); sleep 1.5
  c2=$(vcpu_ticks "$u")
  [ "$(size_of "${SERIAL[$u]}")" = "$s1" ]; ok $? "$u's guest prints nothing more (paused)"
  [ -n "$c1" ] && [ "$c1" = "$c2" ]; ok $? "$u's qemu vCPU thread used no CPU time in 1.5 s (ticks $c1 -> $c2: paused)"
  [ -n "$c1" ] || diag "qemu of instance ${INST[$u]}: pid '$(qemu_pid "$u")'"
  [ "$u" = exwst1 ] && qmp_status "$u"
}
# qemu_pid USER: the qemu of USER's instance (found by its QMP socket path, unique to this run)
qemu_pid() { pgrep -f "$T/state/run/instance-${INST[$1]}/" | head -1; }
# vcpu_ticks USER: utime+stime of its qemu's busiest thread (under TCG the
# vCPU's; thread names need debug-threads=on, which the starter does not set)
vcpu_ticks() {
  local p
  p=$(qemu_pid "$1"); [ -n "$p" ] || return 0
  for t in /proc/"$p"/task/*/stat; do sed 's/^.*) //' "$t" 2>/dev/null | awk '{print $12 + $13}'; done | sort -n | tail -1
}
# qmp_status USER: query-status over the instance's QMP socket, when qemu
# takes a second client there (the starter holds the first)
qmp_status() {
  local u=$1 st
  st=$(python3 - "$T/state/run/instance-${INST[$u]}/qmp.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect(sys.argv[1])
    f = s.makefile("rwb")
    json.loads(f.readline())
    for cmd in ({"execute": "qmp_capabilities"}, {"execute": "query-status"}):
        f.write((json.dumps(cmd) + "\n").encode()); f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                break
    print(r.get("return", {}).get("status", "error"))
except (socket.timeout, OSError, ValueError) as e:
    print("no-answer", e)
PY
)
  if [ "${st%% *}" = no-answer ]; then
    tap_n=$((tap_n + 1)); echo "ok $tap_n - $u: QMP query-status # SKIP qemu's QMP socket takes one client (the starter's): no greeting for a second in 3 s (${st#no-answer })"
  else
    [ "$st" = paused ]; ok $? "$u: QMP query-status on its run folder's socket says $st"
  fi
}
sleep_until() { local ms=$(( $1 * 1000 - $(now_ms) )); [ $ms -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; return 0; }
sleep_until "$END"
for u in "${STUDENTS[@]}"; do [ "$u" = "$LATE" ] || check_frozen "$u" "$END"; done
# the one with extra time still runs
[ "$(inst_field $LATE state)" = running ]; ok $? "$LATE (extra time) is still running"
ip -n "$NS" -d link show "${TAP[$LATE]}" 2>/dev/null | grep -q "master vbr0"; ok $? "$LATE's tap is still on vbr0"
s1=$(size_of "${SERIAL[$LATE]}"); sleep 1
[ "$(size_of "${SERIAL[$LATE]}")" -gt "$s1" ]; ok $? "$LATE's guest still prints its heartbeat"
[ "$(member $LATE state)" = running ]; ok $? "$LATE's row is still running"
c1=$(vcpu_ticks $LATE); sleep 1; c2=$(vcpu_ticks $LATE)
[ -n "$c1" ] && [ "$c2" -gt "$c1" ]; ok $? "$LATE's qemu vCPU thread runs (ticks $c1 -> $c2: the control of the paused check)"

# check_sealed USER DEADLINE: recorded hash = the file's, teacher's, 0440, known file inside
check_sealed() {
  local u=$1 dl=$2 p sha at
  wait_for 120 eval '[ "$(member '"$u"' state)" = sealed ]'; ok $? "$u's hand-in is sealed"
  p=$(member "$u" sealed_path); sha=$(member "$u" sha256); at=$(member "$u" sealed_at)
  [ -n "$(member "$u" seal_error)" ] && diag "seal error of $u: $(member "$u" seal_error)"
  [ "$p" = "$T/state/exams/$EXAM/$u.qcow2" ]; ok $? "$u's sealed disc is in the collection folder ($p)"
  [ -n "$sha" ] && [ "$(sha256sum <"$p" | cut -d' ' -f1)" = "$sha" ]; ok $? "$u: the recorded sha256 is the file's ($sha)"
  [ "$(stat -c '%U %a' "$p" 2>/dev/null)" = "$TEACHER 440" ]; ok $? "$u's sealed disc is the teacher's, 0440 ($(stat -c '%U %a' "$p" 2>/dev/null))"
  ! runuser -u "$u" -- test -w "$p" && ! runuser -u "$u" -- head -c1 "$p" >/dev/null 2>&1
  ok $? "$u can neither write nor read their sealed disc"
  rm -f "$T/sealed.raw"
  qemu-img convert -O raw "$p" "$T/sealed.raw" 2>"$T/convert.log"
  local got base
  got=$(debugfs -R 'cat answer.txt' "$T/sealed.raw" 2>/dev/null)
  [ "${got#exam-answer ip=${IP[$u]} mac=$(inst_field "$u" mac) n=}" != "$got" ]
  ok $? "$u's sealed disc holds the known file: $got"
  local n=${got##*n=}
  [ "${n:-0}" -gt "${PRE_N[$u]}" ] 2>/dev/null; ok $? "$u's answer.txt was written during the exam (n=$n, ${PRE_N[$u]} when paused before the start)"
  base=$(debugfs -R 'cat base.txt' "$T/sealed.raw" 2>/dev/null)
  [ "$base" = template ]; ok $? "$u's sealed disc is standalone (the template's base.txt inside: $base)"
  qemu-img info "$p" 2>/dev/null | grep -q "backing file" && { ok 1 "$u's sealed disc has no backing file"; } || ok 0 "$u's sealed disc has no backing file"
  rm -f "$T/sealed.raw"
  local ms
  ms=$(vb $TEACHER --json audit list --limit 500 | pyj "
r=[a for a in m if a.get('op')=='exam.seal' and a.get('object','').endswith('member $(id -u "$u")')]
d=r[0].get('detail') or r[0].get('args') or {} if r else {}
if isinstance(d, str): d=json.loads(d)
print(d.get('seal_ms', ''))")
  diag "seal of $u: sealed_at $((at - dl)) s after the deadline; seal_ms (frozen -> recorded) ${ms:-?} ms; $(stat -c %s "$p") bytes"
}
for u in "${STUDENTS[@]}"; do [ "$u" = "$LATE" ] || check_sealed "$u" "$END"; done

# ---- after the deadline: no run, no change ----
u=exwst1
msg="the exam $EXAM ended at .*: this vm is sealed"
expect_fail "$u: vm run after the deadline refused" "$msg" -- vb $u vm run "exam-$EXAM-$u" --isolate --no-wait
expect_fail "$u: vm mod after the deadline refused" "$msg" -- vb $u vm mod "exam-$EXAM-$u" --desc changed
expect_fail "$u: vm del after the deadline refused" "$msg" -- vb $u vm del "exam-$EXAM-$u"
expect_fail "$u: resume after the deadline refused" "$msg" -- vb $u vm resume "exam-$EXAM-$u"
[ "$(inst_field $u state)" = paused ]; ok $? "$u's instance is still paused"

# ---- receipts ----
vb $u exam receipt $EXAM >"$T/receipt.txt" 2>"$T/receipt.err"; ok $? "$u gets a receipt: $(tr '\n' ' ' <"$T/receipt.txt" | head -c 300)"
grep -qx "sha256=$(member $u sha256)" "$T/receipt.txt"; ok $? "the receipt names the recorded sha256"
chmod 0644 "$T/receipt.txt"
out=$(vb $u exam verify "$T/receipt.txt" 2>&1); ok $? "exam verify (the daemon's key): $out"
key=$(vb $u exam receipt --pubkey 2>/dev/null)
out=$(vb $u exam verify "$T/receipt.txt" --key "$key" 2>&1); ok $? "exam verify --key (offline): $out"
# one hex digit of sha256 changed
python3 - "$T/receipt.txt" "$T/tampered.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("sha256="):
        c = l[7]
        lines[i] = "sha256=" + ("0" if c != "0" else "1") + l[8:]
open(sys.argv[2], "w").write("\n".join(lines))
PY
chmod 0644 "$T/tampered.txt"
! cmp -s "$T/receipt.txt" "$T/tampered.txt"; ok $? "a tampered copy differs in one digit of sha256"
expect_fail "a tampered receipt does not verify" "does not match" -- vb $u exam verify "$T/tampered.txt" --key "$key"
expect_fail "another student gets no receipt of $u's" "own receipt" -- vb exwst2 exam receipt $EXAM --user $u

# ---- what a student sees ----
rows=$(show_json exwst2 | pyj "print(' '.join(x['user'] for x in m['members']))")
[ "$rows" = exwst2 ]; ok $? "exam show as exwst2 has only their own row ($rows)"
lst=$(vb exwst2 --json exam list | pyj "print(' '.join(e['name'] for e in m))")
[ "$lst" = "$EXAM" ]; ok $? "exam list as exwst2: $lst"
expect_fail "a student cannot extend their time" "admin" -- vb exwst2 exam extend $EXAM exwst2 10
expect_fail "a student cannot create an exam" "admin" -- vb exwst2 exam create other --template tmpl --group examug --start +1 --end +2
expect_fail "a student cannot stop the exam" "admin" -- vb exwst2 exam stop $EXAM

expect_fail "a frozen student gets no extra time" "is over" -- vb $TEACHER exam extend $EXAM exwst1 5
vb $TEACHER exam receipt $EXAM --user exwst2 >"$T/receipt2.txt" 2>&1 && chmod 0644 "$T/receipt2.txt" &&
  grep -qx "student=exwst2" "$T/receipt2.txt" && vb exwst2 exam verify "$T/receipt2.txt" --key "$key" >/dev/null
ok $? "the teacher gets exwst2's receipt (--user), and it verifies"

# ---- a second exam, stopped before anyone ran: exam stop seals them all ----
out=$(vb $TEACHER exam create quiz --template tmpl --group examug --start +10 --end +20 --no-selftest 2>&1); ok $? "exam create quiz: $out"
qshow() { vb $TEACHER --json exam show quiz 2>/dev/null; }
vb $TEACHER exam stop quiz >/dev/null; ok $? "exam stop quiz (before its start)"
allsealed() { [ "$(qshow | pyj "print(' '.join(x['state'] for x in m['members']))")" = "sealed sealed sealed" ]; }
wait_for 60 allsealed; ok $? "every member of quiz is sealed (none ran)"
qshow | pyj "
import hashlib
bad=[x['user'] for x in m['members'] if hashlib.sha256(open(x['sealed_path'],'rb').read()).hexdigest()!=x['sha256']]
sys.exit(1 if bad or m['state']!='ended' else 0)"
ok $? "quiz: the recorded hashes are the sealed files', the exam is ended"
qemu-img convert -O raw "$T/state/exams/quiz/exwst2.qcow2" "$T/quiz.raw" 2>/dev/null
[ "$(debugfs -R 'cat base.txt' "$T/quiz.raw" 2>/dev/null)" = template ] &&
  ! debugfs -R 'cat answer.txt' "$T/quiz.raw" 2>/dev/null | grep -q exam-answer
ok $? "quiz: a vm that never ran is sealed as the template (no answer.txt)"
rm -f "$T/quiz.raw"
expect_fail "quiz: a run after exam stop is refused" "the exam quiz ended at .*: this vm is sealed" -- \
  vb exwst2 vm run exam-quiz-exwst2 --isolate --no-wait
vb exwst2 exam receipt quiz >"$T/receipt3.txt" 2>&1 && chmod 0644 "$T/receipt3.txt" &&
  vb exwst2 exam verify "$T/receipt3.txt" >/dev/null
ok $? "quiz: exwst2's receipt verifies"
lst=$(vb $TEACHER --json exam list | pyj "print(' '.join(e['name']+':'+e['state'] for e in m))")
[ "$lst" = "$EXAM:running quiz:ended" ]; ok $? "exam list (teacher): $lst"

# ---- the student with extra time ----
sleep_until $((END + 60))
check_frozen $LATE $((END + 60))
check_sealed $LATE $((END + 60))
wait_for 10 eval '[ "$(exam_field state)" = ended ]'; ok $? "the exam ended once every hand-in was sealed"
[ "$(member $LATE late_minutes)" = 1 ] && [ "$(member exwst1 late_minutes)" = 0 ]
ok $? "late_minutes counts from the exam's end: $LATE $(member $LATE late_minutes) (their extra minute), exwst1 $(member exwst1 late_minutes)"


# ---- the audit log ----
audit=$(vb $TEACHER --json audit list --limit 500 2>&1)
# count OP EXAM [PYTHON-CONDITION ON d, the entry's detail]
count() { printf '%s' "$audit" | pyj "print(sum(1 for a in m if a.get('op')=='$1' and ' $2' in a.get('object', '') + ' '
  + str((a.get('detail') or {}).get('exam', '')) and (lambda d: ${3:-True})(a.get('detail') or {})))"; }
for check in "exam.create:1" "exam.start:1" "exam.extend:1:d.get('minutes')==1" \
  "exam.freeze:3:d.get('action')=='freeze' and d.get('instance')" "exam.seal:3:len(d.get('sha256',''))==64" \
  "exam.receipt:2:not d.get('pubkey')" "exam.end:1"; do
  op=${check%%:*}; rest=${check#*:}; want=${rest%%:*}; cond=; [ "$rest" != "$want" ] && cond=${rest#*:}
  n=$(count "$op" $EXAM "$cond")
  [ "${n:-0}" = "$want" ]; ok $? "the audit log has $want $op of $EXAM${cond:+ ($cond)}: $n"
done
for check in "exam.create:1" "exam.stop:1" "exam.freeze:3:not d.get('instance')" "exam.seal:3"; do
  op=${check%%:*}; rest=${check#*:}; want=${rest%%:*}; cond=; [ "$rest" != "$want" ] && cond=${rest#*:}
  n=$(count "$op" quiz "$cond")
  [ "${n:-0}" = "$want" ]; ok $? "the audit log has $want $op of quiz${cond:+ ($cond)}: $n"
done
# exam verify's key look-ups (exam.pubkey) are not audited; the one explicit
# 'exam receipt --pubkey' is, as the key
n=$(count exam.receipt 'receipt key' "d.get('pubkey')"); n2=$(count exam.receipt '' "d.get('pubkey')")
[ "$n" = 1 ] && [ "$n2" = 1 ]; ok $? "only the explicit 'exam receipt --pubkey' is audited, as the key ($n of $n2)"
errs=$(grep -i "exam" "$T/vmbatchd.log" | grep -iE "warn|error|cannot|fail|kill")
[ -z "$errs" ]; ok $? "vmbatchd logged no warning or error about the exams"
[ -z "$errs" ] || diag "$errs"
diag "vmbatchd's exam lines:" "$(grep -i "exam" "$T/vmbatchd.log" | head -40)"
tap_done
