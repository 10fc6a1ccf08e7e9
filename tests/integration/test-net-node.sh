#!/bin/bash
# test-net-node.sh NET_NODE_TOOL - the node's network pieces for real (TAP).
#
# net/link.c and net/dhcp*.c, driven by net-node-tool inside a network
# namespace this test creates (vmb-net-PID), with DHCP clients (busybox
# udhcpc) in a second one (vmb-netc-PID) joined by a veth whose host end is
# on the bridge:
#   - bridge: created with its address, up, STP off; idempotent
#   - tap: owned by nobody, not persistent, on the bridge, up; gone when its
#     holder exits (also on SIGKILL); name taken / missing bridge errors
#   - link_delete of a held tap; link_cut: down and off the bridge (and its
#     errors: a missing link, an invalid name)
#   - dnsmasq backend: started and supervised (restart after SIGKILL), a
#     known host gets exactly its IP, an unknown MAC gets nothing, removal
#     drops the lease at once (dhcp_release) and the IP is reusable
#   - omapi backend against ISC dhcpd (when installed): add / lease / remove
# Timings are printed as diagnostics. Needs root, ip, dnsmasq, dhcp_release,
# busybox; otherwise "1..0 # SKIP reason" and exit $VMBATCH_SKIP_EXIT.
# All traffic stays inside the two namespaces. A trap stops what we started
# (by PID) and deletes the namespaces, also on failure.
set -u

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$HERE/lib.sh"

TOOL=${1:-}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, bridge, tap)"
require_host_features
[ -n "$TOOL" ] && [ -x "$TOOL" ] || skip_all "net-node-tool not built (pass its path as \$1)"
TOOL=$(readlink -f "$TOOL")
for t in ip dnsmasq dhcp_release busybox; do
    command -v "$t" >/dev/null || skip_all "$t not installed"
done
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
busybox udhcpc --help >/dev/null 2>&1 || skip_all "busybox has no udhcpc"
DHCPD=$(command -v dhcpd 2>/dev/null || true)

NS=vmb-net-$$
NC=vmb-netc-$$
BR=vmbbr0
GW=192.168.100.1
NOBODY_UID=$(id -u nobody)
W=$(mktemp -d /tmp/vmb-net.XXXXXX) || exit 1
chmod 755 "$W" # dnsmasq reads its host files as nobody
NS_MADE=()
HOLDER_PIDS=()
SRV_TOOL_PID=
DNSMASQ_PIDS=()
DHCPD_PID=

# kill PID if it is still the program named COMM (we only stop what we started)
kill_ours() {
    local pid=$1 comm=$2 sig=${3:-TERM}
    [ -n "$pid" ] || return 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] && kill "-$sig" "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$? p ns
    trap - EXIT INT TERM
    for p in "${HOLDER_PIDS[@]}" $SRV_TOOL_PID; do kill_ours "$p" net-node-tool; done
    for p in "${DNSMASQ_PIDS[@]}"; do kill_ours "$p" dnsmasq; done
    kill_ours "$DHCPD_PID" dhcpd
    for p in "${HOLDER_PIDS[@]}" $SRV_TOOL_PID $DHCPD_PID; do wait "$p" 2>/dev/null; done
    for ns in "${NS_MADE[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            diag "WARNING: still in $ns: $p $(cat "/proc/$p/comm" 2>/dev/null)"
        done
        ip netns del "$ns" 2>/dev/null
    done
    if [ "$tap_failed" -ne 0 ]; then
        for f in "$W"/dhcp/dnsmasq.log "$W"/dhcp/dnsmasq.stderr "$W"/dhcpd.log; do
            [ -s "$f" ] && diag "--- $f" "$(tail -25 "$f")"
        done
    fi
    rm -rf "$W"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { ip netns exec "$NS" "$@"; }
ncx() { ip netns exec "$NC" "$@"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
wait_gone() { # wait_gone LINK -> 0 when it disappeared within 3 s
    local i
    for i in $(seq 1 60); do
        nsx ip link show "$1" >/dev/null 2>&1 || return 0
        sleep 0.05
    done
    return 1
}

for ns in "$NS" "$NC"; do
    ip netns add "$ns" || { echo "Bail out! cannot create network namespace $ns"; exit 1; }
    NS_MADE+=("$ns")
    ip netns exec "$ns" ip link set lo up
done

# ---- bridge ----------------------------------------------------------------
out=$(nsx "$TOOL" bridge "$BR" "$GW/24" 2>&1)
ok $? "bridge $BR created: $out"
BRIDGE_US=${out##*us=}
info=$(nsx ip -d link show "$BR" 2>&1)
printf '%s\n' "$info" | grep -q "bridge forward_delay 0 .*stp_state 0"
ok $? "$BR is a bridge with STP off and forward delay 0"
printf '%s\n' "$info" | grep -q "<.*UP.*>"
ok $? "$BR is up"
[ "$(nsx ip -4 -o addr show dev "$BR" | grep -c "inet $GW/24 ")" = 1 ]
ok $? "$BR has $GW/24"
out=$(nsx "$TOOL" bridge "$BR" "$GW/24" 2>&1) &&
    [ "$(nsx ip -4 -o addr show dev "$BR" | wc -l)" = 1 ]
ok $? "ensuring it again changes nothing: $out"
mac1=$(nsx cat /sys/class/net/$BR/address)

nsx ip link add vmbv0 type veth peer name vmbc0 &&
    nsx ip link set vmbc0 netns "$NC" &&
    ncx ip link set vmbc0 up
ok $? "veth pair for the DHCP client: vmbv0 in $NS, vmbc0 in $NC"
expect_fail "a bridge on a link of another kind is refused" "link vmbv0 exists and is not a bridge \(veth\)" -- \
    nsx "$TOOL" bridge vmbv0
nsx ip link set vmbv0 master "$BR" up

# ---- tap -------------------------------------------------------------------
TAP=vmb1001
coproc HOLD { exec ip netns exec "$NS" "$TOOL" tap "$TAP" "$BR" "$NOBODY_UID" 2>&1; }
HOLDER_PIDS+=("$HOLD_PID")
line=
read -r -t 10 -u "${HOLD[0]}" line
[[ $line == "ifindex "[1-9]* ]]
ok $? "tap $TAP created for uid $NOBODY_UID: $line"
info=$(nsx ip -d link show "$TAP" 2>&1)
printf '%s\n' "$info" | grep -q "master $BR " &&
    printf '%s\n' "$info" | grep -q "<.*UP.*>"
ok $? "$TAP is on $BR and up"
printf '%s\n' "$info" | grep -q "tun type tap pi off vnet_hdr on persist off user nobody"
ok $? "$TAP: tap, no packet info, vnet header, NOT persistent, owned by nobody"
[ "$(nsx cat /sys/class/net/$TAP/owner)" = "$NOBODY_UID" ]
ok $? "/sys says owner $NOBODY_UID"
[ "$(nsx cat /sys/class/net/$BR/address)" = "$mac1" ]
ok $? "the bridge keeps its own MAC when a port joins"
expect_fail "the same name again is refused" "network interface $TAP already exists" -- \
    nsx "$TOOL" tap "$TAP" "$BR" "$NOBODY_UID"
expect_fail "a missing bridge is named" "bridge vbr9 does not exist" -- \
    nsx "$TOOL" tap vmb1002 vbr9 "$NOBODY_UID"
expect_fail "a non-bridge master is refused" "lo is not a bridge" -- \
    nsx "$TOOL" tap vmb1002 lo "$NOBODY_UID"
out=$(nsx "$TOOL" list vmb1 2>&1)
[ "$out" = "$TAP" ]
ok $? "list prefix vmb1 finds exactly $TAP: $out"
out=$(nsx "$TOOL" exists "$TAP")
[ "$out" = yes ]
ok $? "exists $TAP: $out"

exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null
wait_gone "$TAP"
ok $? "$TAP vanished when its holder closed the fd"
out=$(nsx "$TOOL" exists "$TAP")
[ "$out" = no ]
ok $? "exists $TAP after that: $out"
nsx "$TOOL" delete "$TAP"
ok $? "deleting a link that does not exist is not an error"

coproc HOLD { exec ip netns exec "$NS" "$TOOL" tap vmb1003 "$BR" "$NOBODY_UID" 2>&1; }
HOLDER_PIDS+=("$HOLD_PID")
read -r -t 10 -u "${HOLD[0]}" line
pid=$HOLD_PID
kill -KILL "$pid"
wait "$pid" 2>/dev/null
wait_gone vmb1003
ok $? "a tap vanishes when its holder is SIGKILLed (pid $pid)"

coproc HOLD { exec ip netns exec "$NS" "$TOOL" tap vmb1004 "$BR" "$NOBODY_UID" 2>&1; }
HOLDER_PIDS+=("$HOLD_PID")
read -r -t 10 -u "${HOLD[0]}" line
nsx "$TOOL" delete vmb1004 && wait_gone vmb1004
ok $? "link_delete removes a tap that is still held"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null

# link_cut (an exam's freeze): the held tap goes down and off the bridge, and stays
coproc HOLD { exec ip netns exec "$NS" "$TOOL" tap vmb1005 "$BR" "$NOBODY_UID" 2>&1; }
HOLDER_PIDS+=("$HOLD_PID")
read -r -t 10 -u "${HOLD[0]}" line
[ -e "/proc/$HOLD_PID" ] && nsx test -e /sys/class/net/vmb1005/master
ok $? "vmb1005 is held and on $BR before the cut"
nsx "$TOOL" cut vmb1005 && ! nsx test -e /sys/class/net/vmb1005/master &&
    [ $(( $(nsx cat /sys/class/net/vmb1005/flags) & 1 )) = 0 ] && [ "$(nsx "$TOOL" exists vmb1005)" = yes ]
ok $? "link_cut takes vmb1005 down and off $BR; it still exists"
expect_fail "cutting a link that does not exist says so" "^net-node-tool: cannot cut link vmb1999 off: No such device$" -- \
    nsx "$TOOL" cut vmb1999
expect_fail "link_cut refuses an invalid name" "^net-node-tool: invalid link name 'a/b'$" -- nsx "$TOOL" cut a/b
expect_fail "link_delete refuses an invalid name" "^net-node-tool: invalid link name 'a/b'$" -- \
    nsx "$TOOL" delete a/b
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null
wait_gone vmb1005
ok $? "vmb1005 vanished when its holder closed the fd"

# tap creation time: 20 taps, each created, attached, up, then closed
tap_us=()
for i in $(seq 1 20); do
    out=$(nsx "$TOOL" tap "vmb2$i" "$BR" "$NOBODY_UID" </dev/null 2>&1) && tap_us+=("${out##*us=}")
done
[ ${#tap_us[@]} = 20 ] && [ -z "$(nsx "$TOOL" list vmb2)" ]
ok $? "20 taps created and gone again"
diag "bridge create: ${BRIDGE_US} us; tap create+attach+up (20 runs): median $(median "${tap_us[@]}") us"

# ---- DHCP client in $NC ------------------------------------------------------
cat >"$W/udhcpc.sh" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && echo "lease ip=$ip router=$router"
exit 0
EOF
chmod 755 "$W/udhcpc.sh"
# dhcp_client MAC TRIES -> prints "lease ip=.. router=.." on success
dhcp_client() {
    ncx ip link set vmbc0 down
    ncx ip link set vmbc0 address "$1"
    ncx ip link set vmbc0 up
    ncx busybox udhcpc -i vmbc0 -n -q -t "$2" -T 1 -A 1 -s "$W/udhcpc.sh" 2>/dev/null | grep '^lease'
}

# serve_cmd LINE -> the tool's answer in $REPLY_LINE; 0 when it starts with "ok"
serve_cmd() {
    REPLY_LINE=
    echo "$1" >&"${SRV[1]}"
    read -r -t 15 -u "${SRV[0]}" REPLY_LINE
    [[ $REPLY_LINE == ok* ]]
}
serve_stop() {
    exec {SRV[1]}>&-
    wait "$SRV_TOOL_PID" 2>/dev/null
}

# ---- dnsmasq backend -----------------------------------------------------------
D=$W/dhcp
coproc SRV { exec ip netns exec "$NS" "$TOOL" dhcp-serve --backend dnsmasq --interface "$BR" --state-dir "$D" \
    --range-net 192.168.100.0 --range-mask 255.255.255.0 --gateway "$GW" 2>&1; }
SRV_TOOL_PID=$SRV_PID
line=
read -r -t 15 -u "${SRV[0]}" line
[[ $line == "ready backend=dnsmasq pid="[1-9]* ]]
ok $? "dnsmasq started: $line"
DPID=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$line")
DNSMASQ_PIDS+=("$DPID")
START_US=${line##*us=}
[ "$(cat "/proc/$DPID/comm" 2>/dev/null)" = dnsmasq ] && [ "$(cat "$D/dnsmasq.pid" 2>/dev/null)" = "$DPID" ]
ok $? "pid $DPID is dnsmasq and matches its PID file"
[ "$(readlink "/proc/$DPID/ns/net")" = "$(nsx readlink /proc/self/ns/net)" ]
ok $? "dnsmasq runs in $NS"

MAC1=de:af:de:af:64:02
IP1=192.168.100.2
serve_cmd "add vm1002 $MAC1 $IP1"
ok $? "add vm1002 $MAC1 $IP1: $REPLY_LINE"
[ "$(cat "$D/hosts/vm1002" 2>/dev/null)" = "$MAC1,$IP1,vm1002" ]
ok $? "host file $D/hosts/vm1002"
t0=$(now_ms)
out=$(dhcp_client $MAC1 5)
t1=$(now_ms)
[ "$out" = "lease ip=$IP1 router=$GW" ]
ok $? "a client with $MAC1 gets exactly $IP1 and router $GW: $out"
ADD_TO_LEASE_MS=$((t1 - t0))
grep -q " $MAC1 $IP1 vm1002 " "$D/leases"
ok $? "the lease is in dnsmasq's leases file"
t0=$(now_ms)
out=$(dhcp_client $MAC1 5)
t1=$(now_ms)
[ "$out" = "lease ip=$IP1 router=$GW" ]
ok $? "the same client again (baseline: host known for a while): $out"
BASE_MS=$((t1 - t0))
serve_cmd "add vm1002 $MAC1 $IP1"
ok $? "adding the same host again is fine: $REPLY_LINE"
serve_cmd "list" && [ "$REPLY_LINE" = "ok list vm1002" ]
ok $? "list: $REPLY_LINE"

out=$(dhcp_client de:af:de:af:64:99 2)
[ -z "$out" ]
ok $? "a client with an unknown MAC gets no lease${out:+: $out}"

serve_cmd "remove vm1002 $MAC1 $IP1"
ok $? "remove vm1002: $REPLY_LINE"
REMOVE_US=${REPLY_LINE##*us=}
[ ! -e "$D/hosts/vm1002" ]
ok $? "host file gone"
gone=1
for _ in $(seq 1 40); do
    grep -q " $MAC1 " "$D/leases" || { gone=0; break; }
    sleep 0.05
done
ok $gone "dhcp_release dropped the lease from the leases file"
out=$(dhcp_client $MAC1 2)
[ -z "$out" ]
ok $? "the removed host's MAC gets no lease any more${out:+: $out}"
serve_cmd "remove vm1002 $MAC1 $IP1"
ok $? "removing it again is not an error: $REPLY_LINE"

MAC2=de:af:de:af:64:22
serve_cmd "add vm2002 $MAC2 $IP1"
ok $? "add vm2002 $MAC2 with the freed IP $IP1: $REPLY_LINE"
t0=$(now_ms)
out=$(dhcp_client $MAC2 5)
t1=$(now_ms)
[ "$out" = "lease ip=$IP1 router=$GW" ]
ok $? "the new host gets the reused IP at once: $out"
REUSE_MS=$((t1 - t0))

# its log: rotated past a size, dnsmasq reopens it (SIGUSR2)
serve_cmd "rotate 100000000" && [ "$REPLY_LINE" = "ok rotate kept" ]
ok $? "a small log is kept: $REPLY_LINE"
[ -s "$D/dnsmasq.log" ] && serve_cmd "rotate 0" && [ "$REPLY_LINE" = "ok rotate rotated" ]
ok $? "a log past the size is rotated: $REPLY_LINE"
[ -s "$D/dnsmasq.log.1" ] && grep -q "DHCPACK" "$D/dnsmasq.log.1"; ok $? "the old log is dnsmasq.log.1"
dhcp_client $MAC2 5 >/dev/null
wait_for 5 grep -q "DHCPACK" "$D/dnsmasq.log" 2>/dev/null; ok $? "dnsmasq writes a new dnsmasq.log after the rotation"

# supervision: dnsmasq dies, the watch fd fires, it is restarted
kill -KILL "$DPID"
line=
read -r -t 15 -u "${SRV[0]}" line
[[ $line == "restarted old_exit=137 pid="[1-9]* ]]
ok $? "dnsmasq restarted after SIGKILL: $line"
DPID2=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$line")
DNSMASQ_PIDS+=("$DPID2")
RESTART_US=${line##*us=}
[ "$DPID2" != "$DPID" ] && [ "$(cat "/proc/$DPID2/comm" 2>/dev/null)" = dnsmasq ]
ok $? "a new dnsmasq (pid $DPID2)"
out=$(dhcp_client $MAC2 5)
[ "$out" = "lease ip=$IP1 router=$GW" ]
ok $? "after the restart vm2002 still gets $IP1 (hosts and leases kept): $out"
serve_cmd "remove vm2002" && [ ! -e "$D/hosts/vm2002" ]
ok $? "remove by name only (MAC and IP from the file): $REPLY_LINE"
sleep 0.2
[ "$(cat "/proc/$DPID2/comm" 2>/dev/null)" = dnsmasq ]
ok $? "dnsmasq (pid $DPID2) survived the SIGHUP that makes it forget the removed host"
serve_cmd "add ../x $MAC1 $IP1"
[[ $REPLY_LINE == "error EINVAL invalid DHCP host name '../x'"* ]]
ok $? "a path as host name is refused: $REPLY_LINE"

serve_stop
SRV_TOOL_PID=
gone=1
for _ in $(seq 1 40); do
    [ -d "/proc/$DPID2" ] || { gone=0; break; }
    sleep 0.05
done
ok $gone "freeing the backend stopped dnsmasq"
diag "dnsmasq: start ${START_US} us, restart ${RESTART_US} us; host add -> udhcpc lease ${ADD_TO_LEASE_MS} ms" \
    "(client run incl. ip netns exec + busybox; same client for a long-known host ${BASE_MS} ms;" \
    "reused IP right after remove ${REUSE_MS} ms); remove incl. dhcp_release ${REMOVE_US} us"

# ---- omapi backend against ISC dhcpd -------------------------------------------
if [ -z "$DHCPD" ]; then
    diag "dhcpd (isc-dhcp-server) not installed: omapi backend not tested"
    tap_done
    exit
fi
PORT=7911
KEYNAME=vmb_omapi_key
SECRET=$(head -c 32 /dev/urandom | base64 -w0)
cat >"$W/dhcpd.conf" <<CONF
authoritative;
ddns-update-style none;
default-lease-time 3600;
max-lease-time 7200;
ping-check false;
key $KEYNAME {
    algorithm hmac-md5;
    secret "$SECRET";
};
omapi-port $PORT;
omapi-key $KEYNAME;
subnet 192.168.100.0 netmask 255.255.255.0 {
    option routers $GW;
}
CONF
start_dhcpd() {
    [ -e "$W/dhcpd.leases" ] || : >"$W/dhcpd.leases"
    # ip netns exec execs dhcpd: $! is dhcpd's own pid
    ip netns exec "$NS" "$DHCPD" -4 -f -q -cf "$W/dhcpd.conf" -lf "$W/dhcpd.leases" -pf "$W/dhcpd.pid" "$BR" \
        >>"$W/dhcpd.log" 2>&1 &
    DHCPD_PID=$!
    local i
    for i in $(seq 1 100); do
        nsx bash -c "exec 3<>/dev/tcp/$GW/$PORT" 2>/dev/null && return 0
        kill -0 "$DHCPD_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
stop_dhcpd() {
    kill_ours "$DHCPD_PID" dhcpd
    wait "$DHCPD_PID" 2>/dev/null
    DHCPD_PID=
}
start_dhcpd
ok $? "dhcpd started in $NS with OMAPI on $GW:$PORT"

OMAPI=(--backend omapi --server "$GW" --port "$PORT" --key-name "$KEYNAME")
expect_fail "omapi: a wrong secret fails at start" "key rejected" -- \
    nsx "$TOOL" dhcp-serve "${OMAPI[@]}" --secret "$(head -c 32 /dev/urandom | base64 -w0)" </dev/null

coproc SRV { exec ip netns exec "$NS" "$TOOL" dhcp-serve "${OMAPI[@]}" --secret "$SECRET" 2>&1; }
SRV_TOOL_PID=$SRV_PID
read -r -t 15 -u "${SRV[0]}" line
[[ $line == "ready backend=omapi pid=0"* ]]
ok $? "omapi backend connected: $line"
MAC3=de:af:de:af:64:03
IP3=192.168.100.3
serve_cmd "add vm1003 $MAC3 $IP3"
ok $? "omapi: add vm1003: $REPLY_LINE"
OMAPI_ADD_US=${REPLY_LINE##*us=}
serve_cmd "add vm1003 $MAC3 $IP3"
ok $? "omapi: adding the same host again is fine: $REPLY_LINE"
t0=$(now_ms)
out=$(dhcp_client $MAC3 5)
t1=$(now_ms)
[ "$out" = "lease ip=$IP3 router=$GW" ]
ok $? "omapi: the client gets $IP3 from dhcpd: $out"
OMAPI_LEASE_MS=$((t1 - t0))
serve_cmd "add vm1003 $MAC3 192.168.100.4"
ok $? "omapi: re-adding vm1003 with another IP replaces it: $REPLY_LINE"
serve_cmd "add vm1004 $MAC3 192.168.100.5"
[[ $REPLY_LINE == "error EEXIST"* ]]
ok $? "omapi: a MAC of another host is refused: $REPLY_LINE"
serve_cmd "list"
[[ $REPLY_LINE == "error ENOTSUP"* ]]
ok $? "omapi: list is not supported: $REPLY_LINE"

# dhcpd restarts under a connected client: the next call reconnects
stop_dhcpd
start_dhcpd
ok $? "dhcpd restarted"
serve_cmd "remove vm1003"
ok $? "omapi: remove after a dhcpd restart reconnects: $REPLY_LINE"
out=$(dhcp_client $MAC3 2)
[ -z "$out" ]
ok $? "omapi: the removed host gets no lease${out:+: $out}"
serve_cmd "remove vm1003"
ok $? "omapi: removing it again is not an error: $REPLY_LINE"
serve_stop
SRV_TOOL_PID=
stop_dhcpd
diag "omapi: host add ${OMAPI_ADD_US} us; add -> udhcpc lease ${OMAPI_LEASE_MS} ms"

tap_done
