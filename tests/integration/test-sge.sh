#!/bin/bash
# test-sge.sh VMBATCHD VMBATCH STARTER SCRIPTS
# vmbatch on Grid Engine (batch_backend = sge): a single-host Son of Grid
# Engine (scripts/sge-up.sh; stopped again at the end if this test started
# it), vmbatchd with its bridge and dnsmasq in a network namespace this test
# makes, sge_execd in the root namespace (the starter needs only the
# daemon's unix socket and receives the tap fd over it; VNC on 127.0.0.1);
# qmaster's port is relayed into the namespace for the daemon's qsub/qstat/qdel.
#  - the student (sgdoraz) runs myvm --isolate: --maplist shows backend sge and the job id,
#    qstat shows the job running as her, the guest gets its mapped IP;
#  - `qdel <job>` from outside vmbatch: the mapping, tap and lease go;
#  - --vmstop through vmbatch: ACPI power-down, the job ends;
#  - a VM with 2 vcpus and a walltime asks for -pe smp 2 and h_rt;
#  - (only on a Grid Engine this test started) a job queued on a disabled
#    queue stays "submitted" while qmaster is down (state() errors are not
#    "gone"); while it waits, the student's own vmbatch-starter claiming it
#    (issue 11: JOB_ID, SGE_TASK_ID, ... set by her) is refused, run by hand
#    (the node finds no shepherd around it) and run inside another Grid
#    Engine job of hers while the vm's job is held (the node finds that
#    other job's shepherd): the instance stays submitted, its job queued,
#    no qemu runs. The control: released, the real job's starter (under its
#    shepherd) attaches to that same instance and its guest gets its lease.
#    --vmstop of a queued job qdel's it.
# Prints the qsub -> running latencies it measures. Guests run under TCG.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (Grid Engine, network namespace, taps, users)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
# the paper's badadmin and doraz, named apart (as test-slurm.sh does) so that
# other tests running at the same time never share (or remove) them under this one
ADMIN=${VMBATCH_TEST_ADMIN:-sgadmin} U=${VMBATCH_TEST_USER:-sgdoraz}

T=$(mktemp -d /tmp/vmbatch-sge-XXXXXX); chmod 0755 "$T"
NS=vmb-sge-$$
SGE_STARTED=0
JOBS=()
cleanup() {
  stop_vmbatchd
  # our jobs: qdel them, then end whatever of them still runs (by pid)
  local j p
  for j in "${JOBS[@]}"; do qdel "$j" >/dev/null 2>&1; done
  for _ in $(seq 50); do
    p=0; for j in "${JOBS[@]}"; do qstat -j "$j" >/dev/null 2>&1 && p=1; done
    [ $p = 0 ] && break; sleep 0.2
  done
  for p in $(pgrep -f -- "--socket $T/vmbatchd.sock" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  [ -n "${RELAY_PID:-}" ] && kill "$RELAY_PID" 2>/dev/null
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  [ "$SGE_STARTED" = 1 ] && "$SCRIPTS/sge-up.sh" stop >/dev/null 2>&1
  remove_created_users
  [ -n "${VMBATCH_KEEP_LOGS:-}" ] && cp -r "$T" "$VMBATCH_KEEP_LOGS" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- Grid Engine
sge_status=$("$SCRIPTS/sge-up.sh" status 2>/dev/null)
case "$sge_status" in *down*|"") SGE_STARTED=1 ;; esac
t0=$(now)
"$SCRIPTS/sge-up.sh" >"$T/sge-up.log" 2>&1; rc=$?
[ $rc -eq 2 ] && skip_all "Grid Engine cannot be installed here ($(tail -1 "$T/sge-up.log"))"
[ $rc -eq 0 ] || { sed 's/^/# /' "$T/sge-up.log"; skip_all "Grid Engine did not start"; }
if [ "$SGE_STARTED" = 1 ]; then
  ok 0 "Grid Engine brought up by scripts/sge-up.sh in $(since "$t0") s"
else
  ok 0 "Grid Engine already up ($sge_status)"
fi
H=$(hostname)

# ---- guest, users, daemon (as in test-run-vms.sh)
use_test_guest
for u in "$ADMIN" "$U"; do ensure_user "$u" || skip_all "cannot create user $u"; done
[ "$(id -u "$U")" -ge 1000 ] || skip_all "$U has uid $(id -u "$U") < 1000 (Grid Engine's min_uid)"
# a storage folder of this run (a user left over from elsewhere may have old discs at home)
install -d -o "$U" -g "$(id -gn "$U")" -m 0755 "$T/home-$U"
mkdir -p "$T/templates" && chown "$ADMIN": "$T/templates" && chmod 0711 "$T/templates"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
VMB_PREFIX="ip netns exec $NS"
# vmbatchd runs qsub/qstat/qdel from inside $NS, whose loopback has no
# qmaster: relay 127.0.0.1:<qmaster port> of $NS to the root namespace's
# (a listening socket made in $NS, connections made in the root namespace;
# loopback to loopback). A real node's vmbatchd runs in the root namespace.
QPORT=$(getent services sge_qmaster | awk '{ split($2, a, "/"); print a[1]; exit }')
cat >"$T/relay.py" <<'PY'
import ctypes, os, socket, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
port = int(sys.argv[2])
home = os.open("/proc/self/ns/net", os.O_RDONLY)
if libc.setns(os.open(sys.argv[1], os.O_RDONLY), CLONE_NEWNET) != 0:
    sys.exit("setns: %s" % os.strerror(ctypes.get_errno()))
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", port))
lst.listen(64)
libc.setns(home, CLONE_NEWNET)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
print("ready", flush=True)
while True:
    c, _ = lst.accept()
    try:
        u = socket.create_connection(("127.0.0.1", port))
    except OSError:
        c.close()
        continue
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
PY
python3 "$T/relay.py" "/run/netns/$NS" "${QPORT:-6444}" >"$T/relay.log" 2>&1 &
RELAY_PID=$!
wait_for 10 grep -q ready "$T/relay.log" || { cat "$T/relay.log"; skip_all "cannot relay qmaster's port into $NS"; }
ip netns exec "$NS" qstat -u '*' >/dev/null 2>&1; ok $? "qstat works from inside $NS (qmaster port ${QPORT:-6444} relayed)"
start_vmbatchd "$T" "admin_user = $ADMIN" "admin_stordir = $T/templates" "state_dir = $T/state" \
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
  "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "batch_backend = sge" ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (node role, batch_backend = sge) started in namespace $NS"

v "$ADMIN" --init >/dev/null && v "$ADMIN" --ugadd --name studs --ugid 10 >/dev/null &&
  v "$ADMIN" --uadd --name "$U" --uid "$(id -u "$U")" --ug studs --stordir "$T/home-$U" >/dev/null &&
  v "$ADMIN" --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null &&
  v "$ADMIN" --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" \
    --cmdline "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1 vmb.hold=-1" >/dev/null &&
  v "$ADMIN" --permset +d,+i --ug studs --vm tmpl >/dev/null &&
  v "$U" --vmadd --name myvm --base tmpl >/dev/null
ok $? "setup: $U derives myvm from a template (forced isolated)"

map() { v "$ADMIN" --json --maplist; }
inst_field() { # inst_field ID KEY: a field of instance ID in --maplist, empty when absent
  map | python3 -c "import json,sys
for i in json.load(sys.stdin):
    if i['id'] == $1: print(i['$2'])"
}
newest() { map | python3 -c "import json,sys; m=json.load(sys.stdin); print(max(i['id'] for i in m) if m else '')"; }
# the job id of instance ID, once vmbatchd's qsub (run beside the request) has answered
job_of() { wait_for 20 eval '[ -n "$(inst_field '"$1"' job_id)" ]'; inst_field "$1" job_id; }
job_state() { qstat -u "${2:-*}" 2>/dev/null | awk -v j="$1" '$1 == j { print $5 }'; }
gone() { # instance ID is not in --maplist, which must answer (a failed call is not "gone")
  local m
  m=$(map) || return 1
  printf '%s' "$m" | python3 -c "import json,sys; sys.exit(any(i['id'] == $1 for i in json.load(sys.stdin)))" 2>/dev/null
}
dump_logs() {
  diag "vmbatchd.log:"; tail -30 "$T/vmbatchd.log" | sed 's/^/#   /'
  for f in "$T"/state/jobs/*.log; do [ -e "$f" ] && { diag "$f:"; sed 's/^/#   /' "$f"; }; done
}

# run_vm: $U runs myvm --isolate; measures qsub -> r (qstat) and
# -> running (vmbatch); sets ID JOB
run_vm() {
  local t0 pid tr="" tj="" s="" i
  t0=$(now)
  VMBATCH_RUN_WAIT=120 v "$U" --vmrun --vm myvm --isolate >"$T/run.out" 2>&1 &
  pid=$!
  ID=""; JOB=""
  for i in $(seq 1200); do
    if [ -z "$JOB" ]; then
      ID=$(newest); [ -n "$ID" ] && JOB=$(inst_field "$ID" job_id) && [ -n "$JOB" ] && { tj=$(since "$t0"); JOBS+=("$JOB"); }
    fi
    if [ -n "$JOB" ]; then
      s=$(job_state "$JOB" "$U")
      [ "$s" = r ] && { tr=$(since "$t0"); break; }
    fi
    # the client gave up or the job vanished: stop waiting for "r"
    kill -0 "$pid" 2>/dev/null || { [ -n "$JOB" ] && [ -n "$s" ]; } || break
    sleep 0.05
  done
  wait "$pid"; RUN_RC=$?
  RUN_OUT=$(cat "$T/run.out")
  LAT="submitted ${tj:-?} s, qstat 'r' ${tr:-?} s, running in vmbatch $(since "$t0") s"
}

# ---- 1. run, look at it from both sides
run_vm
printf '%s\n' "$RUN_OUT" | grep -q "Your vm is accessible via host $H vnc port 59[0-9][0-9], display [0-9]" && [ "$RUN_RC" -eq 0 ]
ok $? "$U: --vmrun --vm myvm --isolate: $(printf '%s' "$RUN_OUT" | grep accessible)"
[ "$RUN_RC" -eq 0 ] || { diag "$RUN_OUT"; dump_logs; }
diag "latency (1st run): $LAT"
[ "$(inst_field "$ID" backend)" = sge ]; ok $? "--maplist: instance $ID has backend sge"
[[ "$JOB" =~ ^[0-9]+$ ]]; ok $? "--maplist: instance $ID has Grid Engine job id '$JOB'"
[ "$(inst_field "$ID" state)" = running ]; ok $? "--maplist: instance $ID is running"
[ "$(job_state "$JOB" "$U")" = r ]; ok $? "qstat -u $U: job $JOB is running"
qstat -j "$JOB" 2>/dev/null | grep -Eq "^owner: +$U\$"; ok $? "qstat -j $JOB: owned by $U"
qstat -j "$JOB" 2>/dev/null | grep -Eq '^job_name: +vmbatch-'"$ID"'$'; ok $? "qstat -j $JOB: named vmbatch-$ID"
ip=$(inst_field "$ID" ip); mac=$(inst_field "$ID" mac); tap=$(inst_field "$ID" tap)
serial=$T/state/jobs/instance-$ID.serial
wait_for 90 grep -q "VMB-LEASE ip=$ip " "$serial"
ok $? "the guest got exactly its mapped IP $ip by DHCP"
grep "VMB-LEASE" "$serial" 2>/dev/null | grep -qi "mac=$mac"; ok $? "with its mapped MAC $mac"
ip -n "$NS" -d link show "$tap" 2>/dev/null | grep -q "master vbr0"; ok $? "its tap $tap is on vbr0 in $NS"
grep -q "qemu pid" "$T/state/jobs/instance-$ID.log" 2>/dev/null; ok $? "the job's log (qsub -o) has the starter's output"
[ "$(stat -c %U "$T/state/jobs/instance-$ID.log" 2>/dev/null)" = "$U" ]; ok $? "the job's log belongs to $U"
if command -v vncsnapshot >/dev/null && command -v openssl >/dev/null; then
  port=$(inst_field "$ID" vnc_port); pw=$(inst_field "$ID" vnc_password)
  printf '%-8.8s' "$pw" | tr ' ' '\0' | openssl enc -des-ecb -nopad -K e84ad660c4721ae0 -provider legacy \
    -provider default -out "$T/vncpw" 2>/dev/null
  timeout 30 vncsnapshot -quiet -passwd "$T/vncpw" "127.0.0.1::$port" "$T/shot.jpg" >/dev/null 2>&1
  [ -s "$T/shot.jpg" ]; ok $? "vncsnapshot reached the console on 127.0.0.1:$port with the instance password"
fi

# ---- 2. qdel from outside vmbatch
t0=$(now)
qdel "$JOB" >/dev/null 2>&1; ok $? "qdel $JOB (outside vmbatch)"
wait_for 30 gone "$ID"; ok $? "instance $ID's mapping is gone after the qdel ($(since "$t0") s)"
! ip -n "$NS" link show "$tap" >/dev/null 2>&1; ok $? "its tap $tap is gone"
! grep -rqs "$ip" "$T"/state/dhcp/hosts; ok $? "its fixed lease is gone from the DHCP hosts"
wait_for 5 eval "! grep -qs ' $ip ' $T/state/dhcp/*leases*"; ok $? "its lease was released"
wait_for 15 eval "! qstat -j $JOB >/dev/null 2>&1"; ok $? "job $JOB has left Grid Engine ($(since "$t0") s)"
if qconf -sq all.q 2>/dev/null | grep -Eq '^terminate_method +.*kill.*\$job_pid'; then
  # sge-up.sh's terminate_method signals the starter alone: a clean power-down
  grep -q "VMB-POWERBUTTON" "$serial" 2>/dev/null; ok $? "the guest saw the ACPI power button after the qdel"
else
  diag "all.q's terminate_method is $(qconf -sq all.q 2>/dev/null | awk '$1 == "terminate_method" { $1 = ""; print }'):" \
    "the guest $(grep -q VMB-POWERBUTTON "$serial" && echo saw || echo did not see) the ACPI power button after the qdel"
fi

# ---- 3. --vmstop through vmbatch
run_vm
[ "$RUN_RC" -eq 0 ] && [ "$(inst_field "$ID" state)" = running ] && [ "$(inst_field "$ID" backend)" = sge ]
ok $? "$U runs myvm again: instance $ID, job $JOB"
[ "$RUN_RC" -eq 0 ] || { diag "$RUN_OUT"; dump_logs; }
diag "latency (2nd run, warm): $LAT"
ip=$(inst_field "$ID" ip); tap=$(inst_field "$ID" tap)
wait_for 90 grep -q "VMB-LEASE ip=$ip " "$T/state/jobs/instance-$ID.serial"; ok $? "the guest got $ip again"
t0=$(now)
v "$U" --vmstop --instance "$ID" >/dev/null; ok $? "$U: --vmstop --instance $ID"
wait_for 60 gone "$ID"; ok $? "instance $ID's mapping is gone ($(since "$t0") s)"
grep -q "VMB-POWERBUTTON" "$T/state/jobs/instance-$ID.serial" 2>/dev/null; ok $? "the guest saw the ACPI power button"
! ip -n "$NS" link show "$tap" >/dev/null 2>&1; ok $? "its tap is gone"
! grep -rqs "$ip" "$T"/state/dhcp/hosts; ok $? "its fixed lease is gone"
wait_for 15 eval "! qstat -j $JOB >/dev/null 2>&1"; ok $? "job $JOB ended in Grid Engine ($(since "$t0") s)"

# ---- 4. two vcpus and a walltime: -pe smp 2 (h_vmem per slot), -l h_rt
slots=$(qconf -sq all.q 2>/dev/null | awk '$1 == "slots" { print $2 }')
if [ -n "$(qselect -pe smp 2>/dev/null)" ] && [ "${slots:-0}" -ge 2 ] 2>/dev/null; then
  v "$U" --vmmod --vm myvm --vcpus 2 >/dev/null # a run asks for at most the vm's own vcpus
  VMBATCH_RUN_WAIT=120 v "$U" --vmrun --vm myvm --isolate --vcpus 2 --walltime 10m >"$T/run.out" 2>&1
  rc=$?; ID=$(newest); JOB=$(job_of "$ID"); [ -n "$JOB" ] && JOBS+=("$JOB")
  [ $rc -eq 0 ] && [ "$(inst_field "$ID" state)" = running ]
  ok $? "--vmrun --vcpus 2 --walltime 10m: instance $ID runs as job $JOB"
  qstat -j "$JOB" >"$T/qstat-j" 2>&1
  grep -Eq '^parallel environment: +smp range: +2$' "$T/qstat-j"; ok $? "job $JOB takes 2 slots of the smp parallel environment"
  grep -Eq '^hard resource_list: .*h_vmem=[0-9]+M' "$T/qstat-j" && grep -Eq '^hard resource_list: .*h_rt=600' "$T/qstat-j"
  ok $? "job $JOB asks for h_vmem per slot and h_rt=600: $(grep '^hard resource_list' "$T/qstat-j" | tr -s ' ')"
  v "$U" --vmstop --instance "$ID" >/dev/null && wait_for 60 gone "$ID"; ok $? "--vmstop: instance $ID gone"
else
  tap_n=$((tap_n + 1)); echo "ok $tap_n - two vcpus as -pe smp 2 # SKIP no smp parallel environment with 2 slots"
fi

# ---- 5. queued jobs; qmaster down (only on a Grid Engine this test owns)
if [ "$SGE_STARTED" = 1 ]; then
  qmod -d "all.q@$H" >/dev/null 2>&1
  VMBATCH_RUN_WAIT=0 v "$U" --vmrun --vm myvm --isolate >/dev/null 2>&1
  ID=$(newest); JOB=$(job_of "$ID"); JOBS+=("$JOB")
  sleep 2
  [ "$(job_state "$JOB")" = qw ] && [ "$(inst_field "$ID" state)" = submitted ]
  ok $? "queue disabled: job $JOB waits (qw), instance $ID is 'submitted'"
  qpid=$(tr -dc 0-9 </var/spool/gridengine/qmaster/qmaster.pid)
  kill "$qpid" && wait_for 20 eval "! kill -0 $qpid 2>/dev/null"
  ok $? "sge_qmaster stopped (pid $qpid)"
  sleep 12 # two reconcile rounds with qstat failing
  [ "$(inst_field "$ID" state)" = submitted ]
  ok $? "qmaster down for 12 s: instance $ID is still there (an unanswered qstat is not 'gone')"
  "$SCRIPTS/sge-up.sh" >>"$T/sge-up.log" 2>&1 && [ "$(job_state "$JOB")" = qw ] && [ "$(inst_field "$ID" state)" = submitted ]
  rc=$?; ok $rc "qmaster back: job $JOB still queued, instance $ID still 'submitted'"
  [ $rc -eq 0 ] || tail -5 "$T/sge-up.log" | sed 's/^/# /'
  # issue 11: the student starts the starter of her queued job herself, with
  # the environment of that job as Grid Engine would give it, claiming it
  out=$(runuser -u "$U" -- env JOB_ID="$JOB" SGE_TASK_ID=undefined JOB_NAME="vmbatch-$ID" QUEUE=all.q \
    NSLOTS=1 NHOSTS=1 ENVIRONMENT=BATCH SGE_O_HOST="$H" HOSTNAME="$H" \
    "$STARTER" --instance "$ID" --socket "$VMB_SOCK" 2>&1); rc=$?
  [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -Fq "this starter is not job $JOB of instance $ID (sge): refused (it says job $JOB, the node found no job of that scheduler around it)"
  ok $? "a starter run by hand for queued job $JOB, claiming it, is refused: $(printf '%s' "$out" | tail -1)"
  [ $rc -ne 0 ] || diag "$out"
  [ "$(inst_field "$ID" state)" = submitted ] && [ -z "$(inst_field "$ID" tap)" ] && [ "$(job_state "$JOB")" = qw ]
  ok $? "instance $ID is still submitted with no tap, job $JOB still queued (qw)"
  ! pgrep -f "$T/state/run/instance-$ID/" >/dev/null; ok $? "no qemu runs for instance $ID"
  # the same from inside another Grid Engine job of hers (a real shepherd
  # around it, but that job's): the vm's job is held, the queue enabled
  qhold -h u "$JOB" >/dev/null 2>&1 && qmod -e "all.q@$H" >/dev/null 2>&1 && sleep 2 && [ "$(job_state "$JOB")" = hqw ]
  ok $? "job $JOB held (hqw), the queue enabled"
  HD=$T/hostile-$U
  install -d -o "$U" -g "$(id -gn "$U")" -m 0755 "$HD"
  cat >"$HD/job.sh" <<JOB
#!/bin/sh
# her own job: the starter, told it is job $JOB
exec env JOB_ID=$JOB "$STARTER" --instance $ID --socket "$VMB_SOCK"
JOB
  chmod 0755 "$HD/job.sh"
  HJOB=$(cd "$HD" && runuser -u "$U" -- qsub -terse -N vmb-hostile -o "$HD/job.out" -j y -S /bin/sh -wd "$HD" -r n "$HD/job.sh" 2>&1)
  [[ "$HJOB" =~ ^[0-9]+$ ]] && JOBS+=("$HJOB")
  [[ "$HJOB" =~ ^[0-9]+$ ]] && wait_for 60 eval "! qstat -j $HJOB >/dev/null 2>&1" &&
    grep -Fq "this starter is not job $JOB of instance $ID (sge): refused (it says job $JOB, the node found $HJOB)" "$HD/job.out"
  ok $? "her starter inside her own job $HJOB, claiming job $JOB, is refused: $(tail -1 "$HD/job.out" 2>/dev/null || echo "qsub: $HJOB")"
  [ "$(inst_field "$ID" state)" = submitted ] && [ -z "$(inst_field "$ID" tap)" ] && [ "$(job_state "$JOB")" = hqw ] &&
    ! pgrep -f "$T/state/run/instance-$ID/" >/dev/null
  ok $? "instance $ID is still submitted with no tap, job $JOB still held, no qemu"
  # the control: the real job, released, attaches under its own shepherd
  qrls -h u "$JOB" >/dev/null 2>&1
  wait_for 60 eval '[ "$(inst_field $ID state)" = running ]'; ok $? "control: job $JOB released, its starter attaches: instance $ID runs"
  ip=$(inst_field "$ID" ip)
  wait_for 90 grep -q "VMB-LEASE ip=$ip " "$T/state/jobs/instance-$ID.serial"; ok $? "and its guest gets its lease $ip"
  v "$U" --vmstop --instance "$ID" >/dev/null && wait_for 60 gone "$ID"; ok $? "--vmstop: instance $ID gone"

  qmod -d "all.q@$H" >/dev/null 2>&1
  VMBATCH_RUN_WAIT=0 v "$U" --vmrun --vm myvm --isolate >/dev/null 2>&1
  ID=$(newest); JOB=$(job_of "$ID"); JOBS+=("$JOB")
  sleep 1
  v "$U" --vmstop --instance "$ID" >/dev/null && gone "$ID"
  ok $? "--vmstop of the queued instance $ID: freed at once"
  wait_for 10 eval "! qstat -j $JOB >/dev/null 2>&1"; ok $? "and its queued job $JOB was qdel'ed"
  qmod -e "all.q@$H" >/dev/null 2>&1
else
  for d in "queued job while qmaster is down" "a starter run by hand for a queued job is refused" \
    "a starter inside another job of hers is refused" "control: the real job's starter attaches" \
    "--vmstop of a queued job"; do
    tap_n=$((tap_n + 1)); echo "ok $tap_n - $d # SKIP Grid Engine was not started by this test"
  done
fi
tap_done
