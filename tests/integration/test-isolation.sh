#!/bin/bash
# test-isolation.sh VMBATCHD VMBATCH STARTER SCRIPTS BACKEND
# A hostile student against the isolation filters (ISOLATION.md), proven from the receiving side.
#
# Through vmbatch, exactly as test-run-vms.sh runs VMs (embedded default, local backend, dnsmasq,
# a network namespace per run with the node's bridge vbr0 192.168.100.1/24), two students' VMs
# derived from one template (not force_isolated) run the test guest: doraz's "listener"
# (vmb.listen: promiscuous on eth0, prints VMB-SEEN <probe> for every tagged frame it receives,
# tracks its ARP entry for the gateway) and alex's "attacker" (vmb.attack=<listener ip>:
# tests/guest/vmb-attack.c sends every attack of ISOLATION.md from raw frames, each frame tagged
# with its probe's name). On the host, a packet socket on vbr0 (not promiscuous: what reaches the
# gateway) counts the tagged frames, and the bridge's fdb and the host's neighbour table are read.
#
# Four runs, each with its own namespace, daemon and database:
#   iso    both VMs --isolate,        filter_backend = BACKEND   every attack is stopped
#   mixed  only the listener isolated, filter_backend = BACKEND  a student's unisolated VM on the
#                                                                same node gets nothing to it either
#   open   not isolated,              filter_backend = BACKEND   anti-spoofing still stops the
#                                                                spoofing attacks (every VM gets
#                                                                it); guest to guest traffic flows
#   none   not isolated,              filter_backend = none      every attack gets through: the
#                                                                probes and observers work, so the
#                                                                runs above cannot pass by accident
# DHCP (the guests' leases, exactly their mapped addresses), ping to the gateway, DNS to the gateway
# (a responder of the test on its port 53) and the gateway's datagram to the listener (a positive
# control of the listener) must work in all of them. On the host, a TCP listener on port 2222 (a
# host service guests must not reach): the attacker's kernel connects to the gateway's 2222, refused
# by the filters (isolated or not), accepted with none. The attacker also sends a DHCPDECLINE of the
# listener's address in the listener's name (its MAC as chaddr); then the listener gets its address
# again from scratch, as a rebooted guest would (DISCOVER, REQUEST): ACKed with the nft filters, no
# offer with none (dnsmasq 2.90 offers a declined static address to nobody for 10 minutes, and logs
# "disabling DHCP static address"; a renewal of a running lease is still ACKed); ebtables cannot
# match the chaddr, so that verdict is a counted skip there. A table of what each
# observer saw is printed as TAP diagnostics.
#
# BACKEND: nft | ebtables. VMBATCH_ISO_RUNS="none open" makes only these runs (for working on the
# test; the test then fails).
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
BACKEND=${5:-nft}
FLOOD=5000                   # broadcast frames of the storm probe
FOREIGN_IP=192.168.100.249   # the address the attacker claims (vmb-attack.c FOREIGN_IP)
SPOOF_MAC=02:00:de:ad:be:ef  # the MAC it claims (vmb-attack.c SPOOF_MAC)
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, taps, users)"
require_host_features
case $BACKEND in nft | ebtables) ;; *) echo "Bail out! BACKEND must be nft or ebtables, not '$BACKEND'"; exit 1 ;; esac
for t in qemu-system-x86_64 qemu-img dnsmasq python3 bridge "$BACKEND"; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

T=$(mktemp -d /tmp/vmbatch-iso-XXXXXX); chmod 0755 "$T"
t_start=$(date +%s)
NAMESPACES=()
STORDIRS=()
CAP_PID=
cleanup() {
  [ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null
  end_daemon_runs # starters and qemus are ours: ended by the pids the runs recorded
  local p
  for p in "${STORDIRS[@]}"; do rm -rf "$p"; done
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

use_test_guest
[ -x "$GUEST/vmb-attack" ] || skip_all "the test guest has no vmb-attack (gcc with a static libc needed)"
for u in badadmin doraz alex; do ensure_user "$u" || skip_all "cannot create user $u"; done
chmod 0755 /home/doraz /home/alex
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
BASECMD="console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"

# the host's observer: tagged frames that reach vbr0, i.e. the gateway (no promiscuous mode, so
# unicast between two guests is not counted; broadcast and multicast are); and two services of the
# host: a TCP listener on port 2222 (its accepted connections count as "gw-tcp") and a DNS
# responder on udp 53 (dnsmasq runs with --port=0: it answers every query with the query itself)
cat >"$T/hostcap.py" <<'PY'
import os, re, select, signal, socket, sys
iface, outp = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: the flood must not overflow us
s.setblocking(False)
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 2222))
tcp.listen(8)
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("0.0.0.0", 53))
tag = re.compile(rb"VMBTAG:([a-z0-9-]{1,31}):")
counts, first, stop = {}, {}, [False]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
def take(data, addr):
    if addr[2] == socket.PACKET_OUTGOING:
        return
    m = tag.search(data)
    if m:
        name = m.group(1).decode()
        counts[name] = counts.get(name, 0) + 1
        first.setdefault(name, "src=%s dst=%s type=0x%s" % (data[6:12].hex(":"), data[0:6].hex(":"), data[12:14].hex()))
open(outp + ".ready", "w").close()
while not stop[0]:
    try:
        r, _, _ = select.select([s, tcp, dns], [], [], 0.2)
    except InterruptedError:
        continue
    if tcp in r:
        c, _ = tcp.accept()
        counts["gw-tcp"] = counts.get("gw-tcp", 0) + 1
        first.setdefault("gw-tcp", "accepted from %s" % c.getpeername()[0])
        c.close()
    if dns in r:
        q, a = dns.recvfrom(512)
        if len(q) >= 12:
            dns.sendto(q[:2] + bytes([q[2] | 0x80, q[3]]) + q[4:], a)
    while s in r:
        try:
            take(*s.recvfrom(65535))
        except (BlockingIOError, InterruptedError):
            break
while True:  # what is still queued
    try:
        take(*s.recvfrom(65535))
    except (BlockingIOError, InterruptedError):
        break
with open(outp + ".tmp", "w") as f:
    for name in sorted(counts):
        f.write("HOST-SEEN %s %d %s\n" % (name, counts[name], first[name]))
os.rename(outp + ".tmp", outp)
PY

# ---------------------------------------------------------------------------------------------
# one run: run_case LABEL LISTENER_ISOLATED(0|1) ATTACKER_ISOLATED(0|1) FILTER_BACKEND;
# facts go to $T/LABEL/facts ("key value"); a step that fails ends the run (its verdicts fail)
# ---------------------------------------------------------------------------------------------
json_find() { # json_find JSON UID KEY: KEY of the instance that uid runs (booleans as 0/1)
  printf '%s' "$1" | python3 -c "import json,sys; v=[i['$3'] for i in json.load(sys.stdin) if i['uid'] == $2][0]; print(int(v) if isinstance(v, bool) else v)"
}
serial() { tr -d '\r' <"$1" 2>/dev/null; }
okr() { ok "$1" "$2"; return "$1"; } # ok, and return its status (to end a run)

run_case() {
  local NS=vmb-iso-$$-$1
  run_body "$@"
  [ -n "$CAP_PID" ] && { kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; CAP_PID=; }
  # stop what runs (the admin may stop any instance); everything is freed
  local p ids
  if [ -n "${VMB_PID:-}" ]; then
    ids=$(v badadmin --json --maplist 2>/dev/null | python3 -c 'import json,sys; print(*[i["id"] for i in json.load(sys.stdin)])' 2>/dev/null)
    for p in $ids; do v badadmin --vmstop --instance "$p" >/dev/null 2>&1; done
    wait_for 60 eval "! v badadmin --json --maplist | grep -q '\"id\"'"
    ok $? "$1: instances ${ids:-(none)} stopped"
  fi
  stop_vmbatchd
  for p in $(cat "$T/$1"/state/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
}

run_body() {
  local label=$1 isob=$2 isoa=$3 fb=$4
  local R=$T/$label F=$T/$label/facts
  local isob_opt=() isoa_opt=() n
  [ "$isob" = 1 ] && isob_opt=(--isolate)
  [ "$isoa" = 1 ] && isoa_opt=(--isolate)
  mkdir -p "$R/templates" && chown badadmin: "$R/templates" && chmod 0711 "$R/templates"
  : >"$F"
  fact() { echo "$1 $2" >>"$F"; }
  fact iso_listener "$isob"; fact iso_attacker "$isoa"; fact filtered "$([ "$fb" = none ] && echo 0 || echo 1)"
  diag "run $label: listener $([ "$isob" = 1 ] && echo isolated || echo "not isolated"), attacker $(
    [ "$isoa" = 1 ] && echo isolated || echo "not isolated"), filter_backend = $fb"
  ip netns add "$NS" && ip -n "$NS" link set lo up || { ok 1 "$label: a network namespace"; return; }
  NAMESPACES+=("$NS")
  VMB_PREFIX="ip netns exec $NS"
  local sd
  for u in doraz alex; do
    sd=/home/$u/vmb-iso-$$-$label
    mkdir -p "$sd" && chown "$u": "$sd" && chmod 0755 "$sd"
    STORDIRS+=("$sd")
  done
  start_vmbatchd "$R" "admin_user = badadmin" "admin_stordir = $R/templates" "state_dir = $R/state" \
    "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
    "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
    "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "filter_backend = $fb"
  okr $? "$label: vmbatchd (node role, filter_backend = $fb) started in namespace $NS" ||
    { diag "$(tail -5 "$R/vmbatchd.log")"; return; }

  v badadmin --init >/dev/null && v badadmin --ugadd --name studs --ugid 10 >/dev/null &&
    v badadmin --uadd --name doraz --uid "$(id -u doraz)" --ug studs --stordir "/home/doraz/vmb-iso-$$-$label" >/dev/null &&
    v badadmin --uadd --name alex --uid "$(id -u alex)" --ug studs --stordir "/home/alex/vmb-iso-$$-$label" >/dev/null &&
    v badadmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.240 >/dev/null &&
    v badadmin --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
      --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$BASECMD" >/dev/null &&
    v badadmin --permset +d --ug studs --vm tmpl >/dev/null &&
    v doraz --vmadd --name listener --base tmpl >/dev/null &&
    v doraz --vmmod --vm listener --cmdline "$BASECMD vmb.listen=600" >/dev/null &&
    v alex --vmadd --name attacker --base tmpl >/dev/null
  okr $? "$label: template (not force_isolated), doraz's listener and alex's attacker derived from it" || return

  # the listener first
  local out map ipb macb idb ipa maca ida
  out=$(VMBATCH_RUN_WAIT=120 v doraz --vmrun --vm listener "${isob_opt[@]}" 2>&1)
  okr $? "$label: doraz runs the listener ${isob_opt[*]:-(not isolated)}" || { diag "$out"; return; }
  map=$(v badadmin --json --maplist)
  ipb=$(json_find "$map" "$(id -u doraz)" ip 2>/dev/null); macb=$(json_find "$map" "$(id -u doraz)" mac 2>/dev/null)
  idb=$(json_find "$map" "$(id -u doraz)" id 2>/dev/null)
  [ "$(json_find "$map" "$(id -u doraz)" isolated 2>/dev/null)" = "$isob" ]
  ok $? "$label: the listener's instance ${idb:-?} ($ipb $macb) has isolated = $isob"
  local sb=$R/state/jobs/instance-$idb.serial
  wait_for 150 grep -qs "VMB-LISTENING\|VMB-ATTACK-\|VMB-NOLEASE" "$sb"
  serial "$sb" | grep -q "VMB-LEASE ip=$ipb mac=$macb"; n=$?
  fact lease.B "$([ $n = 0 ] && echo yes || echo no)"
  ok $n "$label: the listener got its mapped address $ipb by DHCP"
  serial "$sb" | grep -q "VMB-LISTENING"; n=$?
  ok $n "$label: the listener listens: $(serial "$sb" | grep -m1 VMB-LISTENING)"
  [ $n = 0 ] || { diag "$out" "$(serial "$sb" | tail -5)"; return; }

  # then the attacker, told where the listener is
  case $FOREIGN_IP in "$ipb") diag "the listener has the foreign address $FOREIGN_IP: the spoofing probes are void" ;; esac
  v alex --vmmod --vm attacker --cmdline "$BASECMD vmb.attack=$ipb vmb.peermac=$macb vmb.flood=$FLOOD" >/dev/null
  ok $? "$label: alex points the attacker at $ipb"
  ip netns exec "$NS" python3 "$T/hostcap.py" vbr0 "$R/host-seen" 2>"$R/hostcap.err" &
  CAP_PID=$!
  wait_for 10 test -e "$R/host-seen.ready"; ok $? "$label: host capture on vbr0 (pid $CAP_PID)"
  out=$(VMBATCH_RUN_WAIT=120 v alex --vmrun --vm attacker "${isoa_opt[@]}" 2>&1)
  okr $? "$label: alex runs the attacker ${isoa_opt[*]:-(not isolated)}" || { diag "$out"; return; }
  map=$(v badadmin --json --maplist)
  ipa=$(json_find "$map" "$(id -u alex)" ip 2>/dev/null); maca=$(json_find "$map" "$(id -u alex)" mac 2>/dev/null)
  ida=$(json_find "$map" "$(id -u alex)" id 2>/dev/null)
  [ "$(json_find "$map" "$(id -u alex)" isolated 2>/dev/null)" = "$isoa" ]
  ok $? "$label: the attacker's instance ${ida:-?} ($ipa $maca) has isolated = $isoa"
  case $FOREIGN_IP in "$ipa") diag "the attacker has the foreign address $FOREIGN_IP: the spoofing probes are void" ;; esac
  local sa=$R/state/jobs/instance-$ida.serial
  [ -n "$ida" ] && wait_for 300 grep -qs "VMB-ATTACK-END\|VMB-ATTACK-FAIL\|VMB-ATTACK-ERROR\|VMB-ATTACK-MISSING\|VMB-ATTACK-NOLEASE\|VMB-NOLEASE" "$sa"
  serial "$sa" | grep -q "VMB-LEASE ip=$ipa mac=$maca"; n=$?
  fact lease.A "$([ $n = 0 ] && echo yes || echo no)"
  ok $n "$label: the attacker got its mapped address $ipa by DHCP"
  serial "$sa" | grep -q "VMB-ATTACK-END"; n=$?
  fact attack_end "$([ $n = 0 ] && echo yes || echo no)"
  ok $n "$label: the attacker ran every probe"
  [ $n = 0 ] || diag "$out" "$(serial "$sa" | grep VMB- | tail -5)"
  sleep 2

  # the host's view, right after the attack
  bridge -n "$NS" fdb show br vbr0 >"$R/fdb.txt" 2>&1
  ip -n "$NS" neigh show dev vbr0 >"$R/neigh.txt" 2>&1
  ip -n "$NS" -6 addr show dev vbr0 >"$R/addr6.txt" 2>&1
  ip -n "$NS" -d link show vbr0 >"$R/vbr0.txt" 2>&1
  grep -q PROMISC "$R/vbr0.txt" && diag "$label: vbr0 is promiscuous: the host capture also counts unicast between guests"
  if [ "$fb" = nft ]; then ip netns exec "$NS" nft list ruleset >"$R/filters.txt" 2>&1
  elif [ "$fb" = ebtables ]; then
    { for t in filter nat broute; do echo "== ebtables-nft -t $t"; ip netns exec "$NS" ebtables-nft -t $t -L --Lc 2>&1; done; } >"$R/filters.txt"
  else ip netns exec "$NS" nft list ruleset >"$R/filters.txt" 2>&1; fi
  kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; CAP_PID=
  [ -s "$R/host-seen" ] || [ -e "$R/host-seen" ] || { : >"$R/host-seen"; diag "host capture wrote nothing: $(cat "$R/hostcap.err")"; }

  # the gateway may always talk to a VM: a tagged datagram proves the listener hears in this run
  ip netns exec "$NS" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for k in range(3):
    s.sendto(b"VMBTAG:gw-to-peer:%d:" % k, (sys.argv[1], 9))
    time.sleep(0.2)' "$ipb" 2>/dev/null
  sleep 1
  # the listener gets its address again, as after a reboot: none offered when a DECLINE in its
  # name reached the DHCP server
  for _ in 1 2 3; do
    ip netns exec "$NS" python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"rebind", (sys.argv[1], 7777))' "$ipb" 2>/dev/null
    wait_for 12 grep -qs "VMB-REBIND" "$sb" && break
  done
  fact rebind_B "$(serial "$sb" | sed -n 's/^VMB-REBIND result=\([a-z-]*\).*/\1/p' | head -1)"
  ok "$(serial "$sb" | grep -q "^VMB-REBIND"; echo $?)" "$label: the listener asked for its address again: $(serial "$sb" | grep -m1 VMB-REBIND)"
  local dlog
  dlog=$(find "$R/state" -name dnsmasq.log 2>/dev/null | head -1)
  grep -qs "disabling DHCP static address $ipb\b" "$dlog" && fact declined yes || fact declined no
  # stop the listener from the gateway too: it prints its counts and state
  for _ in 1 2 3 4 5; do
    ip netns exec "$NS" python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"stop", (sys.argv[1], 7777))' "$ipb" 2>/dev/null
    wait_for 3 grep -qs "VMB-LISTEN-END" "$sb" && break
  done
  serial "$sb" | grep -q "VMB-LISTEN-END reason=stop"; n=$?
  fact listen_end "$([ $n = 0 ] && echo yes || echo no)"
  ok $n "$label: the listener stopped on the gateway's word: $(serial "$sb" | grep -m1 VMB-LISTEN-END)"

  # facts
  local p c
  serial "$sa" | grep "^VMB-PROBE " >"$R/probes.txt"
  serial "$sb" | grep "^VMB-" >"$R/listener.txt"
  while read -r _ p _ rest; do
    fact "sent.$p" "$(sed -n 's/.*\bn=\([0-9]*\).*/\1/p' <<<"$rest")"
    case " $rest " in *" reply=yes "*) fact "reply.$p" yes ;; *" reply=no "*) fact "reply.$p" no ;; esac
    case " $rest " in *" offer=yes "*) fact "offer.$p" yes ;; *" offer=no "*) fact "offer.$p" no ;; esac
  done <"$R/probes.txt"
  while read -r _ p c _; do fact "peer.$p" "$c"; done < <(grep "^VMB-SEEN-COUNT " "$R/listener.txt")
  # first sightings are printed live: they count even if the final counts never came
  while read -r _ p _; do grep -q "^peer.$p " "$F" || fact "peer.$p" 1; done < <(grep "^VMB-SEEN " "$R/listener.txt")
  while read -r _ p c _; do fact "host.$p" "$c"; done <"$R/host-seen"
  fact tags "$(sed -n 's/^VMB-LISTEN-END .*tags=\([0-9]*\).*/\1/p' "$R/listener.txt")"
  grep -qi "^VMB-GW-MAC $maca " "$R/listener.txt" && fact peer_gw_poisoned yes || fact peer_gw_poisoned no
  grep -qi "^VMB-IPV6 20010db80066" "$R/listener.txt" && fact peer_ra_addr yes || fact peer_ra_addr no
  grep -qi "^$SPOOF_MAC " "$R/fdb.txt" && fact host_fdb_spoof yes || fact host_fdb_spoof no
  grep -qi "^$FOREIGN_IP .*lladdr $maca" "$R/neigh.txt" && fact host_neigh_foreign yes || fact host_neigh_foreign no
  grep -qi "^$ipa .*lladdr $SPOOF_MAC" "$R/neigh.txt" && fact host_neigh_spoofed yes || fact host_neigh_spoofed no
  grep -qi "inet6 2001:db8:66:" "$R/addr6.txt" && fact host_ra_addr yes || fact host_ra_addr no
  fact maca "$maca"
}

# ---------------------------------------------------------------------------------------------
# the runs
# ---------------------------------------------------------------------------------------------
ALL_RUNS="iso mixed open none"
RUNS=${VMBATCH_ISO_RUNS:-$ALL_RUNS}
for r in $RUNS; do
  case $r in
  iso) run_case iso 1 1 "$BACKEND" ;;
  mixed) run_case mixed 1 0 "$BACKEND" ;;
  open) run_case open 0 0 "$BACKEND" ;;
  none) run_case none 0 0 none ;;
  *) echo "Bail out! unknown run '$r' in VMBATCH_ISO_RUNS"; exit 1 ;;
  esac
done
[ "$RUNS" = "$ALL_RUNS" ]; ok $? "all runs were made (VMBATCH_ISO_RUNS='$RUNS')"

# ---------------------------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------------------------
get() { # get RUN KEY [DEFAULT]: the last value of KEY in RUN's facts
  local v
  v=$(awk -v k="$2" '$1 == k { v = $2 } END { print v }' "$T/$1/facts" 2>/dev/null)
  echo "${v:-${3:-}}"
}
num() { local x; x=$(get "$1" "$2" 0); echo "${x:-0}"; }
ran() { [ -s "$T/$1/facts" ]; }

# probe -> class; observers: p = listener (peer guest), h = host on vbr0, plus side effects
#   legit    the attacker's lawful traffic to the gateway: works in every run
#   control  the gateway's datagram to the listener: heard in every run (the listener works)
#   g2g      guest to guest: stopped when either VM is isolated (and filters are on), else seen
#   spoof    anti-spoofing, for every VM: stopped whenever filters are on, seen with none
#   dhcp     no offer to a made-up client, ever: the filter drops a DISCOVER whose chaddr is not the
#            VM's (nft), else the DHCP server's own policy (known hosts only) refuses it
#   hostsvc  a host service (the TCP listener on the gateway): refused whenever filters are on
#   chaddr   a DECLINE in the listener's name: dropped with nft filters (the listener gets its
#            address again), through with none (no offer); ebtables cannot match the chaddr (a
#            counted skip)
#   storm    an isolated attacker's broadcasts are rate limited; an isolated listener gets none
PROBES="arp-gw ping-gw dns-gw gw-tcp gw-to-peer arp-peer ping-peer udp-peer unicast-foreign mac-spoof ip-spoof
arp-gw-claim arp-foreign-ip arp-foreign-mac dhcp-offer dhcp-offer-6767 dhcp-decline ipv6-ra dhcpv6-adv ipv6-spoof
ipv6-na vlan rarp ethertype-88b5 dhcp-starve flood"
ATTACKS=$(for p in $PROBES; do [ "$p" = gw-to-peer ] || echo "$p"; done)
class_of() {
  case $1 in
  arp-gw | ping-gw | dns-gw) echo legit ;;
  gw-tcp) echo hostsvc ;;
  dhcp-decline) echo chaddr ;;
  gw-to-peer) echo control ;;
  arp-peer | ping-peer | udp-peer | unicast-foreign) echo g2g ;;
  dhcp-starve) echo dhcp ;;
  flood) echo storm ;;
  *) echo spoof ;;
  esac
}
# the side effect (a fact) an unfiltered attack leaves behind, if any
effect_of() {
  case $1 in
  mac-spoof) echo host_fdb_spoof ;;
  arp-gw-claim) echo peer_gw_poisoned ;;
  arp-foreign-ip) echo host_neigh_foreign ;;
  arp-foreign-mac) echo host_neigh_spoofed ;;
  ipv6-ra) echo peer_ra_addr ;;
  esac
}
filtered() { [ "$(get "$1" filtered)" = 1 ]; }
apart() { filtered "$1" && { [ "$(get "$1" iso_listener)" = 1 ] || [ "$(get "$1" iso_attacker)" = 1 ]; }; }

cell() { # cell RUN PROBE: what the observers saw, for the table
  local r=$1 p=$2 s e
  ran "$r" || { echo "-"; return; }
  s="p$(num "$r" "peer.$p") h$(num "$r" "host.$p")"
  [ -n "$(get "$r" "reply.$p")" ] && s="$s reply=$(get "$r" "reply.$p")"
  [ -n "$(get "$r" "offer.$p")" ] && s="$s offer=$(get "$r" "offer.$p")"
  e=$(effect_of "$p")
  [ -n "$e" ] && [ "$(get "$r" "$e")" = yes ] && s="$s +effect"
  echo "$s"
}

verdict() { # verdict RUN PROBE -> exit 0 when the run shows what it must; prints why not
  local r=$1 p=$2 cls e pc hc
  cls=$(class_of "$p"); e=$(effect_of "$p")
  pc=$(num "$r" "peer.$p"); hc=$(num "$r" "host.$p")
  [ "$(get "$r" attack_end)" = yes ] || { echo "the attacker did not finish"; return 1; }
  [ "$(get "$r" listen_end)" = yes ] || { echo "the listener did not report"; return 1; }
  [ "$cls" = control ] || [ "$(num "$r" "sent.$p")" -gt 0 ] || { echo "not sent"; return 1; }
  case $cls in
  legit)
    [ "$(get "$r" "reply.$p")" = yes ] || { echo "no reply from the gateway"; return 1; }
    [ "$hc" -gt 0 ] || { echo "the host did not see it"; return 1; } ;;
  control)
    [ "$pc" -gt 0 ] || { echo "the listener did not hear the gateway"; return 1; } ;;
  dhcp)
    [ "$(get "$r" "offer.$p")" = no ] || { echo "the DHCP server offered an address to an unknown client"; return 1; }
    if filtered "$r" && [ "$BACKEND" = nft ]; then
      [ "$hc" = 0 ] || { echo "a DISCOVER with a made-up chaddr reached the host ($hc)"; return 1; }
    else
      [ "$hc" -gt 0 ] || { echo "the DISCOVER did not reach the host (nothing proven)"; return 1; }
    fi ;;
  hostsvc)
    if filtered "$r"; then
      [ "$(get "$r" "reply.$p")" = no ] || { echo "the attacker connected"; return 1; }
      [ "$hc" = 0 ] || { echo "the listener accepted $hc"; return 1; }
    else
      [ "$(get "$r" "reply.$p")" = yes ] || { echo "the attacker could not connect (the probe does not work)"; return 1; }
      [ "$hc" -gt 0 ] || { echo "the listener accepted nothing"; return 1; }
    fi ;;
  chaddr)
    if filtered "$r" && [ "$BACKEND" = ebtables ]; then
      echo "ebtables cannot match the BOOTP chaddr (here: host saw $hc, address again: $(get "$r" rebind_B), declined $(get "$r" declined))"
      return 3
    elif filtered "$r"; then
      [ "$pc" = 0 ] || { echo "the listener saw it ($pc)"; return 1; }
      [ "$hc" = 0 ] || { echo "the host saw it ($hc)"; return 1; }
      [ "$(get "$r" declined)" = no ] || { echo "dnsmasq disabled the listener's address"; return 1; }
      [ "$(get "$r" rebind_B)" = ack ] || { echo "the listener asking for its address again got $(get "$r" rebind_B)"; return 1; }
    else
      [ "$hc" -gt 0 ] || { echo "the host did not see it"; return 1; }
      [ "$(get "$r" declined)" = yes ] || { echo "dnsmasq did not disable the address (the probe does not work)"; return 1; }
      [ "$(get "$r" rebind_B)" = no-offer ] || { echo "the listener asking for its address again got $(get "$r" rebind_B), not no-offer"; return 1; }
    fi ;;
  g2g)
    if apart "$r"; then
      [ "$pc" = 0 ] || { echo "the listener saw it ($pc)"; return 1; }
      [ "$(get "$r" "reply.$p")" != yes ] || { echo "the peer answered"; return 1; }
    else
      [ "$pc" -gt 0 ] || { echo "the listener did not see it"; return 1; }
      [ -z "$(get "$r" "reply.$p")" ] || [ "$(get "$r" "reply.$p")" = yes ] || { echo "the peer did not answer"; return 1; }
    fi ;;
  spoof)
    if filtered "$r"; then
      [ "$pc" = 0 ] || { echo "the listener saw it ($pc)"; return 1; }
      [ "$hc" = 0 ] || { echo "the host saw it ($hc)"; return 1; }
      [ -z "$e" ] || [ "$(get "$r" "$e")" = no ] || { echo "$e"; return 1; }
    else
      [ "$pc" -gt 0 ] || { echo "the listener did not see it"; return 1; }
      [ "$hc" -gt 0 ] || { echo "the host did not see it"; return 1; }
      [ -z "$e" ] || [ "$(get "$r" "$e")" = yes ] || { echo "no $e"; return 1; }
    fi ;;
  storm)
    if apart "$r"; then
      [ "$pc" = 0 ] || { echo "the listener saw $pc"; return 1; }
    else
      [ "$pc" -gt 0 ] || { echo "the listener saw none"; return 1; }
    fi
    if filtered "$r" && [ "$(get "$r" iso_attacker)" = 1 ]; then
      [ "$hc" -lt $((FLOOD / 2)) ] || { echo "the host saw $hc of $FLOOD: not limited"; return 1; }
    elif ! filtered "$r"; then
      [ "$hc" -ge $((FLOOD * 9 / 10)) ] || { echo "the host saw only $hc of $FLOOD unfiltered: a limit could not be told"; return 1; }
    fi ;;
  esac
  return 0
}
expect_of() { # what the run must show, in words
  local r=$1 s
  case $(class_of "$2") in
  legit) echo "the gateway answers" ;;
  control) echo "the listener hears the gateway" ;;
  dhcp) filtered "$r" && [ "$BACKEND" = nft ] && echo "dropped (chaddr), no offer" || echo "no offer to an unknown client" ;;
  hostsvc) filtered "$r" && echo "refused" || echo "connects (the probe works)" ;;
  chaddr)
    if filtered "$r" && [ "$BACKEND" = ebtables ]; then echo "not checked by ebtables"
    elif filtered "$r"; then echo "dropped, the listener gets its address again"
    else echo "gets through, the listener's address is offered no more"; fi ;;
  g2g) apart "$r" && echo "blocked" || echo "reaches the peer" ;;
  spoof) filtered "$r" && echo "blocked" || echo "gets through (the probe works)" ;;
  storm)
    apart "$r" && s="the peer gets none" || s="reaches the peer"
    if filtered "$r" && [ "$(get "$r" iso_attacker)" = 1 ]; then s="$s, the host < $((FLOOD / 2))"
    elif ! filtered "$r"; then s="$s, the host >= $((FLOOD * 9 / 10))"; fi
    echo "$s" ;;
  esac
}

diag "" "observers: p = tagged frames the listener guest got, h = tagged frames that reached the host's vbr0," \
  "reply = the attacker got an answer, +effect = the attack left its mark (peer ARP entry for the gateway," \
  "peer IPv6 address from the RA, bridge fdb entry for the spoofed MAC, host neighbour entry)"
hdr=$(printf '%-16s %-7s| %-21s| %-21s| %-21s| %-21s' probe class "iso ($BACKEND)" "mixed ($BACKEND)" "open ($BACKEND)" "none")
diag "$hdr" "$(printf '%.0s-' $(seq 1 ${#hdr}))"
for p in $PROBES; do
  diag "$(printf '%-16s %-7s| %-21s| %-21s| %-21s| %-21s' "$p" "$(class_of "$p")" "$(cell iso "$p")" "$(cell mixed "$p")" \
    "$(cell open "$p")" "$(cell none "$p")")"
done
for r in $ALL_RUNS; do
  ran $r && diag "$(printf 'side effects %-5s: gw-poisoned=%s ra-addr=%s fdb-spoof=%s neigh-foreign=%s neigh-spoofed=%s host-ra-addr=%s declined=%s rebind=%s' \
    $r "$(get $r peer_gw_poisoned)" "$(get $r peer_ra_addr)" "$(get $r host_fdb_spoof)" "$(get $r host_neigh_foreign)" \
    "$(get $r host_neigh_spoofed)" "$(get $r host_ra_addr)" "$(get $r declined)" "$(get $r rebind_B)")"
done
diag ""

for r in $RUNS; do
  ran "$r" || continue
  for p in $PROBES; do
    why=$(verdict "$r" "$p"); n=$?
    if [ $n = 3 ]; then ok 0 "$r: $p ($(class_of "$p")): $(expect_of "$r" "$p") # SKIP $why"; continue; fi
    ok $n "$r: $p ($(class_of "$p")): $(expect_of "$r" "$p")${why:+ - $why}"
  done
  [ "$(get "$r" lease.A)" = yes ] && [ "$(get "$r" lease.B)" = yes ]
  ok $? "$r: DHCP works for both guests"
  if apart "$r"; then
    tags=0
    for p in $ATTACKS; do tags=$((tags + $(num "$r" "peer.$p"))); done
    [ "$(get "$r" listen_end)" = yes ] && [ "$tags" = 0 ]
    ok $? "$r: not one frame of the attacker reached the isolated listener ($tags)"
  fi
done
if [ "$tap_failed" -gt 0 ]; then
  for r in $RUNS; do
    [ -s "$T/$r/filters.txt" ] && diag "--- $r: filters" "$(head -150 "$T/$r/filters.txt")"
    [ -s "$T/$r/listener.txt" ] && diag "--- $r: listener" "$(grep -v '^VMB-SEEN ' "$T/$r/listener.txt" | head -60)"
    [ -s "$T/$r/probes.txt" ] && diag "--- $r: attacker" "$(cat "$T/$r/probes.txt")"
    [ -s "$T/$r/neigh.txt" ] && diag "--- $r: host neighbours, bridge fdb" "$(cat "$T/$r/neigh.txt")" "$(grep -v permanent "$T/$r/fdb.txt")"
  done
fi
diag "runtime $(($(date +%s) - t_start)) s"
tap_done
