#!/bin/bash
# test-exam-slurm.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Issue 14's "the same exam runs on Slurm, with its reservation visible in
# `scontrol show reservation` for the window": a real vmbatchd with
# batch_backend = slurm and a private single-node Slurm (scripts/slurm-up.sh,
# as test-slurm.sh) in a network namespace of this test, TCG guests, a
# teacher srteach (admin_user) and two students srstud1, srstud2; srother is
# a user of the machine who does not sit the exam.
#  - `exam create` makes the reservation vmbatch-exam-final in a worker:
#    scontrol shows it with the exam's window (its start - exam_warm_lead, the
#    latest deadline + 60 s) and its users (the teacher and the members);
#    exam show (text and --json) names it; the time to make it is measured;
#  - control: srother's sbatch --reservation=vmbatch-exam-final is refused
#    by Slurm ("Access denied"), a member's is taken;
#  - a second exam in the same window cannot reserve the nodes: exam show
#    says so with Slurm's reason, the log and the audit log have it;
#  - the exam is --warm: the members' exam vms boot once the reservation is
#    held, as Slurm jobs in it (squeue's reservation column), and pause on the
#    marker before the start; the start resumes them; their guests write a
#    known file;
#  - exam extend moves the reservation's end (scontrol update);
#  - at the deadline srstud1's vm is frozen within 1 s and sealed with the
#    known file inside, as on the local backend; srstud2 (extra time) still
#    runs; exam stop freezes and seals srstud2;
#  - after the end the reservation is gone (Slurm refuses to delete it while
#    the paused vms' jobs are in it; vmbatchd shrinks it to 60 s after the
#    stop and Slurm ends it then): scontrol shows none, exam show says
#    released; the audit log has each step.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users, Slurm)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release debugfs nsenter python3 sha256sum; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

TEACHER=srteach
STUDENTS=(srstud1 srstud2)
LATE=srstud2
OTHER=srother
EXAM=final
RESV=vmbatch-exam-$EXAM
LEAD=50 # the warm vms boot from the start - LEAD on: time to come up before it

T=$(mktemp -d /tmp/vmbatch-exam-slurm-XXXXXX); chmod 0755 "$T"
NS=vmb-exsl-$$
SLDIR=$T/slurm
SLCONF=$SLDIR/slurm.conf
SLURM_STARTED=0
slurm_up() { SLURM_UP_DIR=$SLDIR SLURM_UP_NETNS=$NS "$SCRIPTS/slurm-up.sh" "$@"; }
sl() { nsenter --net="/run/netns/$NS" env SLURM_CONF="$SLCONF" TZ=UTC0 "$@"; }
# slu USER CMD...: a Slurm command as USER
slu() { local u=$1; shift; nsenter --net="/run/netns/$NS" runuser -u "$u" -- env SLURM_CONF="$SLCONF" "$@"; }
cleanup() {
  if [ "$SLURM_STARTED" = 1 ]; then
    local j
    for j in $(sl timeout 10 squeue -h -o %i 2>/dev/null); do sl timeout 10 scancel "$j" 2>/dev/null; done
    wait_for 20 eval '[ -z "$(sl timeout 5 squeue -h -o %i 2>/dev/null)" ]'
    sl timeout 10 scontrol delete ReservationName=$RESV >/dev/null 2>&1
  fi
  stop_vmbatchd
  [ "$SLURM_STARTED" = 1 ] && slurm_up stop >/dev/null
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S; }

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
t0=$(now_ms)
slurm_up >"$T/slurm-up.log" 2>&1; rc=$?
if [ $rc -ne 0 ]; then
  diag "$(cat "$T/slurm-up.log")"
  slurm_up stop >/dev/null 2>&1
  [ $rc -eq 3 ] && skip_all "Slurm is not installed and cannot be installed"
  skip_all "Slurm cannot be started here (slurm-up.sh exit $rc)"
fi
SLURM_STARTED=1
ok 0 "private Slurm up in namespace $NS in $(( $(now_ms) - t0 )) ms (scripts/slurm-up.sh)"

use_test_guest
use_exam_template # $T/guest/exam.qcow2: answer.txt, then a heartbeat (lib.sh)

for u in "$TEACHER" "${STUDENTS[@]}" "$OTHER"; do ensure_user "$u" || skip_all "cannot create user $u"; done
mkdir -p "$T/home" && chmod 0755 "$T/home"
for u in "${STUDENTS[@]}"; do install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "$T/home/$u"; done
mkdir -p "$T/templates" && chown "$TEACHER": "$T/templates" && chmod 0711 "$T/templates"
chmod 1777 "$T"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
vb() { local u=$1; shift; as "$u" "$VMAPP_BIN" "$@"; }

VMB_PREFIX="ip netns exec $NS env SLURM_CONF=$SLCONF"
start_vmbatchd "$T" "admin_user = $TEACHER" "admin_stordir = $T/templates" "state_dir = $T/state" \
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
  "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "batch_backend = slurm" \
  "exam_warm_lead = $LEAD" &&
  wait_for 15 eval 'v $TEACHER --ping >/dev/null 2>&1' ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (batch_backend = slurm, exam_warm_lead = $LEAD) started in namespace $NS"

setup() {
  local u dirs=()
  for u in "${STUDENTS[@]}"; do dirs+=("$u:"$T/home/$u""); done
  exam_setup $TEACHER srexam 30 "$T/guest/exam.qcow2" "$EXAM_CMDLINE" "${dirs[@]}"
}
setup; ok $? "setup: the teacher $TEACHER, group srexam with ${STUDENTS[*]}, template tmpl"

# ---- create: the reservation, made in a worker ----
show_json() { vb "${1:-$TEACHER}" --json exam show $EXAM 2>/dev/null; }
resv() { show_json | pyj "print(m['reservation'].get('$1', ''))"; }
member() { show_json | pyj "r=[x for x in m['members'] if x['user']=='$1']; print(r[0]['$2'] if r else '')"; }
exam_field() { show_json | pyj "print(m['$1'])"; }
t0=$(now_ms)
out=$(vb $TEACHER exam create $EXAM --template tmpl --group srexam --start +70s --end +180s --warm --warm-ready VMB-READY --no-selftest 2>&1); rc=$?
create_ms=$(( $(now_ms) - t0 ))
[ $rc -eq 0 ]; ok $? "exam create: $out"
wait_for 20 eval '[ "$(resv state)" = held ]'; ok $? "the exam holds its reservation: $(resv state) $(resv name)"
held_ms=$(( $(now_ms) - t0 ))
diag "exam create answered in $create_ms ms; the reservation was held $held_ms ms after the create began;" \
  "scontrol create reservation took $(resv create_ms) ms (create_ms, measured in the worker)"
[ "$(resv state)" = held ] || { diag "reservation: $(show_json | pyj 'print(m["reservation"])')"; grep -i reserv "$T/vmbatchd.log" | sed 's/^/# /'; }
START=$(exam_field start); END=$(exam_field end)
[ "$(resv name)" = "$RESV" ] && [ "$(resv backend)" = slurm ]; ok $? "exam show --json: reservation $(resv name) on $(resv backend)"
[ "$(resv start)" = $((START - LEAD)) ] && [ "$(resv end)" = $((END + 60)) ]
ok $? "exam show --json: its window is start - $LEAD s .. end + 60 s ($(resv start) .. $(resv end))"
vb $TEACHER exam show $EXAM 2>&1 | grep -q "^reservation: held $RESV (slurm), .* made in [0-9]* ms"
ok $? "exam show (text): $(vb $TEACHER exam show $EXAM 2>&1 | grep '^reservation')"

sres() { sl scontrol show reservation "$RESV" 2>&1; }
sres >"$T/resv.txt"; diag "scontrol show reservation $RESV:" "$(cat "$T/resv.txt")"
grep -q "ReservationName=$RESV StartTime=$(utc $((START - LEAD))) EndTime=$(utc $((END + 60)))" "$T/resv.txt"
ok $? "scontrol show reservation: StartTime $(utc $((START - LEAD))) (the start - exam_warm_lead), EndTime $(utc $((END + 60))) (the deadline + 60 s), UTC"
users=$(grep -o 'Users=[^ ]*' "$T/resv.txt" | cut -d= -f2 | tr ',' '\n' | sort | tr '\n' ' ')
[ "$users" = "$(printf '%s\n' $TEACHER "${STUDENTS[@]}" | sort | tr '\n' ' ')" ]
ok $? "scontrol: its users are the teacher and the members: $users"
grep -q "Nodes=ALL\|Flags=.*ALL_NODES" "$T/resv.txt" && grep -q "IGNORE_JOBS" "$T/resv.txt"
ok $? "scontrol: it holds all nodes, IGNORE_JOBS"

# ---- control: a non-member cannot use it; a member can ----
expect_fail "$OTHER (no member) asking for the reservation is refused by Slurm" "Access denied to requested reservation" -- \
  slu $OTHER sbatch --parsable --output=/dev/null --reservation=$RESV --mem=16M --wrap "true"
ctl=$(slu srstud1 sbatch --parsable --output=/dev/null --reservation=$RESV --mem=16M --wrap "true" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$ctl" =~ ^[0-9]+$ ]]; ok $? "control: the member srstud1's sbatch --reservation=$RESV is taken (job $ctl)"
[ $rc -eq 0 ] && sl scancel "$ctl" 2>/dev/null

# ---- warm: the members' vms boot once the reservation is held, in it, and pause ----
maplist() { vb $TEACHER --json instance list 2>/dev/null; }
declare -A VMID INST TAP IP SERIAL JOB
for u in "${STUDENTS[@]}"; do VMID[$u]=$(member "$u" vm); done
inst_field() { maplist | pyj "r=[i for i in m if i['vm']==${VMID[$1]}]; print(r[0]['$2'] if r else '')"; }
t0=$(now_ms)
for u in "${STUDENTS[@]}"; do
  wait_for 120 eval '[ "$(inst_field '"$u"' state)" = paused ]'
  ok $? "$u's warm vm booted (as a Slurm job) and paused before the start ($(( $(now_ms) - t0 )) ms)"
  INST[$u]=$(inst_field "$u" id); TAP[$u]=$(inst_field "$u" tap); IP[$u]=$(inst_field "$u" ip)
  JOB[$u]=$(inst_field "$u" job_id); SERIAL[$u]=$T/state/jobs/instance-${INST[$u]}.serial
  sq=$(sl squeue -h -j "${JOB[$u]}" -o '%u %T %v' 2>&1)
  [ "$sq" = "$u RUNNING $RESV" ]; ok $? "squeue: $u's warm job ${JOB[$u]} is '$sq' (user, state, reservation)"
done
[ "$(date +%s)" -lt "$START" ]; ok $? "all warm vms paused $(( START - $(date +%s) )) s before the start"

# ---- a failure to reserve is visible: a second exam in the same window ----
out=$(vb $TEACHER exam create clash --template tmpl --group srexam --start +30s --end +170s --no-selftest 2>&1); ok $? "exam create clash (the same window): $out"
cresv() { vb $TEACHER --json exam show clash 2>/dev/null | pyj "print(m['reservation'].get('$1', ''))"; }
wait_for 20 eval '[ "$(cresv state)" = failed ]'; ok $? "clash's reservation failed: $(cresv error)"
cresv error | grep -q "overlaps with another reservation"; ok $? "... and says why (Slurm's reason)"
vb $TEACHER exam show clash 2>&1 | grep -q "^reservation: failed (slurm): create vmbatch-exam-clash: .*overlaps"
ok $? "exam show (text): $(vb $TEACHER exam show clash 2>&1 | grep '^reservation')"
grep -q "exam clash: cannot create its reservation: .*overlaps" "$T/vmbatchd.log"; ok $? "vmbatchd logged it"
vb $TEACHER --json audit list --limit 100 | pyj "sys.exit(0 if any(a.get('op')=='exam.reservation' and 'clash' in a.get('object','')
  and 'overlaps' in (a.get('detail') or {}).get('error','') for a in m) else 1)"
ok $? "the audit log has it (exam.reservation, error)"
vb $TEACHER exam stop clash >/dev/null; ok $? "exam stop clash"

# ---- the exam: members' jobs in the reservation ----
running() { [ "$(exam_field state)" = running ]; }
wait_for 60 running; ok $? "the exam is running $(( $(date +%s) - START )) s after its start time"
t0=$(( START * 1000 ))
for u in "${STUDENTS[@]}"; do
  wait_for 30 eval '[ "$(inst_field '"$u"' state)" = running ]'; ok $? "$u's warm instance is running (resumed) $(( $(now_ms) - t0 )) ms after the start"
  [ "$(inst_field "$u" id)" = "${INST[$u]}" ]; ok $? "$u's instance is still the warm one (${INST[$u]})"
done
diag "warm start on Slurm: both instances running $(( $(now_ms) - t0 )) ms after the start time"

# ---- extend: the reservation's end moves ----
out=$(vb $TEACHER exam extend $EXAM $LATE 1 2>&1); ok $? "exam extend $EXAM $LATE 1: $out"
wait_for 20 eval '[ "$(resv end)" = $((END + 120)) ]'; ok $? "exam show: the reservation's end moved to the new latest deadline + 60 s ($(resv end))"
sres | grep -q "EndTime=$(utc $((END + 120)))"; ok $? "scontrol show reservation: EndTime $(utc $((END + 120)))"
sres | grep -q "StartTime=$(utc $((START - LEAD)))"; ok $? "... and its StartTime is unchanged"

for u in "${STUDENTS[@]}"; do
  left=$(( END - $(date +%s) )); [ $left -lt 1 ] && left=1
  wait_for "$left" grep -q "VMB-ANSWER-WRITTEN ip=${IP[$u]}" "${SERIAL[$u]}"
  ok $? "$u's guest (${IP[$u]}) wrote answer.txt before the deadline"
done

# ---- the deadline: frozen and sealed as on the local backend ----
sleep_until() { local ms=$(( $1 * 1000 - $(now_ms) )); [ $ms -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; return 0; }
check_frozen() {
  local u=$1 dl=$2 fa lat
  wait_for 30 eval '[ "$(member '"$u"' frozen_at_ms)" -gt 0 ] 2>/dev/null'
  fa=$(member "$u" frozen_at_ms); lat=$(( fa - dl * 1000 ))
  [ "$fa" -gt 0 ] && [ $lat -ge 0 ] && [ $lat -le 1000 ]; ok $? "$u frozen within 1 s of their deadline ($lat ms)"
  [ "$(inst_field "$u" state)" = paused ]; ok $? "$u's instance is paused"
  ! ip -n "$NS" -d link show "${TAP[$u]}" 2>/dev/null | grep -q "master vbr0"; ok $? "$u's tap is off the bridge"
}
check_sealed() {
  local u=$1 p sha got
  wait_for 120 eval '[ "$(member '"$u"' state)" = sealed ]'; ok $? "$u's hand-in is sealed"
  p=$(member "$u" sealed_path); sha=$(member "$u" sha256)
  [ -n "$sha" ] && [ "$(sha256sum <"$p" | cut -d' ' -f1)" = "$sha" ]; ok $? "$u: the recorded sha256 is the sealed file's"
  rm -f "$T/sealed.raw"; qemu-img convert -O raw "$p" "$T/sealed.raw" 2>/dev/null
  got=$(debugfs -R 'cat answer.txt' "$T/sealed.raw" 2>/dev/null)
  [ "${got#exam-answer ip=${IP[$u]} }" != "$got" ]; ok $? "$u's sealed disc holds the known file: $got"
  rm -f "$T/sealed.raw"
}
sleep_until "$END"
check_frozen srstud1 "$END"
[ "$(inst_field $LATE state)" = running ]; ok $? "$LATE (extra time) still runs"
[ "$(sl squeue -h -j "${JOB[$LATE]}" -o %T)" = RUNNING ]; ok $? "$LATE's job is still RUNNING in the reservation"
check_sealed srstud1

# ---- the end: exam stop, then the reservation goes ----
t_stop=$(date +%s)
vb $TEACHER exam stop $EXAM >/dev/null; ok $? "exam stop $EXAM ($LATE frozen at once)"
[ "$(member $LATE frozen_at_ms)" -gt 0 ] 2>/dev/null || wait_for 20 eval '[ "$(member '"$LATE"' frozen_at_ms)" -gt 0 ] 2>/dev/null'
ok $? "$LATE is frozen by the stop"
check_sealed $LATE
wait_for 20 eval '[ "$(resv end)" -le $((t_stop + 62)) ]'; ok $? "the stopped exam's reservation is shrunk to end 60 s after the stop ($(resv end), stop $t_stop)"
gone() { sres | grep -q "not found"; }
t0=$(now_ms)
wait_for 180 gone; ok $? "after the end the reservation is gone from Slurm: '$(sres | head -1)'"
diag "the reservation was gone $(( ($(now_ms) / 1000) - t_stop )) s after exam stop (Slurm ends a reservation within ~30 s of its EndTime)"
wait_for 30 eval '[ "$(resv state)" = released ]'; ok $? "exam show: reservation $(resv state)"
for u in "${STUDENTS[@]}"; do
  wait_for 30 eval '[ -z "$(sl squeue -h -j '"${JOB[$u]}"' -o %T 2>/dev/null)" ]'; ok $? "$u's job ended with the reservation"
done
[ "$(exam_field state)" = ended ]; ok $? "the exam is ended"
[ -z "$(sl squeue -h -o %i 2>/dev/null)" ]; ok $? "no job is left in Slurm (clash's sealed members ran none)"

# ---- the audit log ----
audit=$(vb $TEACHER --json audit list --limit 500 2>&1)
n() { printf '%s' "$audit" | pyj "print(sum(1 for a in m if a.get('op')=='exam.reservation' and (lambda d: $1)(a.get('detail') or {})))"; }
[ "$(n "d.get('action')=='create' and d.get('reservation')=='$RESV' and 'error' not in d")" = 1 ]; ok $? "audit: exam.reservation create"
[ "$(n "d.get('action')=='update'")" -ge 2 ]; ok $? "audit: exam.reservation update (extend, stop): $(n "d.get('action')=='update'")"
[ "$(n "d.get('action')=='delete'")" = 1 ]; ok $? "audit: exam.reservation delete"
errs=$(grep -iE "reserv" "$T/vmbatchd.log" | grep -v "exam clash" | grep -iE "warn|error|cannot|fail")
[ -z "$errs" ]; ok $? "vmbatchd logged no warning about the reservation"
[ -z "$errs" ] || diag "$errs"
diag "vmbatchd's reservation lines:" "$(grep -i "reserv" "$T/vmbatchd.log" | head -20)"
tap_done
