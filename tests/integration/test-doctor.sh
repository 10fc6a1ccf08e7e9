#!/bin/bash
# test-doctor.sh VMBATCHD VMBATCH - `vmbatch doctor` and `vmbatchd --check` on
# this host, as root, with a config and folders of the test's own:
#   - KVM is reported as it is here: without vmx/svm in /proc/cpuinfo
#     (MACHINE.md: kvm_pvm) a warn with the reason and that guests run under
#     TCG; the host's pieces pass (exit 0);
#   - a PATH with no dnsmasq: dhcp fails naming dnsmasq and the package;
#   - a storage folder with the wrong owner and mode, the socket's folder
#     closed to others: named, with the chown/chmod line;
#   - --json parses and has the same verdicts as the text;
#   - vmbatchd --check gives the same verdicts (and --json);
#   - a running vmbatchd (node = no: a unix socket, nothing else) answers the
#     socket check; a damaged database copy fails integrity_check;
#   - --node with a controller nobody listens on (loopback) fails.
# The probes that make a bridge and a tap do it in a scratch network namespace
# of vmbatch doctor's own child, which dies with it.
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1")
VMBATCH=$(realpath "$2")
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

[ "$(id -u)" -eq 0 ] || skip_all "needs root (vmbatch doctor as vmbatchd sees the host)"
require_host_features
for t in python3 qemu-system-x86_64 qemu-img dnsmasq; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

T=$(mktemp -d /tmp/vmbatch-doctor-XXXXXX)
DPID=
cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 0755 "$T"
mkdir -m 0755 "$T/state" "$T/state/jobs" "$T/state/run" "$T/state/dhcp" "$T/run" "$T/db"
CONF=$T/vmbatch.conf
cat >"$CONF" <<EOF
socket = $T/run/vmbatchd.sock
database = $T/db/vmbatch.db
state_dir = $T/state
bridge = vmbdoctest0
accel = auto
dhcp_backend = dnsmasq
EOF

# doctor ARGS...: $OUT (text), $RC
doctor() { OUT=$("$VMBATCH" doctor "$@" 2>&1); RC=$?; }
# line CHECK: the item's line and its fix line
line() { printf '%s\n' "$OUT" | grep -A1 -E "^(ok|warn|fail) +$1 " | head -2; }
# verdicts: "check status" per item, from the text on stdin
verdicts() { sed -nE 's/^(ok|warn|fail) +([^ ]+) .*/\2 \1/p'; }
# json_verdicts: the same from a JSON report on stdin (and that it is one)
json_verdicts() {
  python3 -c '
import json, sys
a = json.load(sys.stdin)
assert isinstance(a, list) and a
for x in a:
    assert set(x) == {"check", "status", "detail", "fix"}, x
    assert x["status"] in ("ok", "warn", "fail"), x
    assert (x["fix"] is None) == (x["status"] == "ok"), x
    print(x["check"], x["status"])'
}

# ---- this host as it is
doctor --config "$CONF"
ok $RC "doctor: no check fails on this host (rc $RC)"
[ $RC -eq 0 ] || diag "$OUT"
KVM=$(line kvm)
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
  echo "ok $((tap_n += 1)) - kvm: unusable here, TCG # SKIP this host's CPU shows vmx/svm"
  echo "ok $((tap_n += 1)) - kvm: the fix # SKIP this host's CPU shows vmx/svm"
else
  printf '%s\n' "$KVM" | head -1 | grep -qE '^warn +kvm +.*neither vmx nor svm.*guests run under TCG'
  ok $? "kvm: warn, no vmx/svm, guests run under TCG"
  printf '%s\n' "$KVM" | tail -1 | grep -qE '^ +fix: .*vmx or svm.*accel = tcg'; r=$?
  ok $r "kvm: the fix names vmx/svm and accel = tcg"
  [ $r -eq 0 ] || diag "$KVM"
fi
if [ -e /dev/kvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
  printf '%s\n' "$KVM" | grep -q 'KVM_CREATE_VM works'
  ok $? "kvm: /dev/kvm measured (KVM_CREATE_VM works, as MACHINE.md says)"
fi
for c in tun bridge nft qemu qemu-img dhcp; do
  line "$c" | head -1 | grep -qE "^ok +$c "
  ok $? "$c: ok here"
done
line dhcp | grep -q 'dnsmasq [0-9]'
ok $? "dhcp: dnsmasq and its version"
line qemu | grep -qE 'qemu-system-x86_64 [0-9]+\.[0-9]+.*accelerators: tcg'
ok $? "qemu: the configured binary, its version, tcg"
line socket | grep -qE '^warn +socket +no socket at .*vmbatchd is not running'
ok $? "socket: warn, vmbatchd not running"
line state_dir | grep -qE "^ok +state_dir +$T/state .*: 0755 root"
ok $? "state_dir: 0755 root"
ip link show vmbdoctest0 >/dev/null 2>&1
ok $(( ! $? )) "no bridge was left in this namespace"

# ---- (a) no dnsmasq on PATH
mkdir "$T/bin"
for t in qemu-system-x86_64 qemu-img ebtables-nft nft dhcp_release; do
  p=$(command -v "$t") && ln -s "$p" "$T/bin/$t"
done
OUT=$(PATH=$T/bin "$VMBATCH" doctor --config "$CONF" 2>&1); RC=$?
ok $(( RC != 1 )) "no dnsmasq: exit 1 (rc $RC)"
line dhcp | head -1 | grep -qE '^fail +dhcp +dhcp_backend = dnsmasq: dnsmasq is not on PATH'
ok $? "no dnsmasq: dhcp fails naming dnsmasq"
line dhcp | tail -1 | grep -qE '^ +fix: apt-get install dnsmasq-base'; r=$?
ok $r "no dnsmasq: the fix installs dnsmasq-base"
[ $r -eq 0 ] || diag "$(line dhcp)"

# ---- (b) a folder with the wrong owner and mode; the socket's folder closed
chown 65534 "$T/state/jobs"; chmod 0777 "$T/state/jobs"
chmod 0700 "$T/run"
doctor --config "$CONF"
TEXT_B=$OUT RC_B=$RC
ok $(( RC != 1 )) "bad folders: exit 1 (rc $RC)"
line state_dir/jobs | head -1 | grep -qE "^fail +state_dir/jobs +$T/state/jobs .*owned by .*not root; others may write to it"
ok $? "state_dir/jobs: named, wrong owner and mode"
line state_dir/jobs | tail -1 | grep -qxE " +fix: chown root:root $T/state/jobs && chmod 0755 $T/state/jobs"; r=$?
ok $r "state_dir/jobs: the chown and chmod line"
[ $r -eq 0 ] || diag "$(line state_dir/jobs)"
line runtime_dir | grep -qE "^fail +runtime_dir +$T/run .*lacks 0001"
ok $? "runtime_dir 0700: users cannot reach the socket"
line runtime_dir | tail -1 | grep -qxE " +fix: chmod 0701 $T/run"
ok $? "runtime_dir: the chmod line"

# ---- (c) --json: the same verdicts
J=$("$VMBATCH" doctor --config "$CONF" --json); RC=$?
ok $(( RC != RC_B )) "--json: the same exit status ($RC)"
JV=$(printf '%s\n' "$J" | json_verdicts); jrc=$?
ok $jrc "--json parses: an array of {check, status, detail, fix}"
[ "$JV" = "$(printf '%s\n' "$TEXT_B" | verdicts)" ]
ok $? "--json: the same checks and verdicts as the text"
J2=$("$VMBATCH" --json doctor --config "$CONF" | json_verdicts)
[ "$J2" = "$JV" ]
ok $? "vmbatch --json doctor: the same"

# ---- (d) vmbatchd --check: the same verdicts
D=$("$VMBATCHD" --check -c "$CONF" 2>&1); RC=$?
ok $(( RC != RC_B )) "vmbatchd --check: the same exit status ($RC)"
[ "$(printf '%s\n' "$D" | verdicts)" = "$(printf '%s\n' "$TEXT_B" | verdicts)" ]; r=$?
ok $r "vmbatchd --check: the same checks and verdicts"
[ $r -eq 0 ] || diag "$D"
printf '%s\n' "$D" | grep -qxE " +fix: chown root:root $T/state/jobs && chmod 0755 $T/state/jobs"
ok $? "vmbatchd --check: the same fix line"
DJ=$("$VMBATCHD" --check --json -c "$CONF" | json_verdicts)
[ "$DJ" = "$JV" ]
ok $? "vmbatchd --check --json: the same"

# ---- a running daemon (controller only: its socket and database, nothing more)
chown 0 "$T/state/jobs"; chmod 0755 "$T/state/jobs" "$T/run"
CONF2=$T/control.conf
printf 'socket = %s\nstate_dir = %s\ndatabase = %s\nnode = no\ndhcp_backend = none\n' \
  "$T/run/vmbatchd.sock" "$T/state" "$T/db/vmbatch.db" >"$CONF2"
"$VMBATCHD" -c "$CONF2" 2>>"$T/vmbatchd.log" &
DPID=$!
wait_for 10 test -S "$T/run/vmbatchd.sock"
doctor --config "$CONF2"
line socket | grep -qE "^ok +socket +vmbatchd [0-9.]+ answers a ping at $T/run/vmbatchd.sock"
ok $? "socket: vmbatchd answers a ping"
line database | grep -qE "^warn +database +$T/db/vmbatch.db: integrity ok, schema [0-9]+, 0600 root; not initialised"
ok $? "database: read-only integrity check ok, not initialised yet"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
cp "$T/db/vmbatch.db" "$T/bad.db"
python3 -c 'import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096); f.write(os.urandom(65536))' "$T/bad.db"
D=$("$VMBATCHD" --check -c "$CONF2" --database "$T/bad.db" 2>&1); RC=$?
printf '%s\n' "$D" | grep -A1 -E '^fail +database ' | grep -qE "fix: restore $T/bad.db from a backup"
ok $? "a damaged database: fail, restore from a backup"
ok $(( RC != 1 )) "a damaged database: exit 1"

# ---- --node: the controller's address (loopback, nobody listens)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'controller = 127.0.0.1:%s\n' "$PORT" >>"$CONF"
doctor --config "$CONF" --node
line controller | grep -qE "^fail +controller +cannot connect to 127.0.0.1:$PORT: Connection refused"
ok $? "--node: an unreachable controller fails"
printf '%s\n' "$OUT" | grep -qE '^(ok|warn|fail) +(database|dhcp|qemu-img) '
ok $(( ! $? )) "--node: no controller checks (database, dhcp, qemu-img)"
printf '%s\n' "$OUT" | grep -qE '^(ok|fail) +munge '
ok $? "--node: munge checked"

tap_done
