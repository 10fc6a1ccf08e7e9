#!/bin/bash
# test-slurm.sh VMBATCHD VMBATCH STARTER SCRIPTS
# VMs as Slurm jobs (batch_backend = slurm), end to end, guests under TCG.
#
# Everything runs in a network namespace this test makes: vmbatchd with its
# bridge and dnsmasq (ip netns exec), and a private single-node Slurm brought
# up by scripts/slurm-up.sh (SLURM_UP_DIR + SLURM_UP_NETNS: slurmctld and
# slurmd under nsenter --net, which keeps the real /sys slurmd needs). So
# vmbatchd's sbatch/squeue/scancel reach slurmctld at 127.0.0.1 of the
# namespace, the jobs (vmbatch-starter, qemu) run there and VNC listens on
# its 127.0.0.1; nothing touches a Slurm the machine may run, and the test
# stops what it started. munged is the machine's (slurm-up.sh starts it if
# needed and the test's stop ends it again then).
#
# Users sladmin, sldoraz, slalex: the paper's badadmin, doraz and alex, named
# apart so that other tests running at the same time never share (or remove)
# them under this one.
#  1. sldoraz runs myvm --isolate: --maplist shows it running, backend slurm,
#     a Slurm job id; squeue shows that job RUNNING as sldoraz; the guest gets
#     its mapped IP by DHCP; VNC works with the instance's password; the job
#     log is sldoraz's.
#  2. `scancel JOB` from outside vmbatch: within seconds the mapping, the
#     tap and the lease are gone.
#  3. --vmstop through vmbatch: the guest powers off, the job ends; so it
#     does after `scancel --batch --signal=TERM` (only the starter signalled).
#  4. a job held PENDING (a job outside vmbatch holds the node exclusively):
#     scancel'd outside vmbatch -> reconciliation frees the instance;
#     a starter run by hand for it, claiming its job id, is refused;
#     --vmstop on a pending one -> scancel and freed at once.
#  5. slurmctld down while a job is pending: the instance is NOT freed (an
#     unreachable scheduler is not a finished job); back up, the job is
#     still there and is cleaned up once cancelled.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users, Slurm)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release vncsnapshot openssl getfacl nsenter python3; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

T=$(mktemp -d /tmp/vmbatch-slurm-XXXXXX); chmod 0755 "$T"
NS=vmb-slurm-$$
SLDIR=$T/slurm
SLCONF=$SLDIR/slurm.conf
SLURM_STARTED=0
slurm_up() { SLURM_UP_DIR=$SLDIR SLURM_UP_NETNS=$NS "$SCRIPTS/slurm-up.sh" "$@"; }
# a Slurm command against the test's Slurm, in its namespace
sl() { nsenter --net="/run/netns/$NS" env SLURM_CONF="$SLCONF" "$@"; }
cleanup() {
  if [ "$SLURM_STARTED" = 1 ]; then
    # end every job of our Slurm first: a stopped slurmd leaves jobs running
    local j
    for j in $(sl timeout 10 squeue -h -o %i 2>/dev/null); do sl timeout 10 scancel "$j" 2>/dev/null; done
    wait_for 20 eval '[ -z "$(sl timeout 5 squeue -h -o %i 2>/dev/null)" ]'
  fi
  stop_vmbatchd
  [ "$SLURM_STARTED" = 1 ] && slurm_up stop >/dev/null
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "/home/sldoraz/vmb-slurm-$$" "/home/slalex/vmb-slurm-$$"
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
t0=${EPOCHREALTIME/[.,]/}
slurm_up >"$T/slurm-up.log" 2>&1; rc=$?
if [ $rc -ne 0 ]; then
  diag "$(cat "$T/slurm-up.log")"
  slurm_up stop >/dev/null 2>&1
  [ $rc -eq 3 ] && skip_all "Slurm is not installed and cannot be installed"
  skip_all "Slurm cannot be started here (slurm-up.sh exit $rc)"
fi
SLURM_STARTED=1
ok 0 "private Slurm up in namespace $NS in $(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) ms (scripts/slurm-up.sh)"
slurm_up >/dev/null 2>&1; ok $? "slurm-up.sh again: idempotent"
grep -q '^SelectTypeParameters=CR_Core_Memory$' "$SLCONF"; ok $? "memory is a consumable resource (CR_Core_Memory)"

use_test_guest
use_paper_users sladmin sldoraz slalex "vmb-slurm-$$"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }

# vmbatchd in the namespace; SLURM_CONF reaches its sbatch/squeue/scancel
VMB_PREFIX="ip netns exec $NS env SLURM_CONF=$SLCONF"
start_vmbatchd "$T" "admin_user = sladmin" "admin_stordir = $T/templates" "state_dir = $T/state" \
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
  "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "batch_backend = slurm" ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (node role, batch_backend = slurm) started in namespace $NS"

v sladmin --init >/dev/null && v sladmin --ugadd --name studs --ugid 10 >/dev/null &&
  v sladmin --uadd --name sldoraz --uid "$(id -u sldoraz)" --ug studs --stordir "/home/sldoraz/vmb-slurm-$$" >/dev/null &&
  v sladmin --uadd --name slalex --uid "$(id -u slalex)" --ug studs --stordir "/home/slalex/vmb-slurm-$$" >/dev/null &&
  v sladmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null &&
  v sladmin --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" \
    --cmdline "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1 vmb.hold=-1" >/dev/null &&
  v sladmin --permset +d,+i --ug studs --vm tmpl >/dev/null &&
  v sldoraz --vmadd --name myvm --base tmpl >/dev/null && v slalex --vmadd --name myvm --base tmpl >/dev/null
ok $? "setup: users, lab1, template (forced isolated), sldoraz and slalex derive myvm"

map_json() { v sladmin --json --maplist; }
# inst_field ID KEY: a field of instance ID in --maplist (empty when it is gone)
inst_field() {
  map_json | python3 -c "import json,sys
m=[i for i in json.load(sys.stdin) if i['id'] == $1]
print(m[0]['$2'] if m else '')"
}
newest_id() { map_json | python3 -c "import json,sys; print(max([i['id'] for i in json.load(sys.stdin)] or [0]))"; }
# the job id of instance ID, once vmbatchd's sbatch (run beside the request) has answered
job_of() { wait_for 20 eval '[ -n "$(inst_field '"$1"' job_id)" ]'; inst_field "$1" job_id; }
gone() { [ -z "$(inst_field "$1" id)" ]; }
ms_since() { echo $(( (${EPOCHREALTIME/[.,]/} - $1) / 1000 )); }
job_state() { sl timeout 10 squeue -h -j "$1" -o %T 2>/dev/null; }

# ---- 1. a VM as a Slurm job
t0=${EPOCHREALTIME/[.,]/}
out=$(VMBATCH_RUN_WAIT=120 v sldoraz --vmrun --vm myvm --isolate 2>&1); rc=$?
run_ms=$(ms_since "$t0")
[ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "Your vm is accessible via host $(hostname) vnc port 59[0-9][0-9]"
ok $? "sldoraz: vmapp --vmrun --vm myvm --isolate -> running in $run_ms ms"
if [ $rc -ne 0 ]; then
  diag "$out"; tail -30 "$T/vmbatchd.log" | sed 's/^/# /'; cat "$T"/state/jobs/*.log 2>/dev/null | sed 's/^/# /'
  echo "Bail out! the first VM did not run under Slurm"; exit 1
fi
id=$(newest_id); job=$(inst_field "$id" job_id)
[ "$(inst_field "$id" state)" = running ] && [ "$(inst_field "$id" backend)" = slurm ]
ok $? "--maplist: instance $id running, backend $(inst_field "$id" backend)"
[[ "$job" =~ ^[0-9]+$ ]]; ok $? "--maplist: Slurm job id '$job'"
sq=$(sl squeue -h -j "$job" -o '%u %T %j' 2>&1)
[ "$sq" = "sldoraz RUNNING vmbatch-$id" ]; ok $? "squeue: job $job is '$sq'"
[ "$sq" = "sldoraz RUNNING vmbatch-$id" ] || diag "wanted 'sldoraz RUNNING vmbatch-$id'"
# sbatch returned -> the job's starter attached, from vmbatchd's log (ms)
lat=$(python3 - "$T/vmbatchd.log" "$id" <<'PY' 2>/dev/null
import re, sys, datetime as d
t = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)Z .*instance %s(?: submitted to slurm|: monitor attached)" % sys.argv[2], line)
    if m:
        t["att" if "attached" in line else "sub"] = d.datetime.fromisoformat(m.group(1))
print(int((t["att"] - t["sub"]).total_seconds() * 1000))
PY
)
diag "job $job: sbatch -> starter attached ${lat:-?} ms"
[ "$(stat -c %U "$T/state/jobs/instance-$id.log" 2>/dev/null)" = sldoraz ]; ok $? "the job log state_dir/jobs/instance-$id.log is sldoraz's"
ip=$(inst_field "$id" ip); mac=$(inst_field "$id" mac); tap=$(inst_field "$id" tap)
port=$(inst_field "$id" vnc_port); pw=$(inst_field "$id" vnc_password)
serial=$T/state/jobs/instance-$id.serial
wait_for 90 grep -q "VMB-LEASE ip=$ip " "$serial"
ok $? "the guest got exactly its mapped IP $ip by DHCP"
grep "VMB-LEASE" "$serial" | grep -qi "mac=$mac"; ok $? "with its mapped MAC $mac"
ip -n "$NS" -d link show "$tap" 2>/dev/null | grep -q "master vbr0"; ok $? "tap $tap is on vbr0"
printf '%s' "$pw" | openssl enc -des-ecb -nopad -K e84ad660c4721ae0 -provider legacy -provider default \
  -in <(printf '%-8.8s' "$pw" | tr ' ' '\0') -out "$T/vncpw" 2>/dev/null
# qemu runs where slurmd runs: in the namespace
ip netns exec "$NS" timeout 30 vncsnapshot -quiet -passwd "$T/vncpw" "127.0.0.1::$port" "$T/shot.jpg" >/dev/null 2>&1
[ -s "$T/shot.jpg" ]; ok $? "vncsnapshot captured the console (127.0.0.1:$port in $NS) with the instance password"

# ---- 2. scancel from outside vmbatch
t0=${EPOCHREALTIME/[.,]/}
sl scancel "$job"; ok $? "scancel $job (outside vmbatch)"
wait_for 30 gone "$id"; ok $? "instance $id's mapping is gone $(ms_since "$t0") ms after scancel"
grep -q "VMB-POWERBUTTON" "$serial" && diag "(the guest saw the ACPI power button)" ||
  diag "(qemu shares the starter's process group, so scancel's SIGTERM reached it too: no ACPI power-down)"
wait_for 10 eval "! ip -n $NS link show $tap >/dev/null 2>&1"; ok $? "its tap $tap is gone"
! grep -rqs "$ip" "$T"/state/dhcp/hosts; ok $? "its fixed DHCP host is gone"
wait_for 10 eval "! grep -qs ' $ip ' $T/state/dhcp/*leases*"; ok $? "its lease was released"
wait_for 20 eval '[ -z "$(job_state '"$job"')" ]'; ok $? "the job is gone from squeue"
! pgrep -f "$T/state/run/instance-$id/qmp.sock" >/dev/null; ok $? "its qemu is gone"

# ---- 3. --vmstop through vmbatch
t0=${EPOCHREALTIME/[.,]/}
out=$(VMBATCH_RUN_WAIT=120 v slalex --vmrun --vm myvm --isolate 2>&1); ok $? "slalex runs myvm"
run2_ms=$(ms_since "$t0")
id2=$(newest_id); job2=$(inst_field "$id2" job_id); ip2=$(inst_field "$id2" ip)
[ "$(job_state "$job2")" = RUNNING ]; ok $? "slalex's instance $id2 is job $job2, RUNNING"
wait_for 90 grep -q "VMB-LEASE ip=$ip2 " "$T/state/jobs/instance-$id2.serial"; ok $? "its guest got $ip2"
t0=${EPOCHREALTIME/[.,]/}
v slalex --vmstop --instance "$id2" >/dev/null; ok $? "slalex: --vmstop --instance $id2"
wait_for 60 gone "$id2"; ok $? "instance $id2 is freed $(ms_since "$t0") ms after --vmstop"
grep -q "VMB-POWERBUTTON" "$T/state/jobs/instance-$id2.serial" 2>/dev/null; ok $? "the guest saw the ACPI power button"
wait_for 20 eval '[ -z "$(job_state '"$job2"')" ]'; ok $? "job $job2 ended"

# ---- 3b. scancel --batch --signal=TERM signals only the job's shell, i.e. the
# starter (a plain scancel signals qemu too): the guest is powered off cleanly
VMBATCH_RUN_WAIT=120 v slalex --vmrun --vm myvm --isolate >/dev/null 2>&1; ok $? "slalex runs myvm again"
id2b=$(newest_id); job2b=$(inst_field "$id2b" job_id); ip2b=$(inst_field "$id2b" ip)
wait_for 90 grep -q "VMB-LEASE ip=$ip2b " "$T/state/jobs/instance-$id2b.serial"; ok $? "its guest got $ip2b"
t0=${EPOCHREALTIME/[.,]/}
sl scancel --batch --signal=TERM "$job2b"; ok $? "scancel --batch --signal=TERM $job2b"
wait_for 30 gone "$id2b"; ok $? "instance $id2b is freed $(ms_since "$t0") ms later"
grep -q "VMB-POWERBUTTON" "$T/state/jobs/instance-$id2b.serial" 2>/dev/null; ok $? "the guest saw the ACPI power button"
wait_for 20 eval '[ -z "$(job_state '"$job2b"')" ]'; ok $? "job $job2b ended"

# ---- 4. pending jobs: a job outside vmbatch holds the whole node
blocker=$(sl runuser -u nobody -- sbatch --parsable --exclusive --job-name=blocker -o /dev/null --wrap 'sleep 600' 2>&1)
wait_for 20 eval '[ "$(job_state '"$blocker"')" = RUNNING ]'; ok $? "job $blocker (outside vmbatch) holds the node"
VMBATCH_RUN_WAIT=0 v sldoraz --vmrun --vm myvm --isolate >/dev/null 2>&1; ok $? "sldoraz runs myvm again (no wait)"
id3=$(newest_id); job3=$(job_of "$id3")
sleep 2
[ "$(job_state "$job3")" = PENDING ] && [ "$(inst_field "$id3" state)" = submitted ]
ok $? "instance $id3: job $job3 PENDING, instance submitted"
sleep 6 # more than a reconciliation round: a pending job is left alone
[ "$(inst_field "$id3" state)" = submitted ]; ok $? "reconciliation leaves a pending job's instance alone"
# a hostile student starts the starter of her pending job herself, saying
# the right job id (what the node used to believe): refused, the node finds
# no slurmstepd of that job around it (issue 11)
out=$(runuser -u sldoraz -- env SLURM_JOB_ID="$job3" "$STARTER" --instance "$id3" --socket "$VMB_SOCK" 2>&1)
printf '%s\n' "$out" | grep -q "this starter is not job $job3 of instance $id3 (slurm): refused (it says job $job3"
ok $? "a starter run by hand for pending job $job3, claiming that job, is refused: $(printf '%s' "$out" | tail -1)"
[ "$(inst_field "$id3" state)" = submitted ]; ok $? "and instance $id3 is still submitted, its job still pending"
t0=${EPOCHREALTIME/[.,]/}
sl scancel "$job3"; ok $? "scancel $job3 while PENDING (outside vmbatch)"
wait_for 20 gone "$id3"; ok $? "reconciliation freed instance $id3, $(ms_since "$t0") ms after scancel"

VMBATCH_RUN_WAIT=0 v sldoraz --vmrun --vm myvm --isolate >/dev/null 2>&1
id4=$(newest_id); job4=$(job_of "$id4")
sleep 1
[ "$(job_state "$job4")" = PENDING ]; ok $? "instance $id4: job $job4 PENDING"
t0=${EPOCHREALTIME/[.,]/}
v sldoraz --vmstop --instance "$id4" >/dev/null; ok $? "--vmstop a pending instance"
gone "$id4"; ok $? "instance $id4 freed at once ($(ms_since "$t0") ms)"
wait_for 10 eval '[ -z "$(job_state '"$job4"')" ]'; ok $? "its job $job4 was cancelled"

# ---- 5. slurmctld unreachable: not the same as a finished job
VMBATCH_RUN_WAIT=0 v sldoraz --vmrun --vm myvm --isolate >/dev/null 2>&1
id5=$(newest_id); job5=$(job_of "$id5")
sleep 1
[ "$(job_state "$job5")" = PENDING ]; ok $? "instance $id5: job $job5 PENDING"
ctld=$(cat "$SLDIR/run/slurmctld.pid")
kill "$ctld"; wait_for 10 eval "! kill -0 $ctld 2>/dev/null"; ok $? "slurmctld stopped (pid $ctld)"
sleep 12 # two reconciliation rounds, each with an squeue that cannot reach slurmctld
[ "$(inst_field "$id5" state)" = submitted ]; ok $? "instance $id5 kept while slurmctld is unreachable"
grep -q "squeue" "$T/vmbatchd.log" && diag "$(grep -m2 "squeue" "$T/vmbatchd.log")"
slurm_up >/dev/null 2>&1; ok $? "slurmctld back (slurm-up.sh)"
[ "$(job_state "$job5")" = PENDING ]; ok $? "job $job5 still PENDING after the restart"
sl scancel "$job5" "$blocker"
wait_for 20 gone "$id5"; ok $? "instance $id5 freed once its job is cancelled"

[ "$(map_json)" = "[]" ]; ok $? "no mapping left"
[ -z "$(sl squeue -h -o %i 2>/dev/null)" ] || wait_for 20 eval '[ -z "$(sl squeue -h -o %i 2>/dev/null)" ]'
ok $? "no job left in Slurm"
[ -z "$(ip -n "$NS" -o link show | grep -Eo ': vmb[0-9]+')" ]; ok $? "no tap left"
diag "figures: vmrun -> running ${run_ms} ms (sbatch -> starter attached ${lat:-?} ms: the first job of a" \
  "fresh slurmctld), the next vmrun -> running ${run2_ms} ms; scancel/--vmstop -> freed: above"
tap_done
