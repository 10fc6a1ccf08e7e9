#!/bin/bash
# test-hostile.sh VMBATCHD VMBATCH STARTER SCRIPTS
# A hostile student against a real vmbatchd (node role, in a network
# namespace of this test; local backend), issue 11.
#
# The attack map of issue 11: which test proves each attack.
#   - backing file, data file, --kernel/--initrd, swapped disc: the teacher's
#     qemu opens nothing outside the recorded chain ........ this file, 1-4
#   - root's run is refused ................................. this file, 5
#   - a starter run by hand for an instance that is not yet its job's:
#       local backend ....................................... this file, 6
#       Slurm (pending job) ......... test-slurm.sh, "4. pending jobs"
#       Grid Engine (queued job, by hand and inside another job of hers)
#                             ........ test-sge.sh, "5. queued jobs"
#   - an isolated guest cannot connect to a TCP listener on the gateway but
#     gets DHCP and DNS; a chaddr-spoofed DECLINE leaves the other VM's
#     address usable, and gets through with filters off: test-isolation.sh
#     (the same DHCP/IPv6 probes from raw frames, on and off: test-filter.sh)
#   - VNC unreachable from a guest or another namespace by default; a guest
#     flooding its serial port stays under the cap; template discs carry no
#     ACL and a derived vm boots as owner and runner
#                             ........ tests/integration/test-hostile-guest.sh
#     (also: test-paper-scenario.sh, test-run-vms.sh: no ACL entries;
#     tests/unit/test-serial-log.c: the cap itself)
#   - the smaller holes (names steered by others' grants, vm.run over the
#     vm's own size, root as a vmbatch user, audit retention): tests/unit/
#     test-hostile.c; MUNGE uid restriction: tests/unit/test-munge-seal.c;
#     random_password fails loudly: tests/unit/test-fleet-password.c; the
#     proofs a node reads from /proc: tests/unit/test-batch-peer.c.
#
# 1-5: the student tries to make the teacher's qemu open the teacher's own
# private file when the teacher runs the student's vm to grade it. The
# teacher is badadmin (admin_user), the student doraz; the teacher's file
# /home/badadmin/... is 0600 and holds a secret.
#   1. doraz rebases her disc by hand onto the teacher's file (qemu-img
#      rebase -u): the teacher's run is refused, naming the file;
#   2. doraz writes a header that names the teacher's file as an external
#      data file into her disc, in place: refused;
#   3. doraz sets --kernel (and --initrd) to the teacher's file: refused,
#      the node opens a kernel as the vm's owner (doraz), who cannot read it;
#   4. doraz swaps her disc for another file at the same path: refused;
#   5. root's run is refused (root never runs qemu).
# After each refusal nothing is mapped and no process holds an fd of the
# teacher's file. The controls show each attack is real: as the teacher,
# qemu-img follows the rebased header and reports the data file (what the
# teacher's qemu, opening paths, would have opened), the teacher can read the
# file named as kernel, and the swapped file is a valid image; and a clean vm
# of doraz's, run by the teacher in the same daemon, starts.
#   6. doraz runs vmbatch-starter by hand for her own instance, saying its
#      job id. A local instance never pends (vmbatchd forks its starter at
#      once), so the nearest real thing is made: the starter vmbatchd forks
#      is this test's wrapper ($T/bin/held-starter), which waits while a file
#      exists and then execs the real starter (same pid, same start time:
#      still exactly the process vmbatchd forked, the job "<pid>:<start>").
#      While it waits the instance is submitted with its job recorded, as a
#      pending job would be; doraz's own starter is refused with a message
#      naming the job and what the node found (her process), nothing is
#      mapped to it, no tap, no qemu. The control: released, the starter
#      vmbatchd forked attaches to that same instance and its guest boots
#      and gets its lease.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
begin_node_test hostile
SECRET=/home/badadmin/vmb-hostile-$$.raw
trap 'rm -f "$SECRET"; end_node_test "$NS"' EXIT
# the starter vmbatchd forks (6.): waits while $HOLD exists, then becomes the
# real starter by exec (pid and start time kept)
HOLD=$T/hold-starter
cat >"$T/bin/held-starter" <<WRAP
#!/bin/sh
while [ -e "$HOLD" ]; do sleep 0.1; done
exec "$STARTER" "\$@"
WRAP
chmod 0755 "$T/bin/held-starter"
STARTER_REAL=$STARTER STARTER=$T/bin/held-starter
start_node_vmbatchd || { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
STARTER=$STARTER_REAL
ok 0 "vmbatchd started in namespace $NS"
guest_template doraz "$D" "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"
ok $? "setup: the teacher's template, doraz a student"

# the teacher's private file (made as a raw data file of a crafted image
# first: the header bytes of attack 2 name it)
qemu-img create -q -f qcow2 -o data_file="$SECRET" "$T/df-header.qcow2" 64M &&
  printf 'TEACHER-SECRET-%s\n' "$$" | dd of="$SECRET" conv=notrunc status=none &&
  chown badadmin: "$SECRET" && chmod 0600 "$SECRET"
ok $? "the teacher's private file $SECRET (0600)"
! runuser -u doraz -- head -c1 "$SECRET" >/dev/null 2>&1; ok $? "doraz cannot read it"

vm_id() { v doraz --json --vmlist | python3 -c "import json,sys; print([v['id'] for v in json.load(sys.stdin) if v['name'] == '$1'][0])"; }
disc_of() { echo "$D/$(id -u doraz)_$1_0.qcow2"; }
mapped() { v badadmin --json --maplist | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
holders() { # processes with an fd on the secret
  local p n=0
  for p in /proc/[0-9]*; do ls -l "$p/fd" 2>/dev/null | grep -q -- "$SECRET" && n=$((n + 1)); done
  echo $n
}
# teacher_run NAME PATTERN WHAT: the teacher runs doraz's vm NAME; it must be
# refused with PATTERN, leaving nothing mapped and nobody holding the secret
teacher_run() {
  local name=$1 pat=$2 what=$3 out id
  id=$(vm_id "$name")
  out=$(VMBATCH_RUN_WAIT=60 v badadmin --vmrun --vm "$id" --isolate 2>&1)
  printf '%s\n' "$out" | grep -Eq -- "$pat"
  ok $? "$what: the teacher's run is refused: $(printf '%s' "$out" | tail -1)"
  wait_for 10 eval '[ "$(mapped)" = 0 ]'; ok $? "$what: nothing is mapped"
  [ "$(holders)" = 0 ]; ok $? "$what: no process holds an fd of the teacher's file"
}

# 1. a backing file named by hand
v doraz --vmadd --name ev1 --stor 64M >/dev/null; ok $? "doraz makes vm ev1 with a new disc"
runuser -u doraz -- qemu-img rebase -q -u -f qcow2 -F raw -b "$SECRET" "$(disc_of ev1)"
ok $? "doraz rebases her disc onto the teacher's file"
# the controls open the disc as the teacher the way vmbatch let a runner's
# qemu do before issue 11: the owner's ACL entry for the runner
runuser -u doraz -- setfacl -m u:badadmin:rw "$(disc_of ev1)" &&
  runuser -u badadmin -- qemu-img info -U --backing-chain "$(disc_of ev1)" 2>/dev/null | grep -q "image: $SECRET"
ok $? "control: as the teacher (given access as before), qemu-img follows that header to the teacher's file"
teacher_run ev1 "names a backing file \($SECRET\) that vmbatch did not record" "backing file"

# 2. an external data file, written into her own disc in place (same inode)
v doraz --vmadd --name ev2 --stor 64M >/dev/null; ok $? "doraz makes vm ev2"
ino=$(stat -c %i "$(disc_of ev2)")
runuser -u doraz -- dd if="$T/df-header.qcow2" of="$(disc_of ev2)" bs=64k count=1 conv=notrunc status=none
[ "$(stat -c %i "$(disc_of ev2)")" = "$ino" ]; ok $? "doraz writes a header naming the teacher's file as data file, in place"
runuser -u doraz -- setfacl -m u:badadmin:rw "$(disc_of ev2)" &&
  runuser -u badadmin -- qemu-img info -U "$(disc_of ev2)" 2>/dev/null | grep -q "data file: $SECRET"
ok $? "control: qemu-img, as the teacher (given access as before), reports the teacher's file as the disc's data file"
teacher_run ev2 "names an external data file: refused" "data file"

# 3. the teacher's file as kernel and initrd
v doraz --vmadd --name ev3 --stor 64M >/dev/null &&
  v doraz --vmmod --vm ev3 --kernel "$SECRET" --initrd "$SECRET" --cmdline "console=ttyS0" >/dev/null
ok $? "doraz sets the teacher's file as kernel and initrd of ev3"
runuser -u badadmin -- head -c1 "$SECRET" >/dev/null; ok $? "control: the teacher can read that file (a qemu of the teacher's would load it)"
teacher_run ev3 "cannot open $SECRET as uid $(id -u doraz): Permission denied" "kernel"

# 4. another file at the recorded path
v doraz --vmadd --name ev4 --stor 64M >/dev/null; ok $? "doraz makes vm ev4"
runuser -u doraz -- cp "$(disc_of ev4)" "$D/swap.qcow2" && runuser -u doraz -- mv "$D/swap.qcow2" "$(disc_of ev4)"
qemu-img info -U "$(disc_of ev4)" >/dev/null 2>&1
ok $? "doraz swaps her disc for a copy (control: a valid image)"
teacher_run ev4 "is not the file vmbatch made \(it was replaced\)" "swapped disc"

# 5. root
out=$(VMBATCH_SOCKET=$VMB_SOCK "$VMAPP" --vmrun --vm "$(vm_id ev4)" 2>&1)
printf '%s\n' "$out" | grep -q "root never runs qemu"; ok $? "root's run is refused: $out"

# the control of the daemon: a clean vm of doraz's, run by the teacher, starts
v doraz --vmadd --name clean --base tmpl >/dev/null; ok $? "doraz derives a clean vm from the template"
out=$(VMBATCH_RUN_WAIT=120 v badadmin --vmrun --vm "$(vm_id clean)" --isolate 2>&1)
printf '%s\n' "$out" | grep -q "accessible via host"; ok $? "control: the teacher runs it: $(printf '%s' "$out" | grep accessible)"
id=$(v badadmin --json --maplist | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])" 2>/dev/null)
wait_for 90 grep -q VMB-LEASE "$T/state/jobs/instance-$id.serial"; ok $? "its guest boots from the fds the node opened and gets its lease"
[ "$(holders)" = 0 ]; ok $? "and nothing holds the teacher's file"
v badadmin --vmstop --instance "$id" >/dev/null && wait_for 60 eval '[ "$(mapped)" = 0 ]'; ok $? "stopped and freed"

# 6. a starter run by hand for her own instance (local backend)
inst_field() { # inst_field ID KEY: a field of instance ID in --maplist, empty when it is gone
  v badadmin --json --maplist | python3 -c "import json,sys
for i in json.load(sys.stdin):
    if i['id'] == $1: print(i['$2'])"
}
touch "$HOLD"
VMBATCH_RUN_WAIT=0 v doraz --vmrun --vm clean --isolate >/dev/null 2>&1; ok $? "doraz runs clean (no wait); the starter vmbatchd forks is held"
id6=$(v badadmin --json --maplist | python3 -c "import json,sys; print(max(i['id'] for i in json.load(sys.stdin)))" 2>/dev/null)
id6=${id6:-0}
wait_for 20 eval '[ -n "$(inst_field $id6 job_id)" ]'
job6=$(inst_field "$id6" job_id); jpid=${job6%%:*}
[ "$(inst_field "$id6" state)" = submitted ] && [ "$(stat -c %U "/proc/$jpid" 2>/dev/null)" = doraz ] &&
  tr '\0' ' ' <"/proc/$jpid/cmdline" 2>/dev/null | grep -q held-starter
ok $? "instance $id6: submitted, job $job6 recorded; that process (doraz's, forked by vmbatchd) waits"
out=$(runuser -u doraz -- env JOB_ID="$job6" "$STARTER" --instance "$id6" --socket "$VMB_SOCK" 2>&1); rc=$?
found=$(printf '%s\n' "$out" | sed -n 's/.*the node found \([0-9]*:[0-9]*\)).*/\1/p' | tail -1)
[ $rc -ne 0 ] && [ -n "$found" ] && [ "$found" != "$job6" ] && printf '%s\n' "$out" |
  grep -q "this starter is not job $job6 of instance $id6 (local): refused (it says job $job6, the node found $found)"
ok $? "doraz's own starter, run by hand claiming job $job6, is refused: $(printf '%s' "$out" | tail -1)"
[ $rc -ne 0 ] || diag "$out"
[ "$(inst_field "$id6" state)" = submitted ] && [ -z "$(inst_field "$id6" tap)" ]
ok $? "instance $id6 is still submitted, no tap mapped to it"
[ -z "$(ip -n "$NS" -o link show | grep -Eo ': vmb[0-9]+')" ]; ok $? "no tap in $NS"
! pgrep -f "$T/state/run/instance-" >/dev/null
ok $? "no qemu runs for this daemon"
# the control: released, the starter vmbatchd forked attaches to the same instance
rm -f "$HOLD"
wait_for 60 eval '[ "$(inst_field $id6 state)" = running ]'
ok $? "control: the starter vmbatchd forked (job $job6) attaches: instance $id6 running"
[ "$(readlink "/proc/$jpid/exe")" = "$(readlink -f "$STARTER")" ]; ok $? "and job $job6 is that same process, now the real starter"
wait_for 90 grep -q VMB-LEASE "$T/state/jobs/instance-$id6.serial"; ok $? "its guest boots and gets its lease"
v doraz --vmstop --instance "$id6" >/dev/null && wait_for 60 eval '[ "$(mapped)" = 0 ]'; ok $? "stopped and freed"
tap_done
