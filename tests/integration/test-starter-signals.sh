#!/bin/bash
# test-starter-signals.sh VMBATCHD VMBATCH STARTER SCRIPTS
# vmbatch-starter acts on a SIGTERM (what scancel and qdel send) in any
# phase: here while vmbatchd is gone and the starter is re-attaching, which
# used to keep it deaf for up to 60 s. In a network namespace this test makes:
# a guest runs, vmbatchd is killed (SIGKILL), the starter is sent SIGTERM:
# the guest is powered off and qemu and the starter are gone within 10 s;
# vmbatchd, started again, frees the instance. Also: --walltime powers the
# guest off on a one-shot timer.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
begin_node_test sig
start() { start_node_vmbatchd || { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }; }
start
ok 0 "vmbatchd started in namespace $NS"
guest_template doraz "$D" "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1" &&
  v doraz --vmadd --name g --base tmpl >/dev/null
ok $? "setup: a template and doraz's derived vm g"

run_guest() { # run_guest [vmapp options]: sets ID, STARTER_PID, SERIAL; waits for the lease
  local out
  out=$(VMBATCH_RUN_WAIT=120 v doraz --vmrun --vm g "$@" 2>&1) || { diag "$out"; return 1; }
  read -r ID JOB < <(v doraz --json --maplist | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[0]['id'], m[0]['job_id'])")
  STARTER_PID=${JOB%%:*}
  SERIAL=$T/state/jobs/instance-$ID.serial
  wait_for 90 grep -q "VMB-LEASE" "$SERIAL"
}
qemu_of() { pgrep -f "$T/state/run/instance-$1/" | head -1; }

run_guest; ok $? "the guest runs and has its lease (instance $ID, starter $STARTER_PID)"
QEMU=$(qemu_of "$ID")
[ -n "$QEMU" ]; ok $? "its qemu is pid $QEMU"
kill -9 "$VMB_PID"; wait "$VMB_PID" 2>/dev/null; VMB_PID=
wait_for 10 grep -q "lost vmbatchd, re-attaching" "$T/state/jobs/instance-$ID.log"
ok $? "vmbatchd killed: the starter is re-attaching"
t0=$(date +%s%N)
kill -TERM "$STARTER_PID"
wait_for 10 eval "! kill -0 $STARTER_PID 2>/dev/null && ! kill -0 $QEMU 2>/dev/null"; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
ok $rc "SIGTERM while re-attaching: starter and qemu gone ${ms} ms later (used to wait up to 60 s)"
grep -q "VMB-POWERBUTTON" "$SERIAL"; ok $? "the guest saw the power button (a clean stop, not a kill)"
grep -q "stopping (the job was cancelled)" "$T/state/jobs/instance-$ID.log"; ok $? "the starter's log says why"
rm -f "$T/vmbatchd.sock" # the killed daemon's: start_vmbatchd waits for a new one
start
gone() { local m; m=$(v badadmin --json --maplist) && ! printf '%s' "$m" | grep -q "\"id\": $ID,"; }
wait_for 30 gone; ok $? "vmbatchd, started again, freed instance $ID"

# --walltime: a one-shot timer in the starter's loop
run_guest --walltime 8s; ok $? "a guest with --walltime 8s runs (instance $ID)"
t0=$(date +%s)
wait_for 40 gone; rc=$?
ok $rc "its wall time is up: powered off and freed $(($(date +%s) - t0)) s after its lease"
grep -q "its wall time is up" "$T/state/jobs/instance-$ID.log"; ok $? "the starter's log says why"
tap_done
