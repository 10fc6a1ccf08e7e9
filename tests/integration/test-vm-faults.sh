#!/bin/bash
# test-vm-faults.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Faults on the node role (local backend, dnsmasq), inside a network
# namespace this test makes; guests run under TCG.
#  1. random kills over many cycles: start a vm, wait 0-4 s, then SIGKILL its
#     starter, or its qemu, or vmbatchd itself (restarted at once), or stop it
#     normally; the instance must end every time, and at the end nothing may
#     leak: no mapping, tap, DHCP host file, lease, starter, qemu, dnsmasq;
#     the first address is handed out again. VMBATCH_FAULT_SEED picks the
#     sequence (printed), VMBATCH_FAULT_CYCLES how many (12).
#  2. faults with a clear error and nothing half made: a kernel that does not
#     exist, a full IP range, the DHCP server killed, a busy VNC display, a
#     starter that does not exist (second daemon, second namespace).
#  3. suspend / resume: mapping state and the guest really stopping.
# Points failing because of a known bug in src/ are "not ok N - ... # TODO"
# and do not fail the script.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release getfacl debugfs busybox; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip_all "python3 not installed"
T0=$(date +%s)

# todo COND "name" "reason": a point that fails because of a known bug.
# A pass prints a plain "ok" (meson counts "ok ... # TODO" as a failure).
todo() {
  tap_n=$((tap_n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; diag "(known bug did not show this time: $3)"
  else echo "not ok $tap_n - $2 # TODO $3"; fi
}

T=$(mktemp -d /tmp/vmbatch-faults-XXXXXX); chmod 0755 "$T"
touch "$T/.start"
NS=vmb-flt-$$
NS2=vmb-flt2-$$
D2_PID=
cleanup() {
  local p
  stop_vmbatchd
  [ -n "$D2_PID" ] && { kill "$D2_PID" 2>/dev/null; wait "$D2_PID" 2>/dev/null; }
  # every starter, qemu, dnsmasq and listener of ours lives in our namespaces: end what is
  # still there (by pid; a pid recorded earlier may belong to someone else by now)
  for n in "$NS" "$NS2"; do
    ip netns pids "$n" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  # the private directories of our starters (a SIGKILLed starter cannot remove its own)
  id fltdoraz >/dev/null 2>&1 &&
    find /tmp -maxdepth 1 -name 'vmbatch-[0-9]*-*' -user fltdoraz -newer "$T/.start" >>"$T/starter-dirs" 2>/dev/null
  for p in $(sort -u "$T/starter-dirs" 2>/dev/null); do rm -rf "$p"; done
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pyj() { "$PY" -c "import json,sys
try: m=json.load(sys.stdin)
except Exception: sys.exit(1)
$1"; }

use_test_guest
# a disc whose /vmb-probe prints a heartbeat every 0.3 s (for suspend/resume)
cp "$GUEST/disk.raw" "$T/hb.raw"
printf 'while :; do echo "VMB-HB $(cut -d" " -f1 /proc/uptime)"; sleep 0.3; done\n' >"$T/probe.sh"
debugfs -w -R "write $T/probe.sh vmb-probe" "$T/hb.raw" >/dev/null 2>&1 &&
  qemu-img convert -O qcow2 "$T/hb.raw" "$T/guest/hb.qcow2" && rm -f "$T/hb.raw" ||
  skip_all "cannot make the heartbeat disc"
cp "$T/guest/vmlinuz" "$T/guest/doomed-vmlinuz"
chmod 0644 "$T"/guest/*; chmod 0755 "$T/guest"
# The paper's badadmin (admin) and doraz (student), under names of this test's own: other
# tests on this machine create and delete badadmin/doraz/alex, maybe while this one runs.
ensure_user fltadmin && ensure_user fltdoraz || skip_all "cannot create the users"
DORAZ_UID=$(id -u fltdoraz)
# doraz's discs live in our temp dir
mkdir -p "$T/doraz" && chown fltdoraz: "$T/doraz" && chmod 0755 "$T/doraz"
mkdir -p "$T/templates" && chown fltadmin: "$T/templates" && chmod 0711 "$T/templates"
use_vmapp
# v badadmin|doraz ARGS...: vmapp as that user (the paper's names, our users)
uname_of() { case $1 in badadmin) echo fltadmin ;; doraz) echo fltdoraz ;; *) echo "$1" ;; esac; }
v() { local u; u=$(uname_of "$1"); shift; as "$u" "$VMAPP" "$@"; }

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
VMB_PREFIX="ip netns exec $NS"
CONF=("admin_user = fltadmin" "admin_stordir = $T/templates" "state_dir = $T/state"
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq"
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg"
  "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5")
DHCPD=$T/state/dhcp
daemon_up() { v badadmin --ping >/dev/null 2>&1; }
# start (or restart, after a SIGKILL the old socket file is still there) and wait until it answers
daemon_start() { start_vmbatchd "$T" "${CONF[@]}" && wait_for 15 daemon_up; }
dnsmasq_pid() { local p; p=$(cat "$DHCPD/dnsmasq.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"; }
# pids of processes in namespace NS whose comm starts with $2 (zombies excluded)
ns_procs() {
  local p st
  for p in $(ip netns pids "$1" 2>/dev/null); do
    st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
    [ -n "$st" ] && [ "$st" != Z ] && case "$(cat "/proc/$p/comm" 2>/dev/null)" in "$2"*) echo "$p" ;; esac
  done
}

# kill_ours PID: SIGKILL it if it is still a process in our namespace (pids get reused)
kill_ours() {
  [ -n "$1" ] && [ "$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$NS" 2>/dev/null)" ] &&
    kill -9 "$1" 2>/dev/null
}
daemon_start || { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (node role, dnsmasq) started in namespace $NS"

v badadmin --init >/dev/null && v badadmin --ugadd --name studs --ugid 10 >/dev/null &&
  v badadmin --uadd --name fltdoraz --uid "$DORAZ_UID" --ug studs --stordir "$T/doraz" --maxvms 3 >/dev/null &&
  v badadmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.200 >/dev/null &&
  v badadmin --vmgadd --name lab2 --vmgid 3 --iprange 192.168.100.250-192.168.100.250 >/dev/null
ok $? "setup: init, studs, doraz, lab1 (.2-.200), lab2 (one address, .250)"
CMDLINE="console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"
v badadmin --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 96M \
  --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$CMDLINE" >/dev/null &&
  v badadmin --permset +d,+i --ug studs --vm tmpl >/dev/null &&
  v badadmin --vmadd --name hbt --vmg lab1 --usediscs "$T/guest/hb.qcow2" --derivable --mem 96M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$CMDLINE vmb.probe=hb" >/dev/null &&
  v badadmin --permset +d,+i --ug studs --vm hbt >/dev/null &&
  v doraz --vmadd --name myvm --base tmpl >/dev/null && v doraz --vmadd --name hb --base hbt >/dev/null
ok $? "templates tmpl and hbt (forced isolated for studs); doraz derives myvm and hb"

maplist() { v badadmin --json --maplist 2>/dev/null; }
# ifield ID KEY: a field of instance ID in --maplist, empty when it is not there
ifield() { maplist | pyj "r=[i for i in m if i['id']==$1]; print(r[0]['$2'] if r else '')"; }
present() { maplist | pyj "sys.exit(0 if any(i['id']==$1 for i in m) else 1)"; }
gone() { ! present "$1"; }
nrows() { maplist | pyj "print(len(m))"; }
serial() { echo "$T/state/jobs/instance-$1.serial"; }
log_dump() { diag "vmbatchd.log (tail):"; tail -n "${2:-25}" "$T/vmbatchd.log" | sed 's/^/#   /'; diag "job log of $1:"; sed 's/^/#   /' "$T/state/jobs/instance-$1.log" 2>/dev/null | tail -n 15; }
# remember the starter and its qemu (pids, private dir) for cleanup and the leak check
track() { # track STARTER_PID
  local s=$1 q
  for q in $(pgrep -P "$s" 2>/dev/null); do
    echo "$q" >>"$T/qemu-pids"
    { tr '\0' '\n' <"/proc/$q/cmdline"; } 2>/dev/null | grep -o '/tmp/vmbatch-[0-9]*-[A-Za-z0-9]*' | head -1 >>"$T/starter-dirs"
  done
  echo "$s" >>"$T/starter-pids"
}
# run_bg USER VM: vm.run that returns at once; sets RID (instance id) and RSTARTER (starter pid)
run_bg() {
  local out
  out=$(VMBATCH_RUN_WAIT=0 v "$1" --json --vmrun --vm "$2" --isolate 2>"$T/run.err")
  RID=$(printf '%s' "$out" | pyj "print(m['id'])")
  local job; job=$(printf '%s' "$out" | pyj "print(m['job_id'])")
  RSTARTER=${job%%:*}
  [ -n "$RID" ] && [ -n "$RSTARTER" ] && echo "$RSTARTER" >>"$T/starter-pids"
}
# run_wait USER VM: vm.run that waits until the vm runs; sets RID, RSTARTER, RIP, ROUT, RRC
run_wait() {
  ROUT=$(VMBATCH_RUN_WAIT=120 v "$1" --json --vmrun --vm "$2" --isolate 2>"$T/run.err"); RRC=$?
  RID=$(printf '%s' "$ROUT" | pyj "print(m['id'])"); RIP=$(printf '%s' "$ROUT" | pyj "print(m['ip'])")
  local job; job=$(printf '%s' "$ROUT" | pyj "print(m['job_id'])")
  RSTARTER=${job%%:*}
  [ -n "$RSTARTER" ] && track "$RSTARTER"
  [ $RRC -eq 0 ] && [ -n "$RID" ]
}
stop_and_wait() { # stop_and_wait ID [SECONDS]
  v doraz --vmstop --instance "$1" >/dev/null 2>&1
  wait_for "${2:-60}" gone "$1"
}

########## 1. random kills over many cycles
SEED=${VMBATCH_FAULT_SEED:-$(( $(date +%s) % 32768 ))}
CYCLES=${VMBATCH_FAULT_CYCLES:-12}
RANDOM=$SEED
diag "random kills: seed $SEED, $CYCLES cycles (rerun with VMBATCH_FAULT_SEED=$SEED)"
DNS_PIDS=("$(dnsmasq_pid)")
ACTIONS=(starter qemu daemon none)
# what the daemon had recorded of instance ID when it was hit (its log is written as it goes;
# asking --maplist first would delay the kill past the short submitted/starting windows)
state_from_log() {
  if grep -q "instance $1: running" "$T/vmbatchd.log"; then echo running
  elif grep -q "instance $1: monitor attached" "$T/vmbatchd.log"; then echo starting
  else echo submitted; fi
}
cycle_fail=0
for c in $(seq 1 "$CYCLES"); do
  act=${ACTIONS[$((RANDOM % 4))]}
  delay=$((RANDOM % 41)); delay=$((delay / 10)).$((delay % 10)); what="cycle $c: $act after ${delay}s"
  if ! run_bg doraz myvm; then
    ok 1 "cycle $c: vm run"; diag "$(cat "$T/run.err")"; cycle_fail=1; continue
  fi
  id=$RID; sp=$RSTARTER
  sleep "$delay"
  state=$(state_from_log "$id")
  t0=$(date +%s%N)
  case $act in
  starter) kill_ours "$sp" ;;
  qemu)
    q=
    wait_for 15 eval 'q=$(pgrep -P '"$sp"'); [ -n "$q" ] || ! kill -0 '"$sp"' 2>/dev/null'
    q=$(pgrep -P "$sp" | head -1)
    track "$sp"
    if [ -n "$q" ]; then kill_ours "$q"; what="$what, qemu pid $q"
    else what="$what, no qemu to kill (starter gone)"; fi ;;
  daemon)
    old=$VMB_PID; odns=$(dnsmasq_pid)
    kill -9 "$VMB_PID"; wait "$VMB_PID" 2>/dev/null; VMB_PID=
    state=$(state_from_log "$id"); what="$what (instance $id was $state)"
    if ! daemon_start; then
      ok 1 "$what: vmbatchd restarts"; log_dump "$id" 40; echo "Bail out! vmbatchd did not restart"; exit 1
    fi
    ndns=$(dnsmasq_pid); DNS_PIDS+=("$ndns")
    # a killed daemon's dnsmasq must not outlive it (pdeathsig), or two serve vbr0
    wait_for 5 eval '[ "$(ns_procs '"$NS"' dnsmasq | wc -l)" -le 1 ]'
    ndn=$(ns_procs "$NS" dnsmasq | tr '\n' ' ')
    [ "$(ns_procs "$NS" dnsmasq | wc -l)" -eq 1 ]
    ok $? "$what: vmbatchd $old killed and restarted as $VMB_PID; exactly one dnsmasq serves (old $odns, now: $ndn)"
    if [ "$state" = running ]; then
      # its starter must come back within reattach_grace; the vm keeps running
      wait_for 8 grep -q "instance $id: monitor re-attached" "$T/vmbatchd.log"
      ok $? "cycle $c: the starter of running instance $id re-attached to the new vmbatchd"
      sleep 6 # past reattach_grace: a re-attached instance must survive the reconciliation
      [ "$(ifield "$id" state)" = running ]; ok $? "cycle $c: instance $id still runs after the grace period"
    else
      sleep 3
    fi
    present "$id" && v doraz --vmstop --instance "$id" >/dev/null 2>&1 ;;
  none) v doraz --vmstop --instance "$id" >/dev/null 2>&1 ;;
  esac
  [ "$act" = daemon ] || what="$what (instance $id was $state)"
  track "$sp"
  if wait_for 60 gone "$id"; then
    el=$(( ($(date +%s%N) - t0) / 100000000 ))
    ok 0 "$what: ended and unmapped in $((el / 10)).$((el % 10)) s"
    [ "$act" = none ] && diag "  the guest: $(grep -ao 'VMB-[A-Z-]*' "$(serial "$id")" 2>/dev/null | tr '\n' ' ')" \
      "  the starter: $(grep -a 'stopping\|in time' "$T/state/jobs/instance-$id.log" | cut -c1-110)"
  else
    ok 1 "$what: ended and unmapped"; log_dump "$id"; cycle_fail=1
    stop_and_wait "$id" 40 >/dev/null
  fi
done
[ $cycle_fail -eq 0 ] || diag "some cycles failed: rerun with VMBATCH_FAULT_SEED=$SEED"

# zero leaks (reconciliation runs every 5 s: give it two rounds)
[ "$(nrows)" = 0 ]; ok $? "leaks: no rows in --maplist"
links() { ip -n "$NS" -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep '^vmb' | sed 's/@.*//'; }
wait_for 12 eval '[ -z "$(links)" ]'; ok $? "leaks: no vmb* taps in the namespace"
[ -z "$(links)" ] || diag "left: $(links | tr '\n' ' ')"
hostfiles() { find "$DHCPD/hosts" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null; }
wait_for 12 eval '[ -z "$(hostfiles)" ]'; ok $? "leaks: no DHCP host files in $DHCPD/hosts"
[ -z "$(hostfiles)" ] || diag "left: $(hostfiles | tr '\n' ' ')"
wait_for 12 eval '! grep -qs " 192\.168\.100\." "$DHCPD/leases"'
ok $? "leaks: no 192.168.100.x lease in the dnsmasq leases file (released)"
grep -s " 192\.168\.100\." "$DHCPD/leases" | sed 's/^/# left: /'
alive() { # alive PID: running, not a zombie
  local st; st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1); [ -n "$st" ] && [ "$st" != Z ]
}
leftover_procs() {
  local p
  for p in $(sort -u "$T/starter-pids" "$T/qemu-pids" 2>/dev/null); do
    alive "$p" && case "$(cat "/proc/$p/comm" 2>/dev/null)" in qemu-system*|vmbatch-starte*) echo "$p" ;; esac
  done
  ns_procs "$NS" qemu-system; ns_procs "$NS" vmbatch-starte
}
wait_for 10 eval '[ -z "$(leftover_procs)" ]'
ok $? "leaks: no starter or qemu of this test is left ($(sort -u "$T/starter-pids" | wc -l) starters, $(sort -u "$T/qemu-pids" 2>/dev/null | wc -l) qemus seen)"
leftover_procs | sort -u | while read -r p; do diag "left: $p $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-100)"; done
[ "$(ns_procs "$NS" dnsmasq | wc -l)" -eq 1 ]
ok $? "leaks: exactly one dnsmasq in the namespace ($(ns_procs "$NS" dnsmasq | tr '\n' ' '))"
for p in $(ns_procs "$NS" dnsmasq); do [ "$p" = "$(dnsmasq_pid)" ] || kill_ours "$p"; done
# the starters' private directories (QMP socket), where the node keeps them
rundirs() { find "$T/state/run" -mindepth 1 -maxdepth 1 2>/dev/null; }
wait_for 5 eval '[ -z "$(rundirs)" ]'; ok $? "leaks: no starter runtime directories left in $T/state/run"
rundirs | sed 's/^/# left: /'
# the isolation filters (when this vmbatchd has them: table bridge vmbatch)
# (elements of the broadcast meters expire by themselves: not state that leaks)
nft_taps() {
  ip netns exec "$NS" nft list table bridge vmbatch 2>/dev/null | "$PY" -c '
import re, sys
t = sys.stdin.read()
for m in re.finditer(r"\"?(vmb[0-9]+)\"?([^,}\n]*)", t):
    if "expires" not in m.group(2): print(m.group(1))' | sort -u
}
if ip netns exec "$NS" nft list table bridge vmbatch >/dev/null 2>&1; then
  wait_for 10 eval '[ -z "$(nft_taps)" ]'; ok $? "leaks: no tap is left in the isolation filters ($(nft_taps | tr '\n' ' '))"
  [ -z "$(nft_taps)" ] || ip netns exec "$NS" nft list table bridge vmbatch | grep -n 'vmb[0-9]' | sed 's/^/# /'
else diag "no nft table bridge vmbatch in the namespace: no filter leak check"; fi
sdirs=$(find /tmp -maxdepth 1 -name 'vmbatch-[0-9]*-*' -user fltdoraz -newer "$T/.start" 2>/dev/null)
printf '%s\n' $sdirs >>"$T/starter-dirs"
diag "starter private dirs left in /tmp by this test: $(printf '%s\n' $sdirs | grep -c .) (a SIGKILLed starter cannot remove its own)"
if run_wait doraz myvm && [ "$RIP" = 192.168.100.2 ]; then
  wait_for 60 grep -q "VMB-LEASE ip=192.168.100.2 " "$(serial "$RID")"
  ok $? "the first address 192.168.100.2 is handed out again, and its guest gets that lease"
  wait_for 10 grep -qs " 192\.168\.100\.2 " "$DHCPD/leases"; ok $? "dnsmasq recorded that lease in its leases file"
  if ip netns exec "$NS" nft list table bridge vmbatch >/dev/null 2>&1; then
    nft_taps | grep -qx "vmb$RID"; ok $? "its tap vmb$RID is in the isolation filters while it runs"
  fi
  t0=$(date +%s)
  stop_and_wait "$RID" && ! grep -qs " 192\.168\.100\.2 " "$DHCPD/leases"
  ok $? "stopped ($(( $(date +%s) - t0 )) s after --vmstop), its lease is released from the leases file"
else
  ok 1 "the first address 192.168.100.2 is handed out again (got '${RIP:-}', rc ${RRC:-})"; diag "$ROUT" "$(cat "$T/run.err")"
fi
present "${RID:-0}" && stop_and_wait "$RID" >/dev/null
diag "part 1 took $(( $(date +%s) - T0 )) s"

########## 2. faults: a clear error, nothing half made
T2=$(date +%s)
# a kernel that does not exist: the guest never boots
v doraz --vmadd --name nokern --base tmpl --kernel "$T/guest/doomed-vmlinuz" --initrd "$T/guest/initrd.img" \
  --cmdline "$CMDLINE" >/dev/null && rm -f "$T/guest/doomed-vmlinuz"
ok $? "vm nokern whose kernel is then removed"
out=$(VMBATCH_RUN_WAIT=60 v doraz --json --vmrun --vm nokern --isolate 2>&1); rc=$?
kid=$(printf '%s' "$out" | grep -o '"id": [0-9]*' | head -1 | grep -o '[0-9]*$')
[ -z "$kid" ] && kid=$(printf '%s' "$out" | grep -o 'instance [0-9]*' | head -1 | grep -o '[0-9]*$')
kst=; [ -n "$kid" ] && kst=$(ifield "$kid" state)
[ $rc -ne 0 ] || [ -z "$kst" ] || [ "$kst" = stopping ]
ok $? "kernel missing: the run reports an error or the instance ends (rc $rc, state '${kst}')"
diag "$out"
[ -n "$kid" ] && wait_for 40 gone "$kid"; ok $? "kernel missing: no mapping remains for instance ${kid:-?}"
[ -n "$kid" ] && wait_for 12 eval '! ip -n '"$NS"' link show vmb'"$kid"' >/dev/null 2>&1 && [ ! -e '"$DHCPD/hosts/vm$kid"' ]'
ok $? "kernel missing: its tap and DHCP host are gone"
[ -n "$kid" ] && grep -qs "could not load kernel\|No such file" "$T/state/jobs/instance-$kid.log"
ok $? "kernel missing: the job log says why (qemu: could not load kernel)"
[ -n "$kid" ] && [ -n "${rc:-}" ] && [ $rc -ne 0 ] && ! printf '%s' "$out" | grep -q "could not load kernel\|kernel" &&
  diag "the user is told only: $(printf '%s' "$out" | tail -1)"

# a full IP range: lab2 has one address
v badadmin --vmadd --name solo --vmg lab2 --usediscs "$T/guest/base.qcow2" --mem 96M --kernel "$T/guest/vmlinuz" \
  --initrd "$T/guest/initrd.img" --cmdline "$CMDLINE" >/dev/null; ok $? "vm solo in lab2 (one address)"
v badadmin --vmrun --vm solo --nostart >/dev/null; ok $? "first run of solo holds 192.168.100.250"
rows0=$(nrows); links0=$(links | wc -l)
expect_fail "second run: ENOSPC-like error naming the group" "no free address.*lab2" -- \
  env VMBATCH_RUN_WAIT=10 runuser -u fltadmin -- env VMBATCH_SOCKET="$VMB_SOCK" "$VMAPP" --vmrun --vm solo
[ "$(nrows)" = "$rows0" ] && [ "$(links | wc -l)" = "$links0" ]; ok $? "full range: no half-made instance (rows $rows0, taps $links0)"
sid=$(maplist | pyj "print(([i['id'] for i in m if i['state']=='reserved'] or [''])[0])")
v badadmin --vmrelease --instance "$sid" >/dev/null && gone "$sid"; ok $? "the reservation is released"

# the DHCP server killed: restarted, and a new guest still gets its lease
d0=$(dnsmasq_pid)
kill_ours "$d0"
wait_for 10 eval 'd1=$(dnsmasq_pid); [ -n "$d1" ] && [ "$d1" != "$d0" ]'
d1=$(dnsmasq_pid)
ok $? "dnsmasq $d0 killed: vmbatchd started a new one (${d1:-none})"
grep -q "the DHCP server exited" "$T/vmbatchd.log"; ok $? "vmbatchd logged the DHCP server's exit"
if run_wait doraz myvm; then
  wait_for 60 grep -q "VMB-LEASE ip=$RIP " "$(serial "$RID")"
  ok $? "after the restart a new guest gets its lease $RIP"
  # the same vm once more while it runs: its disc is in use
  out=$(VMBATCH_RUN_WAIT=60 v doraz --vmrun --vm myvm --isolate 2>&1); rc=$?
  [ $rc -ne 0 ]; ok $? "running vm myvm again while it runs fails (rc $rc): $(printf '%s' "$out" | tail -1)"
  wait_for 15 eval '[ "$(nrows)" = 1 ]'; ok $? "and leaves only the running instance mapped"
  [ "$(ifield "$RID" state)" = running ]; ok $? "the running instance $RID is unharmed"
  stop_and_wait "$RID" >/dev/null; ok $? "and stops"
else
  ok 1 "after the dnsmasq restart a vm runs"; diag "$ROUT" "$(cat "$T/run.err")"; log_dump "${RID:-0}"
fi

# a busy VNC display: something else holds 127.0.0.1:5901 in the namespace
[ "$(nrows)" = 0 ] || diag "warning: instances still mapped: $(nrows)"
ip netns exec "$NS" "$PY" -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 5901)); s.listen(1); print("listening", flush=True); time.sleep(600)' >"$T/listener.out" 2>&1 &
LPID=$!
wait_for 10 grep -q listening "$T/listener.out"; ok $? "a listener holds 127.0.0.1:5901 in the namespace"
if run_wait doraz myvm; then
  d=$(ifield "$RID" vnc_display); st=$(ifield "$RID" state)
  [ "$d" = 2 ] && [ "$st" = running ]; ok $? "busy display 1: the vm got display 2 (got '$d', state $st)"
  ip netns exec "$NS" ss -ltnp 2>/dev/null | grep -q '127.0.0.1:5902.*qemu'
  ok $? "its qemu listens on 127.0.0.1:5902"
  stop_and_wait "$RID" >/dev/null
else
  ok 1 "busy display 1: the vm runs"; diag "$ROUT" "$(cat "$T/run.err")"; log_dump "${RID:-0}"
fi
kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null

# a starter that does not exist: a second daemon, in a second namespace
mkdir -p "$T/d2/templates" && chown fltadmin: "$T/d2/templates" && chmod 0711 "$T/d2/templates" && chmod 0755 "$T/d2"
ip netns add "$NS2" && ip -n "$NS2" link set lo up
{ echo "socket = $T/d2/vmbatchd.sock"; echo "database = $T/d2/db/vmbatch.db"
  printf '%s\n' "admin_user = fltadmin" "admin_stordir = $T/d2/templates" "state_dir = $T/d2/state" \
    "bridge = vbr1" "bridge_address = 192.168.101.1/24" "dhcp_backend = dnsmasq" \
    "dhcp_range = 192.168.101.0/255.255.255.0" "accel = tcg" "vnc_listen = 127.0.0.1" \
    "starter = /nonexistent" "reattach_grace = 5"; } >"$T/d2/vmbatch.conf"
ip netns exec "$NS2" "$VMBATCHD" -c "$T/d2/vmbatch.conf" 2>>"$T/d2/vmbatchd.log" &
D2_PID=$!
v2() { local u; u=$(uname_of "$1"); shift; runuser -u "$u" -- env VMBATCH_SOCKET="$T/d2/vmbatchd.sock" "$VMAPP" "$@"; }
d2up() { v2 badadmin --ping >/dev/null 2>&1; }
wait_for 15 d2up && v2 badadmin --init >/dev/null &&
  v2 badadmin --vmgadd --name lab3 --vmgid 2 --iprange 192.168.101.2-192.168.101.20 >/dev/null &&
  v2 badadmin --vmadd --name t2 --vmg lab3 --usediscs "$T/guest/base.qcow2" --mem 96M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$CMDLINE" >/dev/null
ok $? "second vmbatchd with starter = /nonexistent, in namespace $NS2"
out=$(VMBATCH_RUN_WAIT=30 v2 badadmin --json --vmrun --vm t2 2>&1); rc=$?
[ $rc -ne 0 ]; ok $? "starter missing: vm run fails (rc $rc): $(printf '%s' "$out" | tail -1)"
m2() { v2 badadmin --json --maplist 2>/dev/null | pyj "print(len(m))"; }
wait_for 12 eval '[ "$(m2)" = 0 ]'; ok $? "starter missing: no mapping is left"
! ip -n "$NS2" -o link show | grep -q ': vmb' && [ -z "$(find "$T/d2/state/dhcp/hosts" -mindepth 1 ! -name '.*' 2>/dev/null)" ]
ok $? "starter missing: no tap, no DHCP host"
printf '%s' "$out" | grep -qi "starter\|nonexistent\|job log\|ended before"
ok $? "starter missing: the error says what went wrong"
kill "$D2_PID"; wait "$D2_PID" 2>/dev/null; D2_PID=
diag "part 2 took $(( $(date +%s) - T2 )) s"

########## 3. suspend / resume
T3=$(date +%s)
VMBATCH=$VMAPP_BIN
vb() { local u; u=$(uname_of "$1"); shift; as "$u" "$VMBATCH" "$@"; }
hb_count() { cat "$(serial "$RID")" 2>/dev/null | grep -c "VMB-HB"; }
if run_wait doraz hb && wait_for 60 eval '[ "$(hb_count)" -ge 3 ]'; then
  ok 0 "vm hb runs (instance $RID) and its guest prints a heartbeat"
  ping_ok() { ip netns exec "$NS" busybox ping -c 1 -W 1 "$RIP" >/dev/null 2>&1; }
  wait_for 10 ping_ok; ok $? "the guest $RIP answers ping from the bridge"
  out=$(vb doraz instance suspend "$RID" 2>&1); ok $? "vmbatch instance suspend $RID"
  [ -n "$out" ] && diag "$out"
  wait_for 10 eval '[ "$(ifield '"$RID"' state)" = paused ]'; ok $? "--maplist --json: state paused"
  sleep 1; n1=$(hb_count); sleep 3; n2=$(hb_count)
  [ "$n1" = "$n2" ]; ok $? "paused: the guest stops printing (heartbeats $n1 -> $n2 in 3 s)"
  ! ping_ok; ok $? "paused: the guest does not answer ping"
  expect_fail "suspending a paused instance is refused" "paused|not running" -- vb doraz instance suspend "$RID"
  out=$(vb doraz instance resume "$RID" 2>&1); ok $? "vmbatch instance resume $RID"
  wait_for 10 eval '[ "$(ifield '"$RID"' state)" = running ]'; ok $? "--maplist --json: state running"
  n3=$(hb_count)
  wait_for 10 eval '[ "$(hb_count)" -gt '"$n3"' ]'; ok $? "resumed: the guest prints again"
  wait_for 10 ping_ok; ok $? "resumed: the guest answers ping"
  expect_fail "resuming a running instance is refused" "running|not paused" -- vb doraz instance resume "$RID"
  stop_and_wait "$RID" >/dev/null; ok $? "instance $RID stops"
else
  ok 1 "vm hb runs and prints a heartbeat"; diag "$ROUT" "$(cat "$T/run.err")"; log_dump "${RID:-0}"
fi
diag "part 3 took $(( $(date +%s) - T3 )) s; total $(( $(date +%s) - T0 )) s"
tap_done
