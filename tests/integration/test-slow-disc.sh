#!/bin/bash
# test-slow-disc.sh VMBATCHD VMBATCH STARTER SCRIPTS
# A student's slow disc cannot freeze the daemon (issue 10): doraz gives a
# FIFO as --usediscs, which blocks qemu-img until someone writes to it.
# While it hangs, in a network namespace this test makes: an admin's ping is
# answered within a second, other users' requests are answered, alex runs a
# vm whose starter attaches and whose guest gets its lease; a third
# request of doraz waits for one of doraz's own (two run at once per user).
# Once the FIFO is
# opened for writing the request fails with a clear error and nothing is
# left (no vm row, no disc file). The control: the same FIFO blocks
# qemu-img itself for as long as nobody writes.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
begin_node_test slow
A=/home/alex/vmb-slow-$$
BG=()
trap 'for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done; end_node_test "$NS"' EXIT
start_node_vmbatchd ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd started in namespace $NS"
guest_template doraz "$D" "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1" &&
  v badadmin --uadd --name alex --uid "$(id -u alex)" --ug studs --stordir "$A" >/dev/null &&
  v alex --vmadd --name avm --base tmpl >/dev/null
ok $? "setup: a template and alex's derived vm"

# the control: nobody writes to the FIFO, so qemu-img waits (here for 3 s, then timeout ends it)
runuser -u doraz -- mkfifo "$D/f" "$D/g" "$D/h"
t0=$(date +%s%N)
runuser -u doraz -- timeout 3 qemu-img info "$D/f" >/dev/null 2>&1; rc=$?
[ $rc -eq 124 ]; ok $? "control: qemu-img info on the FIFO still hangs after 3 s (timeout's exit $rc)"

# the attack: two slow requests of doraz, each on its own connection
v doraz --vmadd --name x --usediscs "$D/f" >"$T/x.out" 2>&1 &
XPID=$!; BG+=("$XPID")
v doraz --vmadd --name y --usediscs "$D/g" >"$T/y.out" 2>&1 &
YPID=$!; BG+=("$YPID")
sleep 1
kill -0 "$XPID" 2>/dev/null && kill -0 "$YPID" 2>/dev/null; ok $? "doraz's two FIFO --usediscs requests hang"
# ping as the admin, 20 times: each is answered at once
worst=0
for i in $(seq 20); do
  t0=$(date +%s%N); v badadmin --ping >/dev/null 2>&1 || worst=999999
  ms=$((($(date +%s%N) - t0) / 1000000)); [ $ms -gt $worst ] && worst=$ms
done
[ $worst -lt 1000 ]; ok $? "meanwhile 20 admin pings are answered, the slowest in $worst ms (CLI start included)"
v alex --vmlist >/dev/null && v badadmin --maplist >/dev/null; ok $? "meanwhile alex's --vmlist and the admin's --maplist are answered"
v doraz --vmlist >/dev/null; ok $? "meanwhile doraz's own --vmlist (another connection) is answered"
# doraz's third disc request waits for one of doraz's own two (two run at once per user)
v doraz --vmadd --name z --stor 16M, >"$T/z.out" 2>&1 &
ZPID=$!; BG+=("$ZPID")
# a starter attaches and a guest boots while the FIFOs hang
out=$(VMBATCH_RUN_WAIT=120 v alex --vmrun --vm avm 2>&1); rc=$?
[ $rc -eq 0 ]; ok $? "meanwhile alex's vm runs: its starter attached ($(printf '%s' "$out" | grep -o 'accessible.*'))"
read -r ID IP < <(v alex --json --maplist | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[0]['id'], m[0]['ip'])" 2>/dev/null)
wait_for 90 grep -q "VMB-LEASE ip=$IP " "$T/state/jobs/instance-$ID.serial" 2>/dev/null
ok $? "meanwhile alex's guest got its lease ($IP)"
kill -0 "$XPID" 2>/dev/null; ok $? "doraz's first request still hangs"
kill -0 "$ZPID" 2>/dev/null && [ ! -e "$D/$(id -u doraz)_z_0.qcow2" ]
ok $? "doraz's third request (a plain new disc) waits behind doraz's two: nothing made yet"

# someone opens the FIFO for writing: qemu-img reads junk, the request fails cleanly
printf 'not a disc image' >"$D/f"
wait_for 30 eval "! kill -0 $XPID 2>/dev/null"; wait "$XPID"; rc=$?
[ $rc -ne 0 ] && [ "$(grep -c . "$T/x.out")" -eq 1 ]; ok $? "the FIFO request fails in one line once written to: $(cat "$T/x.out")"
: >"$D/g" # EOF at once: the other one ends too
wait_for 30 eval "! kill -0 $YPID 2>/dev/null"; wait "$YPID"; ok $((! $?)) "the second fails too: $(cat "$T/y.out")"
wait_for 30 eval "! kill -0 $ZPID 2>/dev/null"; wait "$ZPID"; ok $? "then the waiting request ran: vm z with a new 16M disc"
! v doraz --vmlist | grep -Eq '\b(x|y)\b'; ok $? "no vm x or y was recorded"
[ -z "$(ls "$D"/*_x_* "$D"/*_y_* 2>/dev/null)" ]; ok $? "no disc file was left in doraz's folder"
v doraz --vmadd --name w --stor 16M, >/dev/null; ok $? "doraz's next request is served as usual (a new 16M disc)"
v alex --vmstop --force --instance "$ID" >/dev/null; ok $? "alex's vm stopped"
tap_done
