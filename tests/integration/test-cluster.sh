#!/bin/bash
# test-cluster.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Two execution hosts (issue 5): a Slurm cluster of two nodes on this machine, each node in its
# own network and UTS namespace with its own vmbatchd --node and bridge, joined by a veth
# "switch" namespace; the controller (vmbatchd node = no, slurmctld, the one dnsmasq) in a third.
#
#   ns vmb-cl-sw-PID   bridge clsw0: the shared L2 segment, ports cl-ctl, cl-n1, cl-n2
#   ns vmb-cl-ctl-PID  hostname ctl; eth0 in bridge vmbbr0 (MAC 02:77:00:00:00:01) holding
#                      10.77.0.1/24 (management) and 192.168.100.1/24 (the VMs' gateway and DHCP
#                      server); slurmctld, vmbatchd -c ctl.conf (cluster_listen 10.77.0.1:7755)
#                      and the dnsmasq it starts
#   ns vmb-cl-n1-PID   hostname n1; eth0 in bridge vmbbr0 (02:77:00:00:00:11) holding
#                      10.77.0.11/24; slurmd -N n1, vmbatchd --node (node_name n1); the VMs' taps
#   ns vmb-cl-n2-PID   the same for n2, 10.77.0.12/24 (02:77:00:00:00:12)
# Each host's UTS namespace is held by a `sleep infinity` (started with unshare --uts, hostname
# set inside); its daemons run under `nsenter --net=/run/netns/NS --uts=/proc/HOLDER/ns/uts`
# (nsenter keeps the real /sys that slurmd needs), so slurmd, vmbatchd --node and the jobs all
# see hostname n1 (n2). In the root namespace 10.77.0.0/24 and 192.168.100.0/24 get unreachable
# routes for the test's lifetime (only when no route for them exists; removed afterwards).
# The Slurm configuration is scripts/slurm-conf.sh's (as scripts/slurm-up.sh's, but two nodes and
# every path under the test's directory); munged is the machine's (scripts/munge-up.sh starts it
# if it is not running, and stops it afterwards unless another Slurm uses it).
#
# Users cladmin, cldoraz, clalex (named apart from other tests' users). The guest probes are
# test-isolation.sh's: cldoraz's "listener" (vmb.listen) pinned to n1, clalex's "attacker"
# (vmb.attack=<listener ip>) pinned to n2 (vmapp --vmrun --host).
#  0. topology: L2 reachability between the namespaces, both slurmd idle, `sbatch -w n1` runs
#     on n1 (hostname n1, n1's address), the same for n2;
#  1. both VMs --isolate: --maplist shows exehost n1 and n2, running; squeue shows the jobs on
#     n1 and n2; each guest gets its mapped address by DHCP from the one dnsmasq in ctl; the
#     gateway answers both; not one frame of the attacker reaches the listener across hosts;
#  2. `scancel` of the attacker's job from outside: its mapping, lease, tap on n2 and filter
#     elements on n2 are gone within seconds; --vmstop ends the listener;
#  3. both not isolated: the attacker's guest-to-guest probes reach the listener across hosts
#     (the segment works, so the block in 1 is the filter);
#  4. n2's vmbatchd killed (SIGKILL) and restarted within reattach_grace: its VM is kept.
# VMBATCH_CLUSTER_STEPS=topology stops after step 0 (for working on the namespaces and Slurm).
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
STEPS=${VMBATCH_CLUSTER_STEPS:-all}
FLOOD=200          # broadcast frames of the attacker's flood probe (test-isolation.sh sends 5000)
GRACE=10           # reattach_grace of the nodes
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network and UTS namespaces, taps, users, Slurm)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq nft nsenter unshare python3 ss slurmctld slurmd sbatch squeue \
  scancel scontrol sinfo munged munge unmunge; do
  command -v "$t" >/dev/null || skip_all "$t not installed (scripts/slurm-up.sh installs Slurm and munge)"
done
QEMU=$(command -v qemu-system-x86_64)

T=$(mktemp -d /tmp/vmb-cl-XXXXXX); chmod 0755 "$T"
t_start=$(date +%s)
SW=vmb-cl-sw-$$
declare -A NSOF=([ctl]=vmb-cl-ctl-$$ [n1]=vmb-cl-n1-$$ [n2]=vmb-cl-n2-$$)
declare -A ADDR=([ctl]=10.77.0.1 [n1]=10.77.0.11 [n2]=10.77.0.12)
declare -A BRMAC=([ctl]=02:77:00:00:00:01 [n1]=02:77:00:00:00:11 [n2]=02:77:00:00:00:12)
declare -A HOLDER=()   # host -> pid of the process holding its UTS namespace
declare -A NODE_PID=() # host -> pid of its vmbatchd --node
HOSTS="ctl n1 n2"
NODES="n1 n2"
GW=192.168.100.1
CTL_PORT=7755
SL=$T/slurm
SLCONF=$SL/slurm.conf
NAMESPACES=()
ADDED_ROUTES=()
SLURM_PIDS=()   # slurmctld and slurmd pids, as started here
MUNGE_OURS=$T/munge-ours.pid   # the pid of munged, when scripts/munge-up.sh started it for us

# pingx HOST IP: from HOST, one ICMP echo answered (3 tries, 1 s each; iputils-ping is not always installed)
cat >"$T/ping.py" <<'PY'
import os, select, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
for seq in range(3):
    body = b"vmb-cl-ping!"
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(h + body), ident, seq) + body, (sys.argv[1], 0))
    end = time.time() + 1
    while time.time() < end:
        if not select.select([s], [], [], max(0, end - time.time()))[0]:
            break
        d, a = s.recvfrom(2048)
        ihl = (d[0] & 15) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", d[ihl:ihl + 8])
        if a[0] == sys.argv[1] and t == 0 and i == ident:
            sys.exit(0)
sys.exit(1)
PY
pingx() { on "$1" python3 "$T/ping.py" "$2"; }
# arpx HOST IP: from HOST's vmbbr0 (its management address as the sender), ARP for IP; prints
# the MAC that answers. Nodes have no address in 192.168.100.0/24: this proves L2 reachability.
cat >"$T/arp.py" <<'PY'
import socket, struct, sys, time
iface, sip, tip = sys.argv[1:4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0))
mac = s.getsockname()[4][:6]
req = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac +
       socket.inet_aton(sip) + b"\x00" * 6 + socket.inet_aton(tip))
s.settimeout(0.2)
for _ in range(3):
    s.send(req)
    end = time.time() + 1
    while time.time() < end:
        try:
            d = s.recv(2048)
        except socket.timeout:
            continue
        if struct.unpack("!H", d[20:22])[0] == 2 and d[28:32] == socket.inet_aton(tip):
            print(d[22:28].hex(":"))
            sys.exit(0)
sys.exit(1)
PY
arpx() { on "$1" python3 "$T/arp.py" vmbbr0 "${ADDR[$1]}" "$2"; }
# on HOST command...: run in HOST's network and UTS namespaces (the real /sys and mounts)
on() { local h=$1; shift; nsenter --net="/run/netns/${NSOF[$h]}" --uts="/proc/${HOLDER[$h]}/ns/uts" "$@"; }
# a Slurm client command against the test's Slurm, from the controller's namespace
sl() { on ctl env SLURM_CONF="$SLCONF" "$@"; }
alive() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; } # alive PID COMM
stop_pid() { # stop_pid PID COMM: SIGTERM, wait up to 10 s, then SIGKILL (only if still that program)
  local p=$1 c=$2
  alive "$p" "$c" || return 0
  kill "$p" 2>/dev/null
  for _ in $(seq 50); do alive "$p" "$c" || return 0; sleep 0.2; done
  kill -9 "$p" 2>/dev/null
}

cleanup() {
  local p h ns
  if [ ${#SLURM_PIDS[@]} -gt 0 ] && [ -n "${HOLDER[ctl]:-}" ]; then
    # end every job of our Slurm first: a stopped slurmd leaves jobs running
    for p in $(sl timeout 10 squeue -h -o %i 2>/dev/null); do sl timeout 10 scancel "$p" 2>/dev/null; done
    wait_for 20 eval '[ -z "$(sl timeout 5 squeue -h -o %i 2>/dev/null)" ]'
  fi
  for h in $NODES; do
    [ -n "${NODE_PID[$h]:-}" ] && { kill "${NODE_PID[$h]}" 2>/dev/null; wait "${NODE_PID[$h]}" 2>/dev/null; }
  done
  stop_vmbatchd
  for p in "${SLURM_PIDS[@]}"; do stop_pid "${p%%:*}" "${p#*:}"; done
  # whatever still runs in our namespaces was started by this test (starters, qemus, dnsmasq)
  for ns in "${NAMESPACES[@]}"; do
    ip netns pids "$ns" 2>/dev/null | while read -r p; do
      case " ${HOLDER[*]} " in *" $p "*) continue ;; esac
      kill -9 "$p" 2>/dev/null
    done
  done
  for h in "${!HOLDER[@]}"; do kill "${HOLDER[$h]}" 2>/dev/null; wait "${HOLDER[$h]}" 2>/dev/null; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  for p in "${ADDED_ROUTES[@]}"; do ip route del unreachable "$p" 2>/dev/null; done
  # the machine's munged: stopped if we started it, unless some other Slurm (or SGE) daemon uses it
  [ -s "$MUNGE_OURS" ] && diag "$(MUNGE_UP_OURS=$MUNGE_OURS "$SCRIPTS/munge-up.sh" stop 2>&1)"
  rm -rf "/home/cldoraz/vmb-cl-$$" "/home/clalex/vmb-cl-$$"
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ============================================================================ 0. topology
# the test's subnets never leave the machine from the root namespace
for net in 10.77.0.0/24 192.168.100.0/24; do
  if [ -z "$(ip route show exact "$net" table all 2>/dev/null)" ]; then
    ip route add unreachable "$net" && ADDED_ROUTES+=("$net")
  else
    diag "the root namespace already routes $net: left alone"
  fi
done
add_ns() { ip netns add "$1" && NAMESPACES+=("$1") && ip -n "$1" link set lo up; }
add_ns "$SW" && ip -n "$SW" link add clsw0 type bridge stp_state 0 forward_delay 0 &&
  ip -n "$SW" link set clsw0 up || skip_all "cannot create network namespaces and bridges"
topo_ok=0
for h in $HOSTS; do
  ns=${NSOF[$h]}
  # its UTS namespace: a holder whose hostname is the host's name
  add_ns "$ns" || { topo_ok=1; break; }
  nsenter --net="/run/netns/$ns" unshare --uts sh -c "hostname $h && exec sleep infinity" </dev/null >/dev/null 2>&1 &
  HOLDER[$h]=$!
  wait_for 5 eval '[ "$(nsenter --uts=/proc/${HOLDER[$h]}/ns/uts hostname 2>/dev/null)" = "$h" ]' || { topo_ok=1; break; }
  # veth eth0 (in the host's namespace) <-> cl-HOST (a port of the switch)
  ip link add eth0 netns "$ns" type veth peer name "cl-$h" netns "$SW" &&
    ip -n "$SW" link set "cl-$h" master clsw0 up &&
    ip -n "$ns" link add vmbbr0 address "${BRMAC[$h]}" type bridge stp_state 0 forward_delay 0 &&
    ip -n "$ns" link set eth0 master vmbbr0 up && ip -n "$ns" link set vmbbr0 up &&
    ip -n "$ns" addr add "${ADDR[$h]}/24" dev vmbbr0 || { topo_ok=1; break; }
  [ "$h" = ctl ] && { ip -n "$ns" addr add "$GW/24" dev vmbbr0 || { topo_ok=1; break; }; }
done
ok $topo_ok "namespaces $SW (switch clsw0), ${NSOF[ctl]}, ${NSOF[n1]}, ${NSOF[n2]}; UTS holders ${HOLDER[*]}"
[ $topo_ok = 0 ] || { echo "Bail out! cannot build the topology"; exit 1; }
names=$(for h in $HOSTS; do printf '%s ' "$(on "$h" hostname)"; done)
[ "$names" = "ctl n1 n2 " ]; ok $? "hostnames in the UTS namespaces: $names(the machine's: $(hostname))"
for h in $HOSTS; do
  [ "$(ip -n "${NSOF[$h]}" -br link show vmbbr0 | awk '{print $3}')" = "${BRMAC[$h]}" ] &&
    ip -n "${NSOF[$h]}" -d link show eth0 | grep -q "master vmbbr0"
  ok $? "$h: vmbbr0 ${BRMAC[$h]} ${ADDR[$h]}/24 with eth0 as its port"
done
# L2 reachability: every host pings every other (management) and ctl's gateway address
for a in $HOSTS; do
  for b in $HOSTS; do
    [ "$a" = "$b" ] && continue
    pingx "$a" "${ADDR[$b]}" >/dev/null 2>&1; ok $? "$a pings $b (${ADDR[$b]})"
  done
done
for h in $NODES; do
  m=$(arpx "$h" "$GW" 2>&1)
  [ "$m" = "${BRMAC[ctl]}" ]; ok $? "$h: ARP on vmbbr0 finds the VMs' gateway $GW at '$m' (ctl's bridge, ${BRMAC[ctl]})"
done
! ip route get 10.77.0.1 >/dev/null 2>&1 && ! ip route get "$GW" >/dev/null 2>&1
ok $? "the root namespace cannot reach 10.77.0.0/24 nor 192.168.100.0/24"

# ---- munge (the machine's): scripts/munge-up.sh, which records here whether it started munged
MUNGE_UP_OURS=$MUNGE_OURS "$SCRIPTS/munge-up.sh" >"$T/munge-up.log" 2>&1 ||
  { diag "$(cat "$T/munge-up.log")"; skip_all "munge does not work here (scripts/munge-up.sh failed)"; }
diag "$(cat "$T/munge-up.log")$([ -s "$MUNGE_OURS" ] && echo ", started by this test")"

# ---- Slurm: slurmctld in ctl, slurmd n1 and n2 in theirs
install -d -o slurm -g slurm -m 0755 "$SL/state" "$SL/log"
install -d -m 0755 "$SL/run" "$SL/spool-n1" "$SL/spool-n2" "$SL/out"
chmod 1777 "$SL/out"
MEM=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9 / 2}' /proc/meminfo)
"$SCRIPTS/slurm-conf.sh" --comment "two execution hosts for vmbatch's test-cluster.sh" \
  --cluster vmbcl --ctld ctl --ctld-addr "${ADDR[ctl]}" \
  --node "n1,${ADDR[n1]},16,$MEM" --node "n2,${ADDR[n2]},16,$MEM" \
  --ctld-pidfile "$SL/run/slurmctld.pid" --slurmd-pidfile "$SL/run/slurmd-%n.pid" \
  --state "$SL/state" --spool "$SL/spool-%n" \
  --ctld-log "$SL/log/slurmctld.log" --slurmd-log "$SL/log/slurmd-%n.log" >"$SLCONF" ||
  { echo "Bail out! scripts/slurm-conf.sh failed"; exit 1; }
chmod 0644 "$SLCONF"
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C SLURM_CONF="$SLCONF")
start_slurm_daemon() { # start_slurm_daemon HOST NAME PIDFILE ARGS...: a daemon that forks and writes PIDFILE
  local h=$1 name=$2 pf=$3 p; shift 3
  (cd / && on "$h" "${CLEAN_ENV[@]}" "$name" "$@") </dev/null >/dev/null 2>&1 || return 1
  wait_for 10 eval 'alive "$(cat "$pf" 2>/dev/null)" "$name"' || return 1
  p=$(cat "$pf")
  SLURM_PIDS+=("$p:$name")
}
t0=${EPOCHREALTIME/[.,]/}
start_slurm_daemon ctl slurmctld "$SL/run/slurmctld.pid" -i &&
  wait_for 30 eval 'sl timeout 2 scontrol ping 2>/dev/null | grep -q "is UP"'
ok $? "slurmctld up in ctl at ${ADDR[ctl]} (pid ${SLURM_PIDS[0]%%:*})"
for h in $NODES; do
  start_slurm_daemon "$h" slurmd "$SL/run/slurmd-$h.pid" -N "$h"; ok $? "slurmd $h started in $h's namespaces"
done
node_states() { sl timeout 5 sinfo -N -h -o '%N %T' 2>/dev/null | sort -u | tr '\n' ' '; }
for _ in $(seq 150); do
  st=$(node_states)
  [ "$st" = "n1 idle n2 idle " ] && break
  case "$st" in *down* | *drain*) sl scontrol update nodename=n1,n2 state=resume >/dev/null 2>&1 ;; esac
  sleep 0.2
done
[ "$st" = "n1 idle n2 idle " ]; ok $? "sinfo: both nodes idle ($st) after $(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) ms"
if [ "$st" != "n1 idle n2 idle " ]; then
  diag "$(tail -20 "$SL/log/slurmctld.log")" "$(tail -5 "$SL"/log/slurmd-n*.log)"
  echo "Bail out! the two-node Slurm did not come up"; exit 1
fi
for h in $NODES; do
  j=$(sl runuser -u nobody -- sbatch --parsable -w "$h" -J "cl-hostname-$h" -o "$SL/out/%j.out" \
    --wrap 'hostname; ip -4 -o addr show dev vmbbr0 | awk "{print \$4}"' 2>&1)
  wait_for 30 eval '[ -z "$(sl squeue -h -j '"$j"' -o %i 2>/dev/null)" ] && [ -s "$SL/out/$j.out" ]'
  got=$(tr '\n' ' ' <"$SL/out/$j.out" 2>/dev/null)
  [ "$got" = "$h ${ADDR[$h]}/24 " ]; ok $? "sbatch -w $h --wrap hostname (job $j, as nobody) printed: $got"
done
if [ "$STEPS" = topology ]; then
  diag "VMBATCH_CLUSTER_STEPS=topology: stopping after the topology" "runtime $(($(date +%s) - t_start)) s"
  tap_done; exit
fi

# ============================================================================ vmbatch
use_test_guest
[ -x "$GUEST/vmb-attack" ] || skip_all "the test guest has no vmb-attack (gcc with a static libc needed)"
use_paper_users cladmin cldoraz clalex "vmb-cl-$$"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
BASECMD="console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"

# ---- the controller: no VMs of its own, the one dnsmasq, sbatch to slurmctld, nodes over TCP
mkdir -p "$T/ctl"
# shellcheck disable=SC2034 # start_vmbatchd (lib.sh) runs the daemon under VMB_PREFIX
VMB_PREFIX="nsenter --net=/run/netns/${NSOF[ctl]} --uts=/proc/${HOLDER[ctl]}/ns/uts env SLURM_CONF=$SLCONF"
start_vmbatchd "$T/ctl" "admin_user = cladmin" "admin_stordir = $T/templates" "state_dir = $T/state-ctl" \
  "node = no" "batch_backend = slurm" "batch_queue = vms" "starter = $STARTER" "qemu_binary = $QEMU" "accel = tcg" \
  "bridge = vmbbr0" "bridge_address = $GW/24" "dhcp_backend = dnsmasq" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = $GW" \
  "cluster_listen = ${ADDR[ctl]}:$CTL_PORT" "node_socket = $T/node-%h.sock" "reattach_grace = $GRACE"
rc=$?
ok $rc "controller vmbatchd (node = no, batch_backend = slurm, cluster_listen ${ADDR[ctl]}:$CTL_PORT) started in ctl"
[ $rc = 0 ] || { diag "$(cat "$T/ctl/vmbatchd.log")"; echo "Bail out! the controller vmbatchd did not start"; exit 1; }
wait_for 10 eval 'on ctl ss -Htln "sport = :$CTL_PORT" | grep -q "${ADDR[ctl]}:$CTL_PORT"'
ok $? "the controller listens on ${ADDR[ctl]}:$CTL_PORT"

# ---- the nodes
node_conf() { # node_conf HOST: its vmbatch.conf
  local h=$1
  cat <<EOF
controller = ${ADDR[ctl]}:$CTL_PORT
node_name = $h
socket = $T/node-$h.sock
state_dir = $T/state-$h
bridge = vmbbr0
bridge_address = ${ADDR[$h]}/24
filter_backend = nft
dhcp_gateway = $GW
dhcp_server_ip = $GW
dhcp_server_mac = ${BRMAC[ctl]}
qemu_binary = $QEMU
accel = tcg
vnc_listen = 127.0.0.1
starter = $STARTER
reattach_grace = $GRACE
EOF
}
sock_up() { python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$1" 2>/dev/null; }
# connected HOST: its vmbatchd has a TCP connection to the controller
connected() { [ -n "$(on "$1" ss -Htn state established "dst ${ADDR[ctl]}:$CTL_PORT" 2>/dev/null)" ]; }
start_node() { # start_node HOST: vmbatchd --node in HOST's namespaces; waits for its socket
  local h=$1 d=$T/$1
  mkdir -p "$d" && node_conf "$h" >"$d/vmbatch.conf"
  nsenter --net="/run/netns/${NSOF[$h]}" --uts="/proc/${HOLDER[$h]}/ns/uts" env SLURM_CONF="$SLCONF" \
    "$VMBATCHD" --node -c "$d/vmbatch.conf" --pidfile "$d/vmbatchd.pid" </dev/null 2>>"$d/vmbatchd.log" &
  NODE_PID[$h]=$!
  wait_for 10 eval 'kill -0 ${NODE_PID[$h]} 2>/dev/null && sock_up "$T/node-$h.sock"'
}
for h in $NODES; do
  start_node "$h"; rc=$?
  ok $rc "$h: vmbatchd --node (node_name $h, socket node-$h.sock, filter_backend nft) started"
  [ $rc = 0 ] || { diag "$(cat "$T/$h/vmbatchd.log")"; echo "Bail out! vmbatchd --node on $h did not start"; exit 1; }
done
for h in $NODES; do
  wait_for 20 connected "$h"; ok $? "$h: connected to the controller (TCP ${ADDR[$h]} -> ${ADDR[ctl]}:$CTL_PORT)"
  ip -n "${NSOF[$h]}" -d link show eth0 | grep -q "master vmbbr0"; ok $? "$h: eth0 is still a port of vmbbr0"
done
# the one DHCP server: dnsmasq runs in ctl and nowhere else of ours
dnsmasq_in() { ip netns pids "${NSOF[$1]}" 2>/dev/null | while read -r p; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = dnsmasq ] && echo "$p"; done; }
wait_for 10 eval '[ -n "$(dnsmasq_in ctl)" ]'
[ "$(dnsmasq_in ctl | wc -l)" = 1 ] && [ -z "$(dnsmasq_in n1)$(dnsmasq_in n2)" ]
ok $? "exactly one dnsmasq, in ctl (pid $(dnsmasq_in ctl | tr '\n' ' '))"

v cladmin --init >/dev/null && v cladmin --ugadd --name studs --ugid 10 >/dev/null &&
  v cladmin --uadd --name cldoraz --uid "$(id -u cldoraz)" --ug studs --stordir "/home/cldoraz/vmb-cl-$$" >/dev/null &&
  v cladmin --uadd --name clalex --uid "$(id -u clalex)" --ug studs --stordir "/home/clalex/vmb-cl-$$" >/dev/null &&
  v cladmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.240 >/dev/null &&
  v cladmin --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$BASECMD" >/dev/null &&
  v cladmin --permset +d --ug studs --vm tmpl >/dev/null &&
  v cldoraz --vmadd --name listener --base tmpl >/dev/null &&
  v cldoraz --vmmod --vm listener --cmdline "$BASECMD vmb.listen=600" >/dev/null &&
  v clalex --vmadd --name attacker --base tmpl >/dev/null
rc=$?
ok $rc "setup: users, lab1, template (not force_isolated), cldoraz's listener and clalex's attacker derived"
[ $rc = 0 ] || { echo "Bail out! the paper setup failed"; exit 1; }

map_json() { v cladmin --json --maplist; }
inst_field() { # inst_field ID KEY: a field of instance ID in --maplist (booleans 0/1; empty when gone)
  map_json | python3 -c "import json,sys
m=[i for i in json.load(sys.stdin) if i['id'] == $1]
v=m[0].get('$2', '') if m else ''
print(int(v) if isinstance(v, bool) else v)" 2>/dev/null
}
id_of_uid() { map_json | python3 -c "import json,sys; print(max([i['id'] for i in json.load(sys.stdin) if i['uid'] == $1] or ['']))" 2>/dev/null; }
gone() { [ -z "$(inst_field "$1" id)" ]; }
okr() { ok "$1" "$2"; return "$1"; } # ok, and return its status (for a diagnosis on failure)
# qemu_of ID: the pid of instance ID's qemu (its QMP socket is in one of our state dirs)
qemu_of() { pgrep -f "$T/state-[a-z0-9]*/run/instance-$1/qmp\.sock"; }
ms_since() { echo $(( (${EPOCHREALTIME/[.,]/} - $1) / 1000 )); }
job_field() { sl timeout 10 squeue -h -j "$1" -o "$2" 2>/dev/null; } # job_field JOB %FORMAT
# the guest's serial console: written by the node that runs it (state_dir/jobs), wherever it is
serial_path() {
  local f
  for f in "$T/state-$2/jobs/instance-$1.serial" "$T"/state-*/jobs/instance-"$1".serial; do
    [ -e "$f" ] && { echo "$f"; return; }
  done
  echo "$T/state-$2/jobs/instance-$1.serial"
}
serial() { tr -d '\r' <"$(serial_path "$1" "$2")" 2>/dev/null; } # serial ID HOST
leases() { cat "$T"/state-*/dhcp/*leases* 2>/dev/null; }
dhcp_hosts() { cat "$T"/state-*/dhcp/hosts/* 2>/dev/null; } # dnsmasq --dhcp-hostsdir: mac,ip,name
nft_table() { on "$1" nft list table bridge vmbatch 2>/dev/null; }
# vm_elements HOST: the per-VM elements of HOST's filter (sets vm, vm_mac, vm_ip4, isolated; the
# broadcast meter iso_bcast keeps a tap name for its 1 min timeout and is not per-VM state)
vm_elements() { local s; for s in "map vm" "set vm_mac" "set vm_ip4" "set isolated"; do on "$1" nft list ${s% *} bridge vmbatch ${s#* } 2>/dev/null; done; }
# names_in_table HOST WORD...: HOST's per-VM filter elements name one of the WORDs (tap, IP, MAC)
names_in_table() { local h=$1 w a=(); shift; for w; do a+=(-e "$w"); done; vm_elements "$h" | grep -qiw "${a[@]}"; }
# gw_udp IP PORT PAYLOAD...: datagrams from the gateway (ctl) to a guest
gw_udp() {
  on ctl python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in sys.argv[3:]:
    s.sendto(p.encode(), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.2)' "$@" 2>/dev/null
}

# run_vm LABEL USER VM HOST ISO(0|1): vmrun pinned to HOST; sets RID RIP RMAC RTAP RJOB, checks the map
run_vm() {
  local label=$1 u=$2 vm=$3 h=$4 iso=$5 out rc iso_opt=()
  [ "$iso" = 1 ] && iso_opt=(--isolate)
  RID='' RIP='' RMAC='' RTAP='' RJOB=''
  t0=${EPOCHREALTIME/[.,]/}
  out=$(VMBATCH_RUN_WAIT=180 v "$u" --vmrun --vm "$vm" "${iso_opt[@]}" --host "$h" 2>&1); rc=$?
  [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "Your vm is accessible via host $h vnc port 59[0-9][0-9]"
  ok $? "$label: $u: vmapp --vmrun --vm $vm ${iso_opt[*]} --host $h -> running on $h in $(ms_since "$t0") ms"
  if [ $rc -ne 0 ]; then
    diag "$out" "--- controller log" "$(tail -20 "$T/ctl/vmbatchd.log")" "--- $h log" "$(tail -20 "$T/$h/vmbatchd.log")"
    local f; for f in "$T"/state-*/jobs/*.log; do [ -e "$f" ] && diag "--- $f" "$(tail -n 15 "$f")"; done
    diag "--- slurmd $h" "$(tail -n 10 "$SL/log/slurmd-$h.log")"
    return 1
  fi
  RID=$(id_of_uid "$(id -u "$u")")
  RIP=$(inst_field "$RID" ip); RMAC=$(inst_field "$RID" mac); RTAP=$(inst_field "$RID" tap); RJOB=$(inst_field "$RID" job_id)
  local eh st is be
  eh=$(inst_field "$RID" exehost); st=$(inst_field "$RID" state); is=$(inst_field "$RID" isolated); be=$(inst_field "$RID" backend)
  [ "$eh" = "$h" ] && [ "$st" = running ] && [ "$is" = "$iso" ] && [ "$be" = slurm ]
  ok $? "$label: --maplist --json: instance ${RID:-?} exehost '$eh', state '$st', isolated $is, backend '$be', $RIP $RMAC tap $RTAP"
  local table; table=$(v cladmin --maplist 2>&1)
  # columns (tab-separated): uid vmid ip mac isolated exehost vnc tap date
  printf '%s\n' "$table" | awk -F'\t' -v ip="$RIP" -v h="$h" 'NR == 1 && $6 != "exehost" {exit 1}
    NR > 1 && $3 == ip && $6 == h {found = 1} END {exit !found}'
  okr $? "$label: vmapp --maplist (table) names $h as the exehost of $RIP" || diag "$table"
  [ "$(job_field "$RJOB" '%u %T %N')" = "$u RUNNING $h" ]
  ok $? "$label: squeue: job '$RJOB' is '$(job_field "$RJOB" '%u %T %N')'"
  ip -n "${NSOF[$h]}" -d link show "$RTAP" 2>/dev/null | grep -q "master vmbbr0"
  ok $? "$label: tap $RTAP is on $h's vmbbr0"
  return 0
}
# lease_ok LABEL ID HOST IP MAC: the guest got exactly its mapped address from the one dnsmasq
lease_ok() {
  local label=$1 id=$2 h=$3 ip=$4 mac=$5
  wait_for 150 eval 'serial '"$id $h"' | grep -q "VMB-LEASE\|VMB-NOLEASE"'
  serial "$id" "$h" | grep -qi "VMB-LEASE ip=$ip mac=$mac server=$GW "
  ok $? "$label: the guest on $h got its mapped $ip ($mac) by DHCP from $GW: $(serial "$id" "$h" | grep -m1 'VMB-LEASE\|VMB-NOLEASE')"
  wait_for 10 eval 'leases | grep -qi " $mac $ip "'
  ok $? "$label: ctl's dnsmasq has the lease $ip $mac"
}

seen() { serial "$1" n1 | grep -c "^VMB-SEEN $2 "; } # seen LISTENER_ID PROBE: frames of PROBE it saw (0/1)
probe_reply() { serial "$1" n2 | sed -n "s/^VMB-PROBE $2 .*reply=\([a-z]*\).*/\1/p" | head -1; }

# pair LABEL ISO(0|1): the listener on n1, then the attacker on n2 told where it is
pair() {
  local label=$1 iso=$2
  PB='' PA=''
  run_vm "$label" cldoraz listener n1 "$iso" || return 1
  PB=$RID; local ipb=$RIP macb=$RMAC tapb=$RTAP
  lease_ok "$label" "$PB" n1 "$ipb" "$macb"
  wait_for 60 eval 'serial '"$PB"' n1 | grep -q "VMB-LISTENING\|VMB-LISTEN-FAIL\|VMB-ATTACK-"'
  serial "$PB" n1 | grep -q VMB-LISTENING; ok $? "$label: the listener listens: $(serial "$PB" n1 | grep -m1 'VMB-LISTEN\|VMB-ATTACK-')"
  v clalex --vmmod --vm attacker --cmdline "$BASECMD vmb.attack=$ipb vmb.peermac=$macb vmb.flood=$FLOOD" >/dev/null
  ok $? "$label: clalex points the attacker at $ipb $macb"
  run_vm "$label" clalex attacker n2 "$iso" || return 1
  PA=$RID; local ipa=$RIP maca=$RMAC tapa=$RTAP
  lease_ok "$label" "$PA" n2 "$ipa" "$maca"
  [ "$(inst_field "$PB" exehost) $(inst_field "$PA" exehost)" = "n1 n2" ]
  ok $? "$label: cldoraz's VM runs on n1, clalex's on n2"
  wait_for 240 eval 'serial '"$PA"' n2 | grep -q "VMB-ATTACK-END\|VMB-ATTACK-FAIL\|VMB-ATTACK-ERROR\|VMB-ATTACK-MISSING\|VMB-ATTACK-NOLEASE"'
  serial "$PA" n2 | grep -q VMB-ATTACK-END; ok $? "$label: the attacker ran every probe"
  # filters on the nodes
  for h in n1 n2; do
    local tp; [ $h = n1 ] && tp=$tapb || tp=$tapa
    if [ "$iso" = 1 ]; then on $h nft list set bridge vmbatch isolated 2>/dev/null | grep -qw "$tp"
    else ! on $h nft list set bridge vmbatch isolated 2>/dev/null | grep -qw "$tp"; fi
    ok $? "$label: $h's nft set 'isolated' $([ "$iso" = 1 ] && echo has || echo "has not") tap $tp"
  done
  # the gateway: both guests reach it, it reaches both
  [ "$(probe_reply "$PA" arp-gw) $(probe_reply "$PA" ping-gw)" = "yes yes" ]
  ok $? "$label: the attacker (n2) reaches the gateway $GW: arp-gw reply=$(probe_reply "$PA" arp-gw), ping-gw reply=$(probe_reply "$PA" ping-gw)"
  serial "$PB" n1 | grep -Eqi "^VMB-(LISTENING .*gwmac=|GW-MAC )${BRMAC[ctl]}"
  ok $? "$label: the listener (n1) resolved the gateway $GW to ${BRMAC[ctl]}"
  for ip in "$ipb" "$ipa"; do
    pingx "ctl" "$ip" >/dev/null 2>&1; ok $? "$label: the gateway pings $ip"
  done
  gw_udp "$ipb" 9 "VMBTAG:gw-to-peer:0:" "VMBTAG:gw-to-peer:1:" "VMBTAG:gw-to-peer:2:"
  wait_for 5 eval '[ "$(seen '"$PB"' gw-to-peer)" -gt 0 ]'; ok $? "$label: the listener hears the gateway's tagged datagrams"
  # guest to guest, across hosts
  local p n total=0
  for p in arp-peer ping-peer udp-peer; do
    n=$(seen "$PB" "$p"); total=$((total + n))
    if [ "$iso" = 1 ]; then [ "$n" = 0 ]; else [ "$n" -gt 0 ]; fi
    ok $? "$label: $p from n2 $([ "$iso" = 1 ] && echo "does not reach" || echo reaches) the listener on n1 (seen: $n)"
  done
  for p in arp-peer ping-peer; do
    if [ "$iso" = 1 ]; then [ "$(probe_reply "$PA" $p)" = no ]; else [ "$(probe_reply "$PA" $p)" = yes ]; fi
    ok $? "$label: the attacker's $p got reply=$(probe_reply "$PA" $p)"
  done
  # the listener's final word (asked from the gateway)
  for _ in 1 2 3 4 5; do gw_udp "$ipb" 7777 stop; wait_for 3 eval 'serial '"$PB"' n1 | grep -q VMB-LISTEN-END' && break; done
  local others
  others=$(serial "$PB" n1 | grep "^VMB-SEEN " | awk '$2 != "gw-to-peer" {print $2}' | sort -u | tr '\n' ' ')
  diag "$label: the listener saw: ${others:-nothing but the gateway}; $(serial "$PB" n1 | grep -m1 VMB-LISTEN-END)"
  if [ "$iso" = 1 ]; then
    [ -z "$others" ] && serial "$PB" n1 | grep -q "VMB-LISTEN-END reason=stop"
    okr $? "$label: not one tagged frame of the attacker reached the isolated listener across hosts" ||
      diag "what the listener saw:" "$(serial "$PB" n1 | grep '^VMB-SEEN ' | grep -v ' gw-to-peer ')" \
        "n1's chains forward and to_iso:" "$(on n1 nft list chain bridge vmbatch forward; on n1 nft list chain bridge vmbatch to_iso)"
  fi
  return 0
}

# stopped_clean LABEL ID HOST IP MAC TAP JOB T0: everything of an instance is gone from everywhere
stopped_clean() {
  local label=$1 id=$2 h=$3 ip=$4 mac=$5 tap=$6 job=$7 t0=$8
  wait_for 30 gone "$id"; ok $? "$label: instance $id's mapping is gone $(ms_since "$t0") ms later"
  wait_for 10 eval "! ip -n ${NSOF[$h]} link show $tap >/dev/null 2>&1"; ok $? "$label: its tap $tap is gone from $h"
  wait_for 10 eval '! names_in_table "$h" "$tap" "$ip" "$mac"'
  okr $? "$label: $h's filter (sets vm, vm_mac, vm_ip4, isolated) no longer names $tap, $ip or $mac" ||
    diag "$(vm_elements "$h")"
  ! dhcp_hosts | grep -qw "$ip"; ok $? "$label: its fixed DHCP host is gone from ctl's dnsmasq"
  wait_for 10 eval '! leases | grep -q " $ip "'; ok $? "$label: its lease was released"
  wait_for 20 eval '[ -z "$(job_field '"$job"' %i)" ]'; ok $? "$label: job $job is gone from squeue"
  wait_for 10 eval '! qemu_of "$id" >/dev/null'; ok $? "$label: its qemu is gone"
}

# ---- an unknown host is refused, and leaves nothing behind
expect_fail "vmrun --host n3 (no such execution host) is refused" "n3|[Nn]ode|[Hh]ost" -- \
  env VMBATCH_RUN_WAIT=30 runuser -u cldoraz -- env VMBATCH_SOCKET="$VMB_SOCK" "$VMAPP" --vmrun --vm listener --host n3
[ "$(map_json)" = "[]" ]; ok $? "no mapping left by the refused run"

# ============================================================================ 1. isolated
if pair iso 1; then
  ISO_B=$PB ISO_A=$PA
  # ---- 2. scancel the attacker's job from outside vmbatch
  ipa=$(inst_field "$ISO_A" ip); maca=$(inst_field "$ISO_A" mac); tapa=$(inst_field "$ISO_A" tap); joba=$(inst_field "$ISO_A" job_id)
  names_in_table n2 "$tapa"; ok $? "scancel: before it, n2's filter sets name tap $tapa"
  t0=${EPOCHREALTIME/[.,]/}
  sl scancel "$joba"; ok $? "scancel $joba (clalex's VM on n2, outside vmbatch)"
  stopped_clean scancel "$ISO_A" n2 "$ipa" "$maca" "$tapa" "$joba" "$t0"
  [ "$(inst_field "$ISO_B" state)" = running ]; ok $? "scancel: cldoraz's VM on n1 still runs"
  ipb=$(inst_field "$ISO_B" ip); macb=$(inst_field "$ISO_B" mac); tapb=$(inst_field "$ISO_B" tap); jobb=$(inst_field "$ISO_B" job_id)
  t0=${EPOCHREALTIME/[.,]/}
  v cldoraz --vmstop --instance "$ISO_B" >/dev/null; ok $? "cldoraz: --vmstop --instance $ISO_B (on n1)"
  stopped_clean vmstop "$ISO_B" n1 "$ipb" "$macb" "$tapb" "$jobb" "$t0"
  serial "$ISO_B" n1 | grep -q VMB-POWERBUTTON; ok $? "vmstop: the guest on n1 saw the ACPI power button"
else
  ok 1 "the isolated pair ran (steps 1 and 2 skipped)"
fi

# ============================================================================ 3. not isolated
if pair open 0; then
  OPEN_B=$PB OPEN_A=$PA
  # ---- 4. n2's vmbatchd killed and restarted within the grace: its VM is kept
  ipa=$(inst_field "$OPEN_A" ip); tapa=$(inst_field "$OPEN_A" tap)
  old=${NODE_PID[n2]}
  kill -9 "$old"; wait "$old" 2>/dev/null; NODE_PID[n2]=
  ok 0 "restart: n2's vmbatchd (pid $old) killed with SIGKILL"
  t0=${EPOCHREALTIME/[.,]/}
  start_node n2; ok $? "restart: n2's vmbatchd started again (pid ${NODE_PID[n2]})"
  wait_for 20 connected n2; ok $? "restart: n2 connected to the controller again"
  sleep $((GRACE + 3)) # past the grace: a starter that did not re-attach would be cleaned up by now
  [ "$(inst_field "$OPEN_A" state)" = running ] && [ "$(inst_field "$OPEN_A" exehost)" = n2 ]
  ok $? "restart: instance $OPEN_A still running on n2 $(ms_since "$t0") ms after the restart"
  ip -n "${NSOF[n2]}" -d link show "$tapa" 2>/dev/null | grep -q "master vmbbr0"; ok $? "restart: its tap $tapa is still on n2's vmbbr0"
  qemu_of "$OPEN_A" >/dev/null; ok $? "restart: its qemu still runs (pid $(qemu_of "$OPEN_A"))"
  pingx "ctl" "$ipa" >/dev/null 2>&1; ok $? "restart: the gateway still pings it ($ipa)"
  names_in_table n2 "$tapa"; ok $? "restart: n2's filter still names its tap"
  for id in "$OPEN_B" "$OPEN_A"; do
    u=cldoraz; [ "$id" = "$OPEN_A" ] && u=clalex
    v "$u" --vmstop --instance "$id" >/dev/null; ok $? "$u: --vmstop --instance $id"
  done
  wait_for 60 eval '[ "$(map_json)" = "[]" ]'; ok $? "both stopped"
else
  ok 1 "the unisolated pair ran (steps 3 and 4 skipped)"
fi

# ============================================================================ the end
for id in $(map_json 2>/dev/null | python3 -c 'import json,sys; print(*[i["id"] for i in json.load(sys.stdin)])' 2>/dev/null); do
  v cladmin --vmstop --instance "$id" >/dev/null 2>&1
done
wait_for 60 eval '[ "$(map_json)" = "[]" ]'; ok $? "no mapping left"
wait_for 20 eval '[ -z "$(sl squeue -h -o %i 2>/dev/null)" ]'; ok $? "no job left in Slurm"
for h in $NODES; do
  [ -z "$(ip -n "${NSOF[$h]}" -o link show | grep -Eo ': vmb[0-9]+')" ]; ok $? "$h: no tap left"
  [ -z "$(on $h nft list set bridge vmbatch isolated 2>/dev/null | grep -Eo 'vmb[0-9]+')" ]; ok $? "$h: no tap left in its filter sets"
done
[ -z "$(leases | grep ' 192\.168\.100\.')" ]; ok $? "no lease left in ctl's dnsmasq"
diag "runtime $(($(date +%s) - t_start)) s"
tap_done
