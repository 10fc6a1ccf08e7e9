#!/bin/bash
# test-run-vms.sh VMBATCHD VMBATCH STARTER SCRIPTS [DHCP]
# Two users' VMs derived from one template run at once on the embedded
# default (one host, local backend) inside a network namespace this test
# makes: each guest gets exactly the IP and MAC of --maplist from the DHCP
# server (DHCP = dnsmasq, the default), a real VNC client captures the
# console with the instance's password, the overlay grows while the
# template does not change, and after a stop the mapping, tap and lease
# are gone. Guests run under TCG.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
DHCP=${5:-dnsmasq}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release vncsnapshot openssl getfacl; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done
DHCPD=$(command -v dhcpd || echo /usr/sbin/dhcpd)
[ "$DHCP" = dnsmasq ] || [ -x "$DHCPD" ] || skip_all "dhcpd (isc-dhcp-server) not installed"

T=$(mktemp -d /tmp/vmbatch-run-XXXXXX); chmod 0755 "$T"
NS=vmb-run-$$
cleanup() {
  [ -n "${DHCPD_PID:-}" ] && kill "$DHCPD_PID" 2>/dev/null
  end_node_test "$NS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

use_test_guest
for u in badadmin doraz alex; do ensure_user "$u" || skip_all "cannot create user $u"; done
# storage folders of this run (a user left over from elsewhere may have old discs at home)
for u in doraz alex; do mkdir -p "$T/home/$u" && chown "$u:" "$T/home/$u" && chmod 0755 "$T/home/$u"; done
chmod 0755 "$T/home"
mkdir -p "$T/templates" && chown badadmin: "$T/templates" && chmod 0711 "$T/templates"
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
# VMBATCH_DEMO=1 (the README's main command): show what a user would see
show() { [ "${VMBATCH_DEMO:-0}" = 1 ] && printf '%s\n' "$@" >&2; return 0; }

ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
VMB_PREFIX="ip netns exec $NS"
DHCP_CONF=()
if [ "$DHCP" = omapi ]; then
  # the paper's ISC dhcpd: fixed hosts only (no range), host objects added over OMAPI
  ip -n "$NS" link add vbr0 type bridge && ip -n "$NS" addr add 192.168.100.1/24 dev vbr0 &&
    ip -n "$NS" link set vbr0 up || skip_all "cannot make the bridge for dhcpd"
  SECRET=$(head -c 32 /dev/urandom | base64 -w0)
  mkdir -p "$T/dhcpd"
  cat >"$T/dhcpd/dhcpd.conf" <<CONF
authoritative;
ddns-update-style none;
default-lease-time 3600;
ping-check false;
key omapi_key { algorithm hmac-md5; secret "$SECRET"; };
omapi-port 7911;
omapi-key omapi_key;
subnet 192.168.100.0 netmask 255.255.255.0 { option routers 192.168.100.1; }
CONF
  : >"$T/dhcpd/dhcpd.leases"
  ip netns exec "$NS" "$DHCPD" -4 -f -q -cf "$T/dhcpd/dhcpd.conf" -lf "$T/dhcpd/dhcpd.leases" \
    -pf "$T/dhcpd/dhcpd.pid" vbr0 >"$T/dhcpd/dhcpd.log" 2>&1 &
  DHCPD_PID=$!
  wait_for 10 eval "ip netns exec $NS bash -c 'exec 3<>/dev/tcp/127.0.0.1/7911' 2>/dev/null" ||
    { cat "$T/dhcpd/dhcpd.log"; skip_all "dhcpd did not start"; }
  DHCP_CONF=("omapi_server = 127.0.0.1" "omapi_port = 7911" "omapi_key_name = omapi_key" "omapi_secret = $SECRET")
fi
start_vmbatchd "$T" "admin_user = badadmin" "admin_stordir = $T/templates" "state_dir = $T/state" \
  "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = $DHCP" \
  "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
  "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "${DHCP_CONF[@]}" ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (node role, $DHCP) started in namespace $NS"

v badadmin --init >/dev/null && v badadmin --ugadd --name studs --ugid 10 >/dev/null &&
  v badadmin --uadd --name doraz --uid "$(id -u doraz)" --ug studs --stordir "$T/home/doraz" >/dev/null &&
  v badadmin --uadd --name alex --uid "$(id -u alex)" --ug studs --stordir "$T/home/alex" >/dev/null &&
  v badadmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null
ok $? "setup: init, studs, doraz, alex, lab1"
v badadmin --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
  --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" \
  --cmdline "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1 vmb.hold=-1" >/dev/null &&
  v badadmin --permset +d,+i --ug studs --vm tmpl >/dev/null
ok $? "template from the test guest, derivable by studs, forced isolated"
TDISC=$(ls "$T"/templates/*_tmpl_0.qcow2)
tsum=$(sha256sum <"$TDISC")
v doraz --vmadd --name myvm --base tmpl >/dev/null && v alex --vmadd --name myvm --base tmpl >/dev/null
ok $? "doraz and alex derive myvm"
osize0=$(stat -c %s "$T/home/doraz/$(id -u doraz)_myvm_0.qcow2")

expect_fail "unisolated run refused" "unisolated" -- v doraz --vmrun --vm myvm
out1=$(VMBATCH_RUN_WAIT=120 v doraz --vmrun --vm myvm --isolate 2>&1); rc1=$?
out2=$(VMBATCH_RUN_WAIT=120 v alex --vmrun --vm myvm --isolate 2>&1); rc2=$?
show "" "\$ su doraz; vmapp --vmrun --vm myvm --mem 2G" "$(v doraz --vmrun --vm myvm --mem 2G 2>&1)" \
  "" "\$ su doraz; vmapp --vmrun --vm myvm --mem 2G --isolate" "$out1" "" "\$ su alex; vmapp --vmrun --vm myvm --isolate" "$out2"
[ $rc1 -eq 0 ] && printf '%s\n' "$out1" | grep -q "Your vm is accessible via host $(hostname) vnc port 59[0-9][0-9], display [0-9]"
ok $? "doraz: $(printf '%s' "$out1" | grep accessible)"
[ $rc2 -eq 0 ] && printf '%s\n' "$out2" | grep -q "Your vm is accessible via host"
ok $? "alex: $(printf '%s' "$out2" | grep accessible)"
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] || { diag "$out1" "$out2"; tail -30 "$T/vmbatchd.log" | sed 's/^/# /'; cat "$T"/state/jobs/*.log | sed 's/^/# /'; }

show "" "\$ su badadmin; vmapp --maplist" "$(v badadmin --maplist)"
map=$(v badadmin --json --maplist)
field() { # field INSTANCE_INDEX KEY
  printf '%s' "$map" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[$1]['$2'])"
}
n=$(printf '%s' "$map" | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
[ "$n" = 2 ]; ok $? "--maplist has two running instances"
for i in 0 1; do
  id=$(field $i id); ip=$(field $i ip); mac=$(field $i mac); tap=$(field $i tap); port=$(field $i vnc_port)
  pw=$(field $i vnc_password); state=$(field $i state)
  serial=$T/state/jobs/instance-$id.serial
  [ "$state" = running ]; ok $? "instance $id is running ($ip $mac $tap vnc $port)"
  wait_for 90 grep -q "VMB-LEASE ip=$ip " "$serial"
  ok $? "instance $id: the guest got exactly its mapped IP $ip by DHCP"
  show "instance $id ($ip $mac) serial console: $(grep -m1 VMB-LEASE "$serial")"
  grep "VMB-LEASE" "$serial" | grep -qi "mac=$mac"; ok $? "instance $id: with its mapped MAC $mac"
  ip -n "$NS" -d link show "$tap" 2>/dev/null | grep -q "master vbr0"; ok $? "instance $id: tap $tap is on vbr0"
  wait_for 30 grep -q "VMB-DISK-WRITTEN" "$serial"; ok $? "instance $id: the guest wrote to its disc"
  printf '%s' "$pw" | openssl enc -des-ecb -nopad -K e84ad660c4721ae0 -provider legacy -provider default \
    -in <(printf '%-8.8s' "$pw" | tr ' ' '\0') -out "$T/vncpw-$id" 2>/dev/null
  ip netns exec "$NS" timeout 30 vncsnapshot -quiet -passwd "$T/vncpw-$id" "127.0.0.1::$port" "$T/shot-$id.jpg" >/dev/null 2>&1
  [ -s "$T/shot-$id.jpg" ]; ok $? "instance $id: vncsnapshot captured the console with the instance password"
  [ -n "${VMBATCH_KEEP_SHOTS:-}" ] && cp "$T/shot-$id.jpg" "$VMBATCH_KEEP_SHOTS/" 2>/dev/null
  printf 'wrongpw!' | openssl enc -des-ecb -nopad -K e84ad660c4721ae0 -provider legacy -provider default -out "$T/badpw" 2>/dev/null
  ! ip netns exec "$NS" timeout 30 vncsnapshot -quiet -passwd "$T/badpw" "127.0.0.1::$port" "$T/bad-$id.jpg" >/dev/null 2>&1 || [ ! -s "$T/bad-$id.jpg" ]
  ok $? "instance $id: a wrong VNC password is refused"
done
[ "$(field 0 ip)" != "$(field 1 ip)" ]; ok $? "the two guests have different addresses"
expect_fail "a running vm cannot be started twice (one writer per disc)" "already running" -- \
  env VMBATCH_RUN_WAIT=0 runuser -u doraz -- env VMBATCH_SOCKET="$VMB_SOCK" "$VMAPP" --vmrun --vm myvm --isolate
expect_fail "a template that backs derived vms cannot run" "base of 2 derived" -- v badadmin --vmrun --vm tmpl
osize1=$(stat -c %s "$T/home/doraz/$(id -u doraz)_myvm_0.qcow2")
[ "$osize1" -gt "$osize0" ]; ok $? "doraz's overlay grew ($osize0 -> $osize1 bytes)"
[ "$(sha256sum <"$TDISC")" = "$tsum" ]; ok $? "the template disc did not change"
leases=$(cat "$T"/state/dhcp/*leases* 2>/dev/null)

# suspend and resume (QMP stop / cont)
id0=$(field 0 id); owner0=$(field 0 uid); user0=$(getent passwd "$owner0" | cut -d: -f1)
state_of() { v badadmin --json --maplist | python3 -c "import json,sys; print([i['state'] for i in json.load(sys.stdin) if i['id'] == $1][0])"; }
as "$user0" "$VMAPP_BIN" instance suspend "$id0" >/dev/null && wait_for 10 eval '[ "$(state_of '"$id0"')" = paused ]'
ok $? "instance $id0 suspended: state paused"
expect_fail "a paused instance cannot be suspended again" "not running" -- as "$user0" "$VMAPP_BIN" instance suspend "$id0"
as "$user0" "$VMAPP_BIN" instance resume "$id0" >/dev/null && wait_for 10 eval '[ "$(state_of '"$id0"')" = running ]'
ok $? "instance $id0 resumed: state running"

# stop doraz's vm: powered down over QMP, then everything is freed
id0=$(field 0 id); tap0=$(field 0 tap); ip0=$(field 0 ip)
owner0=$(field 0 uid); user0=$(getent passwd "$owner0" | cut -d: -f1)
v "$user0" --vmstop --instance "$id0" >/dev/null; ok $? "--vmstop instance $id0"
show "" "\$ su $user0; vmapp --vmstop --instance $id0"
gone() { ! v badadmin --json --maplist | grep -q "\"id\": $id0,"; }
wait_for 60 gone; ok $? "instance $id0's mapping is gone after the stop"
show "" "\$ su badadmin; vmapp --maplist" "$(v badadmin --maplist)"
! ip -n "$NS" link show "$tap0" >/dev/null 2>&1; ok $? "its tap $tap0 is gone"
if [ "$DHCP" = omapi ]; then
  # dhcpd records the OMAPI host object, then its deletion, in its leases file
  grep -q "host vm$id0" "$T/dhcpd/dhcpd.leases"; ok $? "dhcpd recorded host vm$id0 (added over OMAPI)"
  awk -v h="host vm$id0 " 'index($0, h) == 1 {b = 1; d = 0} b && /deleted;/ {d = 1} b && /^}/ {b = 0} END {exit !d}' \
    "$T/dhcpd/dhcpd.leases"; ok $? "host vm$id0 was deleted from dhcpd over OMAPI"
else
  ! grep -rqs "$ip0" "$T"/state/dhcp/hosts; ok $? "its fixed lease is gone from the DHCP hosts"
  ! grep -qs " $ip0 " "$T"/state/dhcp/*leases*; ok $? "its lease was released"
fi
grep -q "VMB-POWERBUTTON" "$T/state/jobs/instance-$id0.serial" 2>/dev/null; ok $? "the guest saw the ACPI power button"

# the other one: kill its starter with SIGKILL: qemu dies with it, all freed
id1=$(field 1 id); tap1=$(field 1 tap); job1=$(field 1 job_id)
kill -9 "${job1%%:*}"; ok $? "SIGKILL the starter of instance $id1 (pid ${job1%%:*})"
gone1() { ! v badadmin --json --maplist | grep -q "\"id\": $id1,"; }
wait_for 30 gone1; ok $? "instance $id1's mapping is gone"
wait_for 10 eval "! ip -n $NS link show $tap1 >/dev/null 2>&1"; ok $? "its tap is gone"
# its qemu (PDEATHSIG) is found by its QMP socket path, unique to this run
wait_for 10 eval '! pgrep -f "$T/state/run/instance-$id1/" >/dev/null'; ok $? "its qemu is gone"
[ ! -e "$T/state/run/instance-$id1" ]; ok $? "its runtime directory (QMP socket) is gone"

# a vm run by someone its owner lets run it: the runner's qemu gets the
# owner's disc as an fd the node opened as the owner; the runner never gets
# access to the file itself (no ACL), isolation still forced
DDISC="$T/home/doraz/$(id -u doraz)_myvm_0.qcow2"
v doraz --permset +r --u alex --vm 1002 >/dev/null; ok $? "doraz lets alex run vm 1002"
expect_fail "alex must isolate doraz's forced vm too" "unisolated" -- v alex --vmrun --vm 1002
VMBATCH_RUN_WAIT=120 v alex --vmrun --vm 1002 --isolate >/dev/null; ok $? "alex runs doraz's vm 1002 isolated"
! getfacl -p "$DDISC" 2>/dev/null | grep -q "^user:alex:"; ok $? "alex has no ACL entry on doraz's disc while it runs"
! runuser -u alex -- head -c1 "$DDISC" >/dev/null 2>&1; ok $? "... and cannot read it by hand"
ida=$(v alex --json --maplist | python3 -c "import json,sys; print([i['id'] for i in json.load(sys.stdin) if i['vm'] == 1002][0])")
wait_for 90 grep -q "VMB-LEASE" "$T/state/jobs/instance-$ida.serial"; ok $? "that guest got its lease"
v alex --vmstop --instance "$ida" >/dev/null
goneA() { ! v badadmin --json --maplist | grep -q "\"id\": $ida,"; }
wait_for 60 goneA; ok $? "stopped and freed"
! getfacl -p "$DDISC" 2>/dev/null | grep -q "^user:alex:"; ok $? "still no ACL entry for alex on doraz's disc"

# install an operating system from a CD onto a new empty disc (the paper's --install)
VMBATCH_GUEST_DIR=$GUEST "$SCRIPTS/build-test-iso.sh" "$T/iso" >/dev/null 2>"$T/iso.log"
ok $? "built a bootable installer ISO"
chmod 0755 "$T/iso" && chmod 0644 "$T/iso/install.iso"
v badadmin --vmadd --name fresh --vmg lab1 --stor 16M --mem 128M >/dev/null; ok $? "--vmadd fresh with a new empty 16M disc"
VMBATCH_RUN_WAIT=0 v badadmin --vmrun --vm fresh --install --cdrom "$T/iso/install.iso" >/dev/null
ok $? "--vmrun --vm fresh --install --cdrom install.iso"
idi=$(v badadmin --json --maplist | python3 -c "import json,sys; print(max(i['id'] for i in json.load(sys.stdin)))")
wait_for 90 grep -q "VMB-INSTALLED" "$T/state/jobs/instance-$idi.serial"; ok $? "the installer ran from the CD and wrote the disc"
goneI() { ! v badadmin --json --maplist | grep -q "\"id\": $idi,"; }
wait_for 30 goneI; ok $? "the installer powered off and its instance was freed"
v badadmin --vmmod --vm fresh --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" \
  --cmdline "console=ttyS0 quiet panic=-1 vmb.net=0 vmb.disk=1 vmb.hold=0" >/dev/null &&
  VMBATCH_RUN_WAIT=0 v badadmin --vmrun --vm fresh >/dev/null
idb=$(v badadmin --json --maplist | python3 -c "import json,sys; print(max(i['id'] for i in json.load(sys.stdin)))")
wait_for 90 grep -q "VMB-DISK base=installed" "$T/state/jobs/instance-$idb.serial"
ok $? "booting the installed disc finds what the installer wrote"
goneB() { ! v badadmin --json --maplist | grep -q "\"id\": $idb,"; }
wait_for 30 goneB; ok $? "that vm powered itself off and was freed"
# a vm still booting ignores the power button: stop --force kills it at once
out=$(as doraz "$VMAPP_BIN" vm run myvm --isolate --no-wait 2>&1); ok $? "vm run --no-wait returns at once: $(printf '%s' "$out" | head -1)"
idf=$(v badadmin --json --maplist | python3 -c "import json,sys; print(max(i['id'] for i in json.load(sys.stdin)))")
wait_for 30 eval '[ "$(state_of '"$idf"')" = running ]'; ok $? "instance $idf runs"
t0=$(date +%s%N)
as doraz "$VMAPP_BIN" vm stop --instance "$idf" --force >/dev/null
goneF() { ! v badadmin --json --maplist | grep -q "\"id\": $idf,"; }
wait_for 10 goneF; ok $? "stop --force: freed in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
grep -q "instance $idf of vm .* ended (killed by its owner (stop --force)" "$T/vmbatchd.log"; ok $? "... because its owner killed it"
# the daemon is SIGKILLed while two vms run; one of them dies while it is
# down: after the restart, reconciliation leaves exactly the live one's
# filters, lease and mapping, and the live one's starter re-attaches
if [ "$DHCP" = dnsmasq ]; then
  VMBATCH_RUN_WAIT=120 v doraz --vmrun --vm myvm --isolate >/dev/null &&
    VMBATCH_RUN_WAIT=120 v alex --vmrun --vm myvm --isolate >/dev/null
  ok $? "two vms running again"
  map=$(v badadmin --json --maplist)
  live=$(printf '%s' "$map" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[-2]['id'])")
  dead=$(printf '%s' "$map" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[-1]['id'])")
  deadjob=$(printf '%s' "$map" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[-1]['job_id'].split(':')[0])")
  # the per-VM sets (not iso_bcast: its dynamic entries expire by themselves)
  nftset() { for set in vm_mac vm_ip4 isolated; do ip netns exec "$NS" nft list set bridge vmbatch $set 2>/dev/null; done; }
  nftset | grep -q "\"vmb$live\"" && nftset | grep -q "\"vmb$dead\""; ok $? "both have isolation rules"
  kill -9 "$VMB_PID"; wait "$VMB_PID" 2>/dev/null; VMB_PID=
  kill -9 "$deadjob"; ok $? "vmbatchd SIGKILLed, then instance $dead's starter too"
  wait_for 10 eval '! pgrep -f "$T/state/run/instance-$dead/" >/dev/null'
  nftset | grep -q "\"vmb$dead\""; ok $? "while the daemon is down, the dead vm's rules are still there"
  rm -f "$VMB_SOCK"
  start_vmbatchd "$T" "admin_user = badadmin" "admin_stordir = $T/templates" "state_dir = $T/state" \
    "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = $DHCP" \
    "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
    "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "${DHCP_CONF[@]}"
  ok $? "vmbatchd restarted"
  deadgone() { ! v badadmin --json --maplist | grep -q "\"id\": $dead,"; }
  wait_for 30 deadgone; ok $? "reconcile ended instance $dead (its monitor did not come back)"
  wait_for 15 eval '! nftset | grep -q "\"vmb$dead\""'; ok $? "its isolation rules are gone"
  nftset | grep -q "\"vmb$live\""; ok $? "the live vm's rules stay"
  [ "$(state_of "$live")" = running ]; ok $? "the live vm is still running (its starter re-attached)"
  ! grep -rqs "vm$dead" "$T"/state/dhcp/hosts; ok $? "the dead vm's lease is gone, the live one's stays: $(ls "$T"/state/dhcp/hosts | tr '\n' ' ')"
  v doraz --vmstop --instance "$live" >/dev/null
  livegone() { ! v badadmin --json --maplist | grep -q "\"id\": $live,"; }
  wait_for 60 livegone; ok $? "the live vm stops normally after the restart"
  wait_for 15 eval '! nftset | grep -q "\"vmb$live\""'; ok $? "and its rules go with it"
fi
tap_done
