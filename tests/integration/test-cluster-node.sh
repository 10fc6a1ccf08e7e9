#!/bin/bash
# test-cluster-node.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Cluster mode on one machine, without a scheduler: a controller vmbatchd
# (node = no, cluster_listen on the namespace's 127.0.0.1) and one
# vmbatchd --node (node_name exec1) in a network namespace of the test,
# talking over TCP with every message sealed by MUNGE; the local backend
# starts the jobs. Real guests under TCG, real dnsmasq (the controller's),
# nftables filters (the node's).
#  1. the node connects; a student's isolated vm runs with exehost exec1,
#     gets its lease from the controller's dnsmasq; its tap and filters are
#     on the node; stop is pushed to the node and everything is freed.
#  2. who may talk to the controller's TCP port: an unsealed message, one
#     sealed by a non-root user and a replayed credential are refused; the
#     connection is closed and no node appears; a silent connection is
#     closed after 10 s.
#  3. the node's vmbatchd is killed (SIGKILL) and restarted within
#     reattach_grace: the vm keeps running, its starter re-attaches through
#     the new node, the controller keeps its mapping.
#  4. the controller is killed and restarted: the node reconnects and says
#     which monitors it holds; the vm stays; a later stop still reaches it.
#  5. a job pinned (--host) to another host is refused by this node; a
#     --walltime ends the vm (the local backend's starter keeps it).
#  6. the node is lost for good: after reattach_grace the controller ends
#     its instance and frees the lease.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users, munged)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release getfacl munge unmunge python3; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

T=$(mktemp -d /tmp/vmbatch-cnode-XXXXXX); chmod 0755 "$T"
NS=vmb-cnode-$$
PORT=7755
MUNGE_OURS=$T/munge-ours.pid
NODE_PID=
stop_node() {
  [ -n "$NODE_PID" ] || return 0
  kill "${1:--TERM}" "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; NODE_PID=
}
cleanup() {
  stop_node
  stop_vmbatchd
  for p in $(cat "$T"/state/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  MUNGE_UP_OURS=$MUNGE_OURS "$SCRIPTS/munge-up.sh" stop >/dev/null 2>&1
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

MUNGE_UP_OURS=$MUNGE_OURS "$SCRIPTS/munge-up.sh" >"$T/munge-up.log" 2>&1 || { cat "$T/munge-up.log"; skip_all "munged is not available"; }
use_test_guest
for u in cnadmin cnstud; do ensure_user "$u" || skip_all "cannot create user $u"; done
mkdir -p "$T/home/cnstud" "$T/templates" && chown cnstud: "$T/home/cnstud" && chown cnadmin: "$T/templates"
chmod 0755 "$T/home" "$T/home/cnstud" && chmod 0711 "$T/templates"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
VMB_PREFIX="ip netns exec $NS"
start_vmbatchd "$T" "admin_user = cnadmin" "admin_stordir = $T/templates" "state_dir = $T/state" \
  "node = no" "cluster_listen = 127.0.0.1:$PORT" "node_socket = $T/node.sock" "reattach_grace = 8" \
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" \
  "batch_backend = local" "starter = $STARTER"
ok $? "the controller runs (node = no, nodes connect on 127.0.0.1:$PORT)"
cat >"$T/node.conf" <<EOF
socket = $T/node.sock
state_dir = $T/nstate
controller = 127.0.0.1:$PORT
node_name = exec1
bridge = vbr0
dhcp_gateway = 192.168.100.1
filter_backend = nft
reattach_grace = 8
accel = tcg
vnc_listen = 127.0.0.1
EOF
start_node() {
  ip netns exec "$NS" "$VMBATCHD" --node -c "$T/node.conf" 2>>"$T/node.log" &
  NODE_PID=$!
  wait_for 10 test -S "$T/node.sock"
}
start_node; ok $? "vmbatchd --node runs"
wait_for 10 grep -q "node exec1 is up" "$T/vmbatchd.log"; ok $? "the controller sees node exec1 (sealed hello)"

as cnadmin "$VMAPP" --init >/dev/null 2>&1
v cnadmin --ugadd --name studs --ugid 10 >/dev/null &&
  v cnadmin --uadd --name cnstud --uid "$(id -u cnstud)" --ug studs --stordir "$T/home/cnstud" >/dev/null &&
  v cnadmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null &&
  v cnadmin --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" \
    --cmdline "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1" >/dev/null &&
  v cnadmin --permset +d,+i --ug studs --vm tmpl >/dev/null &&
  v cnstud --vmadd --name myvm --base tmpl >/dev/null
ok $? "setup: student cnstud derives myvm from the template"

map() { v cnadmin --json --maplist; }
field() { map | python3 -c "import json,sys; m=[i for i in json.load(sys.stdin) if i['id'] == $1]; print(m[0]['$2'] if m else '')"; }
gone() { ! map | grep -q "\"id\": $1,"; }
run_vm() { VMBATCH_RUN_WAIT=120 v cnstud --vmrun --vm myvm --isolate "$@" 2>&1; }

# 1. a vm through the node
out=$(run_vm); rc=$?
printf '%s\n' "$out" | grep -q "accessible via host exec1 vnc port"; ok $? "vm runs on exec1: $(printf '%s' "$out" | grep accessible)"
[ $rc -eq 0 ] || { diag "$out"; tail -20 "$T/vmbatchd.log" "$T/node.log" | sed 's/^/# /'; }
id=$(map | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
[ "$(field "$id" exehost)" = exec1 ] && [ "$(field "$id" state)" = running ]; ok $? "--maplist: instance $id running on exec1"
ip=$(field "$id" ip); tap=$(field "$id" tap)
wait_for 90 grep -q "VMB-LEASE ip=$ip " "$T/nstate/jobs/instance-$id.serial"
ok $? "the guest got $ip from the controller's dnsmasq (serial log kept on the node)"
vmset() { ip netns exec "$NS" nft list map bridge vmbatch vm 2>/dev/null; }
vmset | grep -q "\"$tap\""; ok $? "the node's nft map of vms has its tap $tap"
v cnstud --vmstop --instance "$id" >/dev/null && wait_for 60 gone "$id"; ok $? "--vmstop is pushed to the node; mapping gone"
wait_for 10 eval "! ip -n $NS link show $tap >/dev/null 2>&1"; ok $? "tap $tap is gone"
! grep -rqs "$ip" "$T"/state/dhcp/hosts; ok $? "the fixed lease is gone from the controller's dnsmasq"
! vmset | grep -q "\"$tap\""; ok $? "its filter elements are gone"

# 2. the TCP port: sealed by root or nothing
probe() { # probe CRED-OR-JSON: send one frame, print the answer (or "closed")
  ip netns exec "$NS" python3 - "$PORT" "$1" <<'PY'
import json, socket, struct, sys
port, payload = int(sys.argv[1]), sys.argv[2]
msg = json.dumps({"munge": payload} if payload.startswith("MUNGE:") else json.loads(payload)).encode()
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(struct.pack(">I", len(msg)) + msg)
buf = b""
try:
    while True:
        c = s.recv(65536)
        if not c: break
        buf += c
        if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]: break
except socket.timeout:
    pass
print(buf[4:].decode() if buf else "closed")
PY
}
hello='{"op":"cluster.hello","id":1,"args":{"node":"intruder"}}'
ans=$(probe "$hello"); printf '%s' "$ans" | grep -q '"ok": *false'
ok $? "an unsealed hello is refused: $ans"
cred=$(printf '%s' "$hello" | runuser -u nobody -- munge 2>/dev/null)
ans=$(probe "$cred"); printf '%s' "$ans" | grep -q 'not root'
ok $? "a hello sealed by uid nobody is refused: $ans"
cred=$(printf '%s' "$hello" | munge)
ans1=$(probe "$cred"); ans2=$(probe "$cred")
printf '%s' "$ans1" | grep -q '"munge"' && printf '%s' "$ans2" | grep -qi 'replay'
ok $? "a root-sealed hello is answered (sealed) once; the same credential again is refused: $ans2"
[ "$(grep -c "node intruder is up" "$T/vmbatchd.log")" = 1 ]; ok $? "the replay made no second node"
silent=$(ip netns exec "$NS" python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
t0 = time.time()
try:
    print("closed after %.0f s" % (time.time() - t0) if s.recv(1) == b"" else "data")
except socket.timeout:
    print("still open after 20 s")
PY
)
[[ $silent == "closed after "* ]] && [ "${silent//[^0-9]/}" -le 13 ]
ok $? "a TCP connection that never says a sealed hello is closed: $silent"

# 3. the node's vmbatchd dies and comes back within the grace
run_vm >/dev/null; id=$(map | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
[ "$(field "$id" state)" = running ]; ok $? "instance $id runs"
stop_node -KILL; ok $? "SIGKILL the node's vmbatchd"
start_node; ok $? "node restarted"
wait_for 15 grep -q "instance $id: monitor re-attached after a restart" "$T/node.log"; ok $? "the starter re-attached to the new node"
sleep 10
[ "$(field "$id" state)" = running ]; ok $? "past the grace: instance $id still running and mapped"
ip=$(field "$id" ip)
grep -rqs "$ip" "$T"/state/dhcp/hosts; ok $? "its lease is still there"

# 4. the controller dies and comes back
kill -9 "$VMB_PID"; wait "$VMB_PID" 2>/dev/null; VMB_PID=
start_vmbatchd_again() {
  ${VMB_PREFIX} "$VMBATCHD" -c "$VMB_CONF" 2>>"$T/vmbatchd.log" &
  VMB_PID=$!
  wait_for 10 test -S "$VMB_SOCK"
}
start_vmbatchd_again; ok $? "controller killed (SIGKILL) and restarted"
wait_for 15 eval '[ "$(grep -c "node exec1 is up" "$T/vmbatchd.log")" -ge 2 ]'; ok $? "the node reconnected"
sleep 10
[ "$(field "$id" state)" = running ]; ok $? "past the grace: instance $id still running"
v cnstud --vmstop --instance "$id" >/dev/null && wait_for 60 gone "$id"; ok $? "a stop after the restart reaches the vm; freed"

# 5. pinned elsewhere
out=$(VMBATCH_RUN_WAIT=30 v cnstud --vmrun --vm myvm --isolate --host exec2 2>&1)
printf '%s' "$out" | grep -q "ended before it ran: .*pinned to host exec2, not exec1"
ok $? "a job pinned to exec2 does not start on exec1, and the user is told why: $(printf '%s' "$out" | tail -1)"
grep -q "pinned to host exec2, not exec1" "$T"/state/jobs/instance-*.log; ok $? "its job log says why"
wait_for 10 eval '[ "$(map)" = "[]" ]'; ok $? "nothing left mapped"

# the local backend has no scheduler: the starter keeps the wall time
out=$(run_vm --walltime 12s); id=$(map | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
[ "$(field "$id" state)" = running ]; ok $? "instance $id runs with --walltime 12s"
sleep 5; [ "$(field "$id" state)" = running ]; ok $? "still running after 5 s"
wait_for 60 gone "$id"; ok $? "ended after its wall time"
grep -q "instance $id of vm .* ended (its wall time is up" "$T/vmbatchd.log"; ok $? "because its wall time was up"

# 5b. a controller that does not answer: the node waits for it outside its loop
ups=$(grep -c "node exec1 is up" "$T/vmbatchd.log")
kill -STOP "$VMB_PID"
stuck=$(python3 - "$T/node.sock" <<'PY'
import json, socket, struct, sys, time
def call(s, op, args):
    req = json.dumps({"op": op, "args": args}).encode(); s.sendall(struct.pack(">I", len(req)) + req)
def answer(s):
    (n,) = struct.unpack(">I", s.recv(4)); b = b""
    while len(b) < n: b += s.recv(n - len(b))
    return json.loads(b)
t0 = time.time()
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1]); call(a, "node.attach", {"instance": 999999})
time.sleep(0.5)
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1]); b.settimeout(5); t1 = time.time()
call(b, "node.state", {"state": "running"}); other = answer(b)
print("other answered in %.3f s: %s" % (time.time() - t1, other["error"]["message"]))
a.settimeout(30); r = answer(a)
print("attach answered after %.1f s: %s" % (time.time() - t0, r.get("error", {}).get("message")))
PY
)
kill -CONT "$VMB_PID"
printf '%s\n' "$stuck" | grep -Eq '^other answered in 0\.[0-9]+ s: this connection is not'
ok $? "while the controller is stopped and a starter's attach waits for it, the node answers another client at once: $(printf '%s' "$stuck" | head -1)"
printf '%s\n' "$stuck" | grep -Eq '^attach answered after 1[5-7]\.[0-9] s: the controller did not answer cluster.attach within 15 s'
ok $? "the waiting attach fails after 15 s with a clear error: $(printf '%s' "$stuck" | tail -1)"
wait_for 20 eval '[ "$(grep -c "node exec1 is up" "$T/vmbatchd.log")" -gt "$ups" ]'
ok $? "the controller continued: the node reconnected and said hello again"

# 6. the node is lost for good
run_vm >/dev/null; id=$(map | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
ip=$(field "$id" ip)
stop_node -KILL; ok $? "instance $id runs; its node is killed and stays down"
wait_for 40 gone "$id"; ok $? "after the grace the controller ends instance $id"
grep -q "instance $id of vm .* ended (its host is gone)" "$T/vmbatchd.log"; ok $? "because its host is gone"
! grep -rqs "$ip" "$T"/state/dhcp/hosts; ok $? "and its lease is gone"

tap_done
