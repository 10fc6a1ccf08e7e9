#!/bin/bash
# test-hostile-guest.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Issue 11's defences that need a real guest, each attack made and each with a control where the
# defence is off (so no check passes by accident). The teacher is hgteach (admin_user), the students
# hgstud1..3; three runs, each with its own network namespace (vmbatchd's node role, bridge vbr0
# 192.168.100.1/24, dnsmasq, TCG guests), database and state; a namespace "outside" of the test is
# linked to the node's by a veth pair (node 10.77.0.1/30, outside 10.77.0.2/30, routed to the
# bridge's network), and a TCP listener of the test on the gateway's port 2222 shows whether a
# guest can reach a host service at all.
#
#   default  vnc_listen and filter_backend at their defaults (127.0.0.1, nft), serial_log_max = 256K
#   nofilter filter_backend = none, vnc_listen at its default
#   open     vnc_listen = 0.0.0.0, filter_backend = none, serial_log_max = 0 (no limit)
#
# 1. VNC is local by default. A student's guest (vmb.tcpprobe: TCP connects from its own kernel)
#    tries the gateway's VNC port 5901 (its own console, display 1: the run's only instance) and
#    the outside namespace tries the instance's port on both node addresses: neither connects in
#    "default" nor in "nofilter" (where the guest does reach port 2222: only vnc_listen keeps it
#    from the console), while the console answers "RFB 003.00x" on 127.0.0.1 inside the node.
#    Control "open": the same connects from the guest and from outside read the RFB banner.
# 2. The serial log stays under its cap while a guest floods its serial port (vmb.serialflood, at
#    boot before the rest: 1.5 MiB of numbered 64-byte lines on /dev/ttyS0, then "VMB-FLOOD-END
#    lines=N bytes=B"). With serial_log_max = 256K the log, sampled during the flood and after,
#    never exceeds 256 KiB, while the guest wrote 6 times that; the kept part is the newest (the end line and the last numbered
#    line are there, the first is gone, the kept lines are consecutive). Control "open": the log
#    grows past the cap to all the guest wrote.
# 3. Template discs carry no ACL entries, and a derived vm boots as its owner and as a runner it
#    was granted to ("default"): the teacher's template from the test guest and hgstud1's derived
#    overlay have no extended ACL entries (getfacl, and no system.posix_acl_access xattr: a control
#    file with an entry shows both would see one); hgstud1 boots it (its lease, its mapped IP);
#    hgstud2 is refused before the teacher grants +r, boots it after, while hgstud2 cannot open
#    the overlay itself (Permission denied; control: a copy with an ACL entry for hgstud2, as the
#    old design made, is readable), and its qemu, running as hgstud2, holds the overlay by an fd
#    the node opened; hgstud3, without a grant, gets "You don't have permission to run this vm".
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
CAP=256K CAP_BYTES=262144 FLOOD=1536K
GW=192.168.100.1
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, taps, users)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq getfacl setfacl python3; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

T=$(mktemp -d /tmp/vmbatch-hguest-XXXXXX); chmod 0755 "$T"
# the programs under test, copied: a rebuild of the tree while this runs does not pull them away
mkdir -p "$T/bin" && chmod 0755 "$T/bin" && cp "$VMBATCHD" "$VMAPP_BIN" "$STARTER" "$T/bin/" || skip_all "cannot copy the programs"
VMBATCHD=$T/bin/$(basename "$VMBATCHD") VMAPP_BIN=$T/bin/$(basename "$VMAPP_BIN") STARTER=$T/bin/$(basename "$STARTER")
t_start=$(date +%s)
OUTNS=vmb-hgo-$$
NAMESPACES=()
STORDIRS=()
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  end_daemon_runs
  for p in "${STORDIRS[@]}"; do rm -rf "$p"; done
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

use_test_guest
[ -x "$GUEST/vmb-attack" ] || skip_all "the test guest has no vmb-attack (gcc with a static libc needed)"
for u in hgteach hgstud1 hgstud2 hgstud3; do ensure_user "$u" || skip_all "cannot create user $u"; done
for u in hgstud1 hgstud2 hgstud3; do chmod 0755 "/home/$u"; done
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
serial() { tr -d '\r' <"$1" 2>/dev/null; }
okr() { ok "$1" "$2"; return "$1"; } # ok, and return its status
BASECMD="console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"
PROBECMD="$BASECMD vmb.tcpprobe=$GW:5901,$GW:2222"   # display 1: each run's only instance
FLOODCMD="$PROBECMD vmb.serialflood=$FLOOD"            # the flood comes first, at boot

ip netns add "$OUTNS" && ip -n "$OUTNS" link set lo up || skip_all "cannot create a network namespace"
NAMESPACES+=("$OUTNS")

# tcp_probe NS HOST PORT: a TCP connect from namespace NS: "ok <first line>" | refused | timeout | error
cat >"$T/tcpprobe.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
except (socket.timeout, TimeoutError):
    print("timeout"); sys.exit(0)
except OSError as e:
    print("error=%s" % e.strerror); sys.exit(0)
try:
    b = s.recv(12)
except OSError:
    b = b""
print("ok " + (b.decode("ascii", "replace").strip() or "(no banner)"))
PY
tcp_probe() { ip netns exec "$1" python3 "$T/tcpprobe.py" "$2" "$3" 2>&1; }
# a host service on the gateway: accepts and closes (the guest's positive control for TCP)
cat >"$T/listen.py" <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 2222))
s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(b"HOSTSVC\n")
    c.close()
PY
json_inst() { # json_inst UID KEY: KEY of the instance that uid runs
  v hgteach --json --maplist | python3 -c "import json,sys; print([i['$2'] for i in json.load(sys.stdin) if i['uid'] == $1][0])" 2>/dev/null
}
mapped() { v hgteach --json --maplist | python3 -c "import json,sys; print(len(json.load(sys.stdin)))" 2>/dev/null; }
vm_id() { v hgstud1 --json --vmlist | python3 -c "import json,sys; print([v['id'] for v in json.load(sys.stdin) if v['name'] == '$1'][0])" 2>/dev/null; }
qemu_of() { # qemu_of NS INSTANCE: the pid of the instance's qemu (-name guest=vmbatch-N), in NS
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do
    case $(cat "/proc/$p/comm" 2>/dev/null) in qemu-system-*) ;; *) continue ;; esac
    tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qx "guest=vmbatch-$2" && { echo "$p"; return 0; }
  done
  return 1
}
qemu_vnc() { # qemu_vnc PID: the argument of its -vnc
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | awk 'p { print; exit } $0 == "-vnc" { p = 1 }'
}
acl_extended() { # acl_extended FILE: prints the extended entries getfacl shows and the xattr, if any
  getfacl -cp "$1" 2>/dev/null | grep -E '^(user|group):[^:]+:|^mask::|^default:'
  python3 -c 'import os,sys
try:
    os.getxattr(sys.argv[1], "system.posix_acl_access"); print("xattr system.posix_acl_access")
except OSError:
    pass' "$1"
}

# ---------------------------------------------------------------------------------------------
# run_begin LABEL CONFIG-LINE...: namespace, veth to the outside, listener, daemon, users, template
# ---------------------------------------------------------------------------------------------
run_begin() {
  local label=$1 u; shift
  R=$T/$label NS=vmb-hg-$$-$label
  mkdir -p "$R/templates" && chown hgteach: "$R/templates" && chmod 0711 "$R/templates"
  ip netns add "$NS" && ip -n "$NS" link set lo up || return 1
  NAMESPACES+=("$NS")
  ip link add "vhg$$a" netns "$NS" type veth peer name "vhg$$b" netns "$OUTNS" &&
    ip -n "$NS" addr add 10.77.0.1/30 dev "vhg$$a" && ip -n "$NS" link set "vhg$$a" up &&
    ip -n "$OUTNS" addr add 10.77.0.2/30 dev "vhg$$b" && ip -n "$OUTNS" link set "vhg$$b" up &&
    ip -n "$OUTNS" route add 192.168.100.0/24 via 10.77.0.1 || return 1
  ip netns exec "$NS" python3 "$T/listen.py" 2>/dev/null &
  LISTEN_PID=$!; BG_PIDS+=("$LISTEN_PID")
  for u in hgstud1 hgstud2 hgstud3; do
    install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "/home/$u/vmb-hg-$$-$label" || return 1
    STORDIRS+=("/home/$u/vmb-hg-$$-$label")
  done
  VMB_PREFIX="ip netns exec $NS"
  start_vmbatchd "$R" "admin_user = hgteach" "admin_stordir = $R/templates" "state_dir = $R/state" \
    "bridge = vbr0" "bridge_address = $GW/24" "dhcp_backend = dnsmasq" \
    "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = $GW" "accel = tcg" \
    "starter = $STARTER" "reattach_grace = 5" "$@" || { diag "$(tail -5 "$R/vmbatchd.log")"; return 1; }
  v hgteach --init >/dev/null && v hgteach --ugadd --name studs --ugid 10 >/dev/null || return 1
  for u in hgstud1 hgstud2 hgstud3; do
    v hgteach --uadd --name "$u" --uid "$(id -u "$u")" --ug studs --stordir "/home/$u/vmb-hg-$$-$label" >/dev/null || return 1
  done
  v hgteach --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.240 >/dev/null &&
    v hgteach --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
      --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$BASECMD" >/dev/null &&
    v hgteach --permset +d --ug studs --vm tmpl >/dev/null
}
run_end() {
  local p ids
  if [ -n "${VMB_PID:-}" ]; then
    ids=$(v hgteach --json --maplist 2>/dev/null | python3 -c 'import json,sys; print(*[i["id"] for i in json.load(sys.stdin)])' 2>/dev/null)
    for p in $ids; do v hgteach --vmstop --instance "$p" --force >/dev/null 2>&1; done
    wait_for 30 eval '[ "$(mapped)" = 0 ]'
  fi
  stop_vmbatchd
  kill "$LISTEN_PID" 2>/dev/null; wait "$LISTEN_PID" 2>/dev/null
  ip -n "$OUTNS" link del "vhg$$b" 2>/dev/null # both ends of the veth pair, now
  for p in $(cat "$R"/state/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null # its end of the veth pair, and so the other end
}

# boot USER VMREF LABEL: USER runs the vm (not isolated); sets INST SER PORT DISP IP QEMU
boot() {
  local u=$1 ref=$2 what=$3 out
  INST= SER= PORT= DISP= IP= QEMU=
  out=$(VMBATCH_RUN_WAIT=120 v "$u" --vmrun --vm "$ref" 2>&1)
  printf '%s\n' "$out" | grep -q "accessible via host"
  okr $? "$what: $u runs it: $(printf '%s' "$out" | tail -1)" || return 1
  PORT=$(printf '%s\n' "$out" | sed -n 's/.* vnc port \([0-9]*\).*/\1/p')
  DISP=$(printf '%s\n' "$out" | sed -n 's/.* display \([0-9]*\).*/\1/p')
  INST=$(json_inst "$(id -u "$u")" id); IP=$(json_inst "$(id -u "$u")" ip)
  SER=$R/state/jobs/instance-$INST.serial
  wait_for 10 eval 'QEMU=$(qemu_of "$NS" "$INST")'
  [ -n "$INST" ] && [ -n "$PORT" ] && [ -n "$QEMU" ]
  okr $? "$what: instance ${INST:-?}, ip ${IP:-?}, vnc port ${PORT:-?} (display ${DISP:-?}), qemu pid ${QEMU:-?}"
}
stop_inst() { # stop_inst WHAT: the admin stops $INST; it is freed
  v hgteach --vmstop --instance "$INST" --force >/dev/null 2>&1
  wait_for 60 eval '[ "$(mapped)" = 0 ]'
  ok $? "$1: instance $INST stopped and freed"
}
guest_tcp() { serial "$SER" | sed -n "s/^VMB-TCP $1:$2 //p" | head -1; }

# vnc_checks LABEL EXPECT(local|open): the VNC of the vm just booted
vnc_checks() {
  local label=$1 want=$2 r a
  local listen; listen=$(qemu_vnc "$QEMU")
  if [ "$want" = local ]; then
    [ "$listen" = "127.0.0.1:$DISP,password=on" ]; ok $? "$label: qemu's -vnc is $listen (loopback)"
  else
    [ "$listen" = "0.0.0.0:$DISP,password=on" ]; ok $? "$label: qemu's -vnc is $listen (every address)"
  fi
  wait_for 60 grep -qs "VMB-TCP-END\|VMB-ATTACK-\|VMB-NOLEASE" "$SER"
  serial "$SER" | grep -q "VMB-LEASE ip=$IP "; ok $? "$label: the guest got its mapped address $IP"
  r=$(guest_tcp "$GW" "$PORT")
  a=$(guest_tcp "$GW" 2222)
  diag "$label: guest -> $GW:$PORT: ${r:-nothing}; guest -> $GW:2222 (host service): ${a:-nothing}"
  if [ "$want" = local ]; then
    case $r in refused | timeout) ok 0 "$label: from the guest, the gateway's VNC port $PORT cannot be connected ($r)" ;;
    *) ok 1 "$label: from the guest, the gateway's VNC port $PORT cannot be connected (got: ${r:-no probe line})" ;; esac
  else
    case $r in "ok banner=RFB_003.00"*) ok 0 "control $label: from the guest, the gateway's VNC port $PORT answers ($r)" ;;
    *) ok 1 "control $label: from the guest, the gateway's VNC port $PORT answers (got: ${r:-no probe line})" ;; esac
  fi
  for a in 10.77.0.1 "$GW"; do
    r=$(tcp_probe "$OUTNS" "$a" "$PORT")
    if [ "$want" = local ]; then
      case $r in refused | timeout) ok 0 "$label: from the outside namespace, $a:$PORT cannot be connected ($r)" ;;
      *) ok 1 "$label: from the outside namespace, $a:$PORT cannot be connected (got: $r)" ;; esac
    else
      case $r in "ok RFB 003.00"*) ok 0 "control $label: from the outside namespace, $a:$PORT answers ($r)" ;;
      *) ok 1 "control $label: from the outside namespace, $a:$PORT answers (got: $r)" ;; esac
    fi
  done
  r=$(tcp_probe "$NS" 127.0.0.1 "$PORT")
  case $r in "ok RFB 003.00"*) ok 0 "$label: in the node, 127.0.0.1:$PORT is the console ($r)" ;;
  *) ok 1 "$label: in the node, 127.0.0.1:$PORT is the console (got: $r)" ;; esac
}

# flood_checks LABEL CAPPED(1|0): the flooding vm just booted
flood_checks() {
  local label=$1 capped=$2 max=0 s n=0 i end bytes lines last first
  for i in $(seq 1 1800); do # every 0.05 s, at most 90 s
    s=$(stat -c %s "$SER" 2>/dev/null || echo 0)
    [ "$s" -gt "$max" ] && max=$s
    n=$((n + 1))
    grep -aqs "VMB-FLOOD-END\|VMB-ATTACK-" "$SER" && break
    sleep 0.05
  done
  sleep 1 # what the starter still had in the pipe
  s=$(stat -c %s "$SER" 2>/dev/null || echo 0); [ "$s" -gt "$max" ] && max=$s
  end=$(serial "$SER" | grep -a -m1 '^VMB-FLOOD-END')
  bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' <<<"$end"); lines=$(sed -n 's/.* lines=\([0-9]*\).*/\1/p' <<<"$end")
  local ms; ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<<"$end")
  diag "$label: the guest wrote ${bytes:-?} B in ${lines:-?} lines in ${ms:-?} ms ($([ -n "$ms" ] && [ "$ms" -gt 0 ] &&
    echo $((bytes * 1000 / ms / 1024)) || echo ?) KiB/s); the log: $n samples, largest $max B, now $s B (cap $CAP_BYTES B)"
  [ -n "$bytes" ] && [ "$bytes" -ge $((CAP_BYTES * 5)) ]
  ok $? "$label: the guest flooded its serial port with ${bytes:-?} B (> 5 x $CAP_BYTES) and its end line is in the log"
  last=$(printf 'VMB-FLOOD %08d ' "${lines:-0}")
  first=$(printf 'VMB-FLOOD %08d ' 1)
  if [ "$capped" = 1 ]; then
    [ "$max" -le "$CAP_BYTES" ] && [ "$s" -le "$CAP_BYTES" ]
    ok $? "$label: the serial log never exceeded serial_log_max = $CAP ($max B at most in $n samples, $s B after)"
    grep -aq "^$last" "$SER" && ! grep -aq "^$first" "$SER"
    ok $? "$label: it kept the newest: the last numbered line (${lines:-?}) is there, the first is not"
    # the kept numbered lines follow each other without a gap
    serial "$SER" | awk '/^VMB-FLOOD [0-9]+ x+$/ { n = $2 + 0; if (p && n != p + 1) { bad++ } p = n; k++ }
      END { print k + 0, bad + 0; exit (k > 100 && bad == 0) ? 0 : 1 }' >"$R/consec" 2>&1
    ok $? "$label: the kept lines are consecutive (lines, gaps: $(cat "$R/consec"))"
    # the VM's user, with a shell on the node, appends to the log by hand: the
    # node opened it as root (0640 root:their group), the starter writes it by fd
    local before; before=$(stat -c %s "$SER")
    ! runuser -u hgstud1 -- bash -c "head -c 1048576 /dev/zero >>'$SER'" 2>/dev/null &&
      [ "$(stat -c %s "$SER")" -le "$CAP_BYTES" ]
    ok $? "$label: hgstud1 cannot append 1 MiB to her serial log by hand ($(stat -c '%U:%G %a' "$SER"), $before -> $(stat -c %s "$SER") B)"
    runuser -u hgstud1 -- head -c 16 "$SER" >/dev/null 2>&1
    ok $? "$label: and can still read it"
    # control: a file of hers in the same folder takes the same append
    local mine=$R/state/jobs/hgstud1-own.serial
    install -o hgstud1 -m 0600 /dev/null "$mine" && runuser -u hgstud1 -- bash -c "head -c 1048576 /dev/zero >>'$mine'" &&
      [ "$(stat -c %s "$mine")" -eq 1048576 ]
    ok $? "control $label: the same append to a file she owns there succeeds ($(stat -c %s "$mine" 2>/dev/null) B)"
    rm -f "$mine"
  else
    [ "$s" -gt "$CAP_BYTES" ] && [ "$s" -ge "${bytes:-1}" ]
    ok $? "control $label: with serial_log_max = 0 the log grows past $CAP_BYTES B to all the guest wrote ($s B)"
    grep -aq "^$first" "$SER" && grep -aq "^$last" "$SER"
    ok $? "control $label: it holds every line, the first and the last"
  fi
}

# ---------------------------------------------------------------------------------------------
# run "default": vnc_listen, filter_backend at their defaults; serial_log_max = 256K
# ---------------------------------------------------------------------------------------------
run_begin default "serial_log_max = $CAP"
okr $? "default: vmbatchd (default vnc_listen, default filter_backend) in namespace $NS, the teacher's template" ||
  { echo "Bail out! setup failed"; exit 1; }
s1=/home/hgstud1/vmb-hg-$$-default
v hgstud1 --vmadd --name vm1 --base tmpl >/dev/null && v hgstud1 --vmmod --vm vm1 --cmdline "$FLOODCMD" >/dev/null
ok $? "default: hgstud1 derives vm1 from the template (its guest floods its serial port, then probes TCP)"
VM1=$(vm_id vm1)
OVERLAY=$s1/$(id -u hgstud1)_vm1_0.qcow2
[ -f "$OVERLAY" ]; ok $? "default: vm1's overlay $OVERLAY"

# 3. no ACLs: the template's discs (every file the teacher's folder holds) and the overlay
bad=
for f in $(find "$R/templates" -type f) "$OVERLAY"; do
  x=$(acl_extended "$f")
  [ -z "$x" ] || bad="$bad $f: $x;"
done
tmpl_files=$(find "$R/templates" -type f | wc -l)
[ "$tmpl_files" -ge 1 ] && [ -z "$bad" ]
ok $? "default: the template's $tmpl_files disc file(s) and the derived overlay carry no ACL entries${bad:+:$bad}"
x=$(acl_extended "$R/templates"; acl_extended "$s1")
[ -z "$x" ]; ok $? "default: nor do their folders${x:+: $x}"
cp "$OVERLAY" "$s1/aclcontrol.qcow2" && chown hgstud1: "$s1/aclcontrol.qcow2" && chmod 0600 "$s1/aclcontrol.qcow2" &&
  setfacl -m u:hgstud2:r "$s1/aclcontrol.qcow2" && x=$(acl_extended "$s1/aclcontrol.qcow2") &&
  grep -q "user:hgstud2:" <<<"$x" && grep -q xattr <<<"$x"
ok $? "control: a copy given an entry for hgstud2 (as the old design did) shows it to both checks"
runuser -u hgstud2 -- head -c1 "$s1/aclcontrol.qcow2" >/dev/null 2>&1
ok $? "control: and hgstud2 can read that copy directly"
rm -f "$s1/aclcontrol.qcow2"

# 2., 1. and 3.: the owner boots it: the flood, capped; VNC from the guest, from outside, in the node
boot hgstud1 "$VM1" "default vm1 (owner)" && {
  flood_checks default 1
  owner_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$QEMU/status")
  [ "$owner_uid" = "$(id -u hgstud1)" ]; ok $? "default: the owner's qemu runs as hgstud1 (uid $owner_uid)"
  vnc_checks default local
  stop_inst "default vm1 (owner)"
}

# 3. the runner: refused before the grant, boots after it; the third student is refused
v hgstud1 --vmmod --vm vm1 --cmdline "$BASECMD" >/dev/null; ok $? "default: hgstud1 sets vm1's guest to boot and hold"
out=$(VMBATCH_RUN_WAIT=30 v hgstud2 --vmrun --vm "$VM1" 2>&1)
grep -q "You don't have permission to run this vm" <<<"$out"
ok $? "control: before the grant, hgstud2 is refused: $out"
v hgteach --permset +r --u hgstud2 --vm "$VM1" >/dev/null; ok $? "the teacher grants hgstud2 the run right on vm1"
boot hgstud2 "$VM1" "default vm1 (runner)" && {
  ruid=$(awk '/^Uid:/ { print $2 }' "/proc/$QEMU/status")
  [ "$ruid" = "$(id -u hgstud2)" ]; ok $? "default: the runner's qemu runs as hgstud2 (uid $ruid)"
  wait_for 60 grep -qs "VMB-LEASE\|VMB-NOLEASE" "$SER"
  serial "$SER" | grep -q "VMB-LEASE ip=$IP "; ok $? "default: the runner's guest boots the derived vm and gets its mapped address $IP"
  ls -l "/proc/$QEMU/fd" 2>/dev/null | grep -q -- "-> $OVERLAY\$"
  ok $? "default: its qemu holds the owner's overlay by an fd the node opened"
  out=$(runuser -u hgstud2 -- head -c1 "$OVERLAY" 2>&1 >/dev/null)
  grep -q "Permission denied" <<<"$out"; ok $? "default: hgstud2 cannot open the overlay itself: $out"
  runuser -u hgstud1 -- head -c1 "$OVERLAY" >/dev/null 2>&1; ok $? "control: its owner hgstud1 can"
  stop_inst "default vm1 (runner)"
}
expect_fail "default: hgstud3 (no grant) is refused with the paper's message" "You don't have permission to run this vm" -- \
  env VMBATCH_RUN_WAIT=30 runuser -u hgstud3 -- env VMBATCH_SOCKET="$VMB_SOCK" "$VMAPP" --vmrun --vm "$VM1"
run_end

# ---------------------------------------------------------------------------------------------
# run "nofilter": no filters, vnc_listen at its default: the guest reaches the host's port 2222,
# not the console
# ---------------------------------------------------------------------------------------------
run_begin nofilter "filter_backend = none"
okr $? "nofilter: vmbatchd (filter_backend = none, default vnc_listen) in namespace $NS" || { echo "Bail out! setup failed"; exit 1; }
v hgstud1 --vmadd --name vm1 --base tmpl >/dev/null && v hgstud1 --vmmod --vm vm1 --cmdline "$PROBECMD" >/dev/null
ok $? "nofilter: hgstud1 derives vm1"
boot hgstud1 "$(vm_id vm1)" "nofilter vm1" && {
  vnc_checks nofilter local
  r=$(guest_tcp "$GW" 2222)
  [ "$r" = "ok banner=HOSTSVC" ]
  ok $? "control nofilter: the same guest connects to the host service $GW:2222 ($r): only vnc_listen keeps it from the console"
  stop_inst "nofilter vm1"
}
run_end

# ---------------------------------------------------------------------------------------------
# run "open": vnc_listen = 0.0.0.0, no filters, no serial cap: every attack gets through
# ---------------------------------------------------------------------------------------------
run_begin open "vnc_listen = 0.0.0.0" "filter_backend = none" "serial_log_max = 0"
okr $? "open: vmbatchd (vnc_listen = 0.0.0.0, filter_backend = none, serial_log_max = 0) in namespace $NS" ||
  { echo "Bail out! setup failed"; exit 1; }
v hgstud1 --vmadd --name vm1 --base tmpl >/dev/null && v hgstud1 --vmmod --vm vm1 --cmdline "$FLOODCMD" >/dev/null
ok $? "open: hgstud1 derives vm1 (its guest floods its serial port, then probes TCP)"
boot hgstud1 "$(vm_id vm1)" "open vm1" && { flood_checks open 0; vnc_checks open open; stop_inst "open vm1"; }
run_end

diag "runtime $(($(date +%s) - t_start)) s"
tap_done
