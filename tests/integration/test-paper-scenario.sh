#!/bin/bash
# test-paper-scenario.sh VMBATCHD VMAPP - section 5.1 of the paper, run as
# printed there by real system users (badadmin, doraz, alex) against a
# real vmbatchd, checking the tables' content (ids, names, groups,
# derivable, base, permissions) and the paper's refusals.
# With VMBATCH_DEMO=1 it prints every command and table (the README's
# main command uses that).
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1")
VMAPP_BIN=$(realpath "$2")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (creates system users)"
command -v qemu-img >/dev/null || skip_all "qemu-img not installed"
command -v useradd >/dev/null || skip_all "useradd not installed"

T=$(mktemp -d /tmp/vmbatch-paper-XXXXXX)
chmod 0755 "$T"
cleanup() { stop_vmbatchd; remove_created_users; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# the CLI as the paper's users call it: a "vmapp" on their PATH
use_vmapp
demo() { if [ "${VMBATCH_DEMO:-0}" = 1 ]; then printf '\n$ %s\n' "$*" >&2; fi; }
# run as USER: echo the paper's command in demo mode, show its output
v() {
  local u=$1; shift
  demo "su $u; vmapp $*"
  local out rc
  out=$(as "$u" "$VMAPP" "$@" 2>&1); rc=$?
  [ "${VMBATCH_DEMO:-0}" = 1 ] && printf '%s\n' "$out" >&2
  printf '%s\n' "$out"
  return $rc
}

# the paper: groupadd vmusers; users badadmin, doraz, alex in it
getent group vmusers >/dev/null || groupadd vmusers
for u in badadmin doraz alex; do ensure_user "$u" || skip_all "cannot create user $u"; usermod -aG vmusers "$u"; done
ADMIN=$(id -u badadmin); DORAZ=$(id -u doraz); ALEX=$(id -u alex)
mkdir -p "$T/templates" && chown badadmin: "$T/templates" && chmod 0755 "$T/templates"
# storage folders of this run (a user left over from elsewhere may have old discs at home)
for u in doraz alex; do mkdir -p "$T/home/$u" && chown "$u:" "$T/home/$u" && chmod 0755 "$T/home/$u"; done
chmod 0755 "$T/home"

start_vmbatchd "$T" "admin_user = badadmin" "admin_stordir = $T/templates" "node = no" || { echo "Bail out! vmbatchd did not start"; exit 1; }

# --init by the preconfigured admin only
expect_fail "doraz cannot --init" "only the configured admin" -- v doraz --init --dbpath "$T/db/vmbatch.db"
expect_out "badadmin --init" "" -- v badadmin --init --dbpath "$T/db/vmbatch.db"
expect_fail "second --init refused" "already initialized" -- v badadmin --init --dbpath "$T/db/vmbatch.db"

# user groups
v badadmin --ugadd --name studs --ugid 10 >/dev/null; ok $? "--ugadd studs 10"
out=$(v badadmin --uglist)
printf '%s\n' "$out" | grep -Pq '^0\tadmin$' && printf '%s\n' "$out" | grep -Pq '^1\tall_users$' &&
  printf '%s\n' "$out" | grep -Pq '^10\tstuds$'; ok $? "--uglist: 0 admin, 1 all_users, 10 studs"

# users
v badadmin --uadd --name doraz --uid "$DORAZ" --ug studs --stordir "$T/home/doraz" >/dev/null; ok $? "--uadd doraz"
v badadmin --uadd --name alex --uid "$ALEX" --ug studs --stordir "$T/home/alex" >/dev/null; ok $? "--uadd alex"
out=$(v badadmin --ulist)
printf '%s\n' "$out" | grep -Pq "^$ADMIN\tbadadmin\t[^\t]*\t\(0,1,\)\t1000\t133G\t$T/templates$"; ok $? "--ulist: admin row (0,1,) 1000 133G"
printf '%s\n' "$out" | grep -Pq "^$DORAZ\tdoraz\t[^\t]*\t\(1,10,\)\t2\t13G\t$T/home/doraz$"; ok $? "--ulist: doraz (1,10,) 2 13G /home/doraz"
printf '%s\n' "$out" | grep -Pq "^$ALEX\talex\t[^\t]*\t\(1,10,\)\t2\t13G\t$T/home/alex$"; ok $? "--ulist: alex (1,10,)"
expect_fail "doraz cannot add users" "only members of the admin group" -- v doraz --uadd --name alex2 --uid 4242

# VM groups
v badadmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null; ok $? "--vmgadd lab1"
out=$(v badadmin --vmglist)
printf '%s\n' "$out" | grep -Pq '^1\tall_vms\t192\.168\.0\.1-192\.168\.0\.254$' &&
  printf '%s\n' "$out" | grep -Pq '^2\tlab1\t192\.168\.100\.2-192\.168\.100\.254$'; ok $? "--vmglist: all_vms and lab1 as in the paper"
expect_fail "overlapping range refused" "overlaps vm group 'lab1'" -- v badadmin --vmgadd --name lab2 --iprange 192.168.100.200-192.168.101.10

# the template
v badadmin --vmadd --name gsr_vm --vmg lab1 --stor 5G, --mem 2G --derivable >/dev/null; ok $? "--vmadd gsr_vm --stor 5G, --mem 2G --derivable"
out=$(v badadmin --vmlist)
printf '%s\n' "$out" | grep -Pq "^1001\tgsr_vm\t$ADMIN\t2\t1\t0\t"; ok $? "--vmlist: 1001 gsr_vm owner badadmin group 2 derivable 1 base 0"
printf '%s\n' "$out" | grep -Fq "{'$T/templates/${ADMIN}_gsr_vm_0.qcow2': 5120}"; ok $? "--vmlist: storage {'<stordir>/${ADMIN}_gsr_vm_0.qcow2': 5120}"
vsize=$(qemu-img info --output=json "$T/templates/${ADMIN}_gsr_vm_0.qcow2" | grep -o '"virtual-size": [0-9]*' | grep -o '[0-9]*$')
[ "$vsize" = 5368709120 ]; ok $? "template disc is a 5 GiB qcow2 ($vsize)"

# permissions
v badadmin --permset +d,+i --ug studs --vm gsr_vm >/dev/null; ok $? "--permset +d,+i --ug studs --vm gsr_vm"
out=$(v badadmin --permlist)
printf '%s\n' "$out" | grep -Pq "^$ADMIN\t1001\t1\t1\t1\t0(\t|$)" &&
  printf '%s\n' "$out" | grep -Pq "^10\t1001\t0\t0\t1\t1(\t|$)"; ok $? "--permlist: owner 1 1 1 0, studs 0 0 1 1"
expect_fail "students cannot set permissions on others' vms" "only admins" -- v doraz --permset +r --ug studs --vm gsr_vm

# a student derives the template
v doraz --vmadd --name myvm --base gsr_vm >/dev/null; ok $? "doraz: --vmadd --name myvm --base gsr_vm"
out=$(v doraz --vmlist)
printf '%s\n' "$out" | grep -Pq "^1001\tgsr_vm\t$ADMIN\t2\t1\t0\t" &&
  printf '%s\n' "$out" | grep -Pq "^1002\tmyvm\t$DORAZ\t2\t0\t1001\t"; ok $? "doraz --vmlist: 1001 template, 1002 myvm group 2 derivable 0 base 1001"
printf '%s\n' "$out" | grep -Fq "{'$T/home/doraz/${DORAZ}_myvm_0.qcow2': 5120}"; ok $? "overlay named <uid>_myvm_0.qcow2 in doraz's storage dir"
backing=$(qemu-img info --output=json "$T/home/doraz/${DORAZ}_myvm_0.qcow2" | grep -o '"backing-filename": "[^"]*"')
[ "$backing" = "\"backing-filename\": \"$T/templates/${ADMIN}_gsr_vm_0.qcow2\"" ]; ok $? "overlay's backing file is the template disc"
[ "$(stat -c %U "$T/home/doraz/${DORAZ}_myvm_0.qcow2")" = doraz ]; ok $? "overlay is owned by doraz (qemu-img ran as doraz)"
# nobody shares the template's file: qemu gets it as an fd the node opens
# as its owner, so deriving needs no access to it (issue 11)
! runuser -u doraz -- head -c1 "$T/templates/${ADMIN}_gsr_vm_0.qcow2" >/dev/null 2>&1; ok $? "doraz (who derived) cannot read the template disc by hand"
! runuser -u alex -- head -c1 "$T/templates/${ADMIN}_gsr_vm_0.qcow2" >/dev/null 2>&1; ok $? "alex (who did not derive) cannot read it either"
[ "$(getfacl -cp "$T/templates/${ADMIN}_gsr_vm_0.qcow2" 2>/dev/null | grep -c '^user:[^:]')" = 0 ]; ok $? "the template disc carries no ACL entry"
out=$(v doraz --permlist)
n=$(printf '%s\n' "$out" | grep -cP '^[0-9]+\t[0-9]+\t')
printf '%s\n' "$out" | grep -Pq "^10\t1001\t0\t0\t1\t1(\t|$)" &&
  printf '%s\n' "$out" | grep -Pq "^$DORAZ\t1002\t1\t1\t0\t1(\t|$)" && [ "$n" -eq 2 ]; ok $? "doraz --permlist: exactly the paper's two rows (studs 0 0 1 1; doraz 1 1 0 1)"
expect_fail "derived vm cannot be a template" "cannot be (a template|--derivable)" -- v doraz --vmadd --name myvm2 --base gsr_vm --derivable
expect_fail "alex cannot derive doraz's vm: the paper's message" "You don't have permission to derive this vm" -- v alex --vmadd --name x --base 1002

# running: forced isolation
expect_fail "doraz: --vmrun without --isolate" "You don't have permission to run this vm unisolated\." -- v doraz --vmrun --vm myvm --mem 2G
expect_fail "alex cannot see doraz's vm" "no such vm" -- v alex --vmrun --vm myvm --mem 2G --isolate
out=$(v doraz --vmrun --vm myvm --mem 2G --isolate --nostart); rc=$?
[ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "192.168.100.2" && printf '%s\n' "$out" | grep -q "de:af:de:af:64:02"; ok $? "doraz: --vmrun --isolate reserves 192.168.100.2 / de:af:de:af:64:02"
out=$(v doraz --maplist)
printf '%s\n' "$out" | grep -Pq "^$DORAZ\t1002\t192\.168\.100\.2\tde:af:de:af:64:02\t1\t"; ok $? "doraz --maplist: uid vmid ip mac isolated as in the paper"
out=$(v alex --maplist)
! printf '%s\n' "$out" | grep -q "192.168.100.2"; ok $? "alex --maplist does not show doraz's mapping"
out=$(v alex --vmlist)
! printf '%s\n' "$out" | grep -Pq '^1002\t'; ok $? "alex --vmlist does not show doraz's vm"
out=$(v badadmin --maplist)
printf '%s\n' "$out" | grep -q "192.168.100.2"; ok $? "admin --maplist sees every mapping"

# quotas and access checks done as the caller
v doraz --vmadd --name second --base gsr_vm >/dev/null; ok $? "doraz derives a second vm"
v doraz --vmrun --vm second --isolate --nostart >/dev/null; ok $? "doraz runs a second vm (max 2)"
v doraz --vmadd --name third --base gsr_vm >/dev/null
expect_fail "third running vm exceeds max_running 2" "at most 2 vm" -- v doraz --vmrun --vm third --isolate --nostart
expect_fail "--usediscs /etc/shadow as doraz" "[Pp]ermission denied" -- v doraz --vmadd --name stolen --usediscs /etc/shadow
[ ! -e "$T/home/doraz/${DORAZ}_stolen_0.qcow2" ]; ok $? "no disc file left behind"
! v doraz --vmlist | grep -Pq '\tstolen\t'; ok $? "no vm 'stolen' recorded"
expect_fail "template with derived vms cannot be deleted" "base of" -- v badadmin --vmdel --vm gsr_vm
expect_fail "unknown uid refused" "not a vmbatch user" -- runuser -u nobody -- env VMBATCH_SOCKET="$VMB_SOCK" "$VMAPP" --vmlist

# releasing the mapping frees the address exactly once
inst=$(v doraz --json --maplist | grep -o '"id": [0-9]*' | head -1 | grep -o '[0-9]*$')
v doraz --vmrelease --instance "$inst" >/dev/null; ok $? "--vmrelease frees the reservation"
expect_fail "second release fails" "no such instance" -- v doraz --vmrelease --instance "$inst"
out=$(v doraz --vmrun --vm myvm --isolate --nostart)
printf '%s\n' "$out" | grep -q "192.168.100.2"; ok $? "freed address is handed out again"

out=$(v badadmin --json --auditlist --limit 1000)
n=$(printf '%s\n' "$out" | grep -c '"op":')
# init, ugadd, 2 uadd, vmgadd, vmadd, permset, 3 derives, 3 runs, 1 release: 14 changes;
# the refused requests above must not appear
[ "$n" -eq 14 ]; ok $? "audit log: one entry per successful change, none for refusals ($n)"
printf '%s\n' "$out" | grep -q '"op": "perm.set"'; ok $? "audit log has the permset"

tap_done
