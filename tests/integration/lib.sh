# lib.sh - shared helpers for the integration tests (source me).
# TAP output; a test that cannot run here prints "1..0 # SKIP reason" and
# exits $VMBATCH_SKIP_EXIT (meson's TAP runner wants 0; 77 by default).

tap_n=0
tap_failed=0
ok() { # ok COND-EXIT-STATUS "name"
  tap_n=$((tap_n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2"; else echo "not ok $tap_n - $2"; tap_failed=$((tap_failed + 1)); fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit "${VMBATCH_SKIP_EXIT:-77}"; }
tap_done() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

# require_host_features: what the kernel must have and install-deps.sh cannot
# install (network namespaces, /dev/net/tun, bridges, the nftables bridge
# family that both filter backends use); the test is skipped, with the
# missing piece as the reason, when one is not there. Needs root.
require_host_features() {
  local ns=vmb-feat-$$
  command -v nft >/dev/null || skip_all "nft not installed (nftables)"
  [ -c /dev/net/tun ] || skip_all "the kernel has no /dev/net/tun (CONFIG_TUN)"
  ip netns add "$ns" 2>/dev/null || skip_all "cannot create a network namespace (CONFIG_NET_NS)"
  local why=
  ip -n "$ns" link add vmbfeatbr type bridge 2>/dev/null || why="no bridge devices (CONFIG_BRIDGE)"
  [ -n "$why" ] || ip netns exec "$ns" nft -f - 2>/dev/null <<'NFT' || why="no nftables bridge family (CONFIG_NF_TABLES_BRIDGE)"
add table bridge vmbfeat
add chain bridge vmbfeat c { type filter hook prerouting priority -300; }
NFT
  ip netns del "$ns" 2>/dev/null
  [ -z "$why" ] || skip_all "the kernel has $why"
}

# expect_out "name" PATTERN -- command...   (extended regex over stdout+stderr)
expect_out() {
  local name=$1 pat=$2; shift 3
  local out
  out=$("$@" 2>&1)
  if printf '%s\n' "$out" | grep -Eq -- "$pat"; then ok 0 "$name"; else ok 1 "$name"; diag "wanted /$pat/, got:" "$out"; fi
}
# expect_fail "name" PATTERN -- command...   (non-zero exit and message)
expect_fail() {
  local name=$1 pat=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -Eq -- "$pat"; then ok 0 "$name"; else ok 1 "$name"; diag "wanted failure /$pat/, rc=$rc, got:" "$out"; fi
}

# Create a system user if missing; remember it so cleanup removes only ours.
CREATED_USERS=()
ensure_user() {
  local u=$1
  if ! id "$u" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$u" || return 1
    CREATED_USERS+=("$u")
  fi
}
remove_created_users() {
  local u
  for u in "${CREATED_USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1 || true; done
}

# start_vmbatchd DIR [extra config lines...]: private daemon, config, socket.
start_vmbatchd() {
  local dir=$1; shift
  VMB_CONF=$dir/vmbatch.conf
  VMB_SOCK=$dir/vmbatchd.sock
  { echo "socket = $VMB_SOCK"; echo "database = $dir/db/vmbatch.db"; printf '%s\n' "$@"; } >"$VMB_CONF"
  ${VMB_PREFIX:-} "$VMBATCHD" -c "$VMB_CONF" --pidfile "$dir/vmbatchd.pid" 2>>"$dir/vmbatchd.log" &
  VMB_PID=$!
  local i
  for i in $(seq 1 100); do [ -S "$VMB_SOCK" ] && return 0; sleep 0.05; done
  return 1
}
stop_vmbatchd() {
  [ -n "${VMB_PID:-}" ] || return 0
  kill "$VMB_PID" 2>/dev/null
  wait "$VMB_PID" 2>/dev/null
  VMB_PID=
}
# end_node_test NAMESPACE: the end of a test that ran one vmbatchd with the state
# in $T/state and its guests in NAMESPACE: the daemon, the starters and qemus
# (by the pids their jobs recorded), whatever else runs in the namespace, the
# namespace, the users this test made, $T.
# end_daemon_runs: the end of a test that made several daemon runs, each
# with its state in $T/RUN/state, in the namespaces it listed in NAMESPACES:
# the daemon, every starter (by the pids the runs recorded), whatever is left
# in those namespaces, the namespaces.
end_daemon_runs() {
  local p ns
  stop_vmbatchd
  for p in $(cat "$T"/*/state/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  for ns in "${NAMESPACES[@]}"; do
    ip netns pids "$ns" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}
end_node_test() {
  local ns=$1 p
  stop_vmbatchd
  for p in $(cat "$T"/state/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  ip netns pids "$ns" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  remove_created_users
  rm -rf "$T"
}
# begin_node_test NAME PROGRAM...: the start of a test with VMBATCHD VMBATCH
# STARTER SCRIPTS as its arguments that runs one vmbatchd (node role) and
# guests in a network namespace of its own: needs root, the host's features
# and the programs (else skipped); makes $T and $NS (vmb-NAME-PID, removed with
# everything else by end_node_test at exit), the test guest, the paper's
# users with folders /home/USER/vmb-NAME-PID ($D is doraz's), $VMAPP and v().
# VMB_TEST_USERS="ADMIN STUDENT1 STUDENT2" names other users than the paper's
# badadmin doraz alex (a test that runs beside those that use them); $D is
# then STUDENT1's folder and NODE_ADMIN the daemon's admin_user.
begin_node_test() {
  local name=$1 t; shift
  [ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, taps, users)"
  require_host_features
  for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release getfacl "$@"; do
    command -v "$t" >/dev/null || skip_all "$t not installed"
  done
  T=$(mktemp -d "/tmp/vmbatch-$name-XXXXXX"); chmod 0755 "$T"
  NS=vmb-$name-$$
  trap 'end_node_test "$NS"' EXIT
  trap 'exit 130' INT TERM
  use_test_guest
  local users
  read -r -a users <<<"${VMB_TEST_USERS:-badadmin doraz alex}"
  NODE_ADMIN=${users[0]}
  use_paper_users "${users[@]}" "vmb-$name-$$"
  D=/home/${users[1]}/vmb-$name-$$
  use_vmapp
  ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
  VMB_PREFIX="ip netns exec $NS"
}
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
# start_node_vmbatchd [CONFIG LINE...]: the daemon of a begin_node_test test:
# bridge vbr0 192.168.100.1/24, dnsmasq, TCG guests, VNC on loopback.
start_node_vmbatchd() {
  start_vmbatchd "$T" "admin_user = ${NODE_ADMIN:-badadmin}" "admin_stordir = $T/templates" "state_dir = $T/state" \
    "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
    "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
    "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "$@"
}
# guest_template STUDENT STORDIR CMDLINE: against a fresh daemon ($VMAPP), as
# badadmin (begin_node_test's NODE_ADMIN): init, group studs (10), STUDENT in it with STORDIR, vm group lab1
# (192.168.100.2-254), and the template tmpl from the test guest ($T/guest,
# 128M, that kernel command line) that studs may derive.
guest_template() {
  local s=$1 dir=$2 cmdline=$3
  : "${NODE_ADMIN:=badadmin}"
  as "$NODE_ADMIN" "$VMAPP" --init >/dev/null && as "$NODE_ADMIN" "$VMAPP" --ugadd --name studs --ugid 10 >/dev/null &&
    as "$NODE_ADMIN" "$VMAPP" --uadd --name "$s" --uid "$(id -u "$s")" --ug studs --stordir "$dir" >/dev/null &&
    as "$NODE_ADMIN" "$VMAPP" --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null &&
    as "$NODE_ADMIN" "$VMAPP" --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
      --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$cmdline" >/dev/null &&
    as "$NODE_ADMIN" "$VMAPP" --permset +d --ug studs --vm tmpl >/dev/null
}
# as USER command... : run a CLI command as a system user against our daemon
as() { local u=$1; shift; runuser -u "$u" -- env VMBATCH_SOCKET="$VMB_SOCK" "$@"; }

# rpc_as USER OP ARGS-JSON: one raw request to our daemon as a system user
# (an op the CLI has no verb for, e.g. the gateway's console.activity); prints
# the answer object ({"ok": ..., "data"|"error": ...})
rpc_as() {
  runuser -u "$1" -- python3 -c 'import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
b = json.dumps({"op": sys.argv[2], "args": json.loads(sys.argv[3])}).encode()
s.sendall(struct.pack(">I", len(b)) + b)
f = s.makefile("rb"); n = struct.unpack(">I", f.read(4))[0]
print(f.read(n).decode())' "$VMB_SOCK" "$2" "$3"
}

# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds
wait_for() {
  local t=$1; shift
  local i
  for i in $(seq 1 $((t * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}

# use_test_guest: build the test guest (or reuse VMBATCH_GUEST_DIR) with
# $SCRIPTS/build-test-guest.sh and copy its kernel, initrd and disc to
# $T/guest, readable by everyone; sets GUEST. Skips the test without it.
use_test_guest() {
  GUEST=${VMBATCH_GUEST_DIR:-$T/guest-build}
  "$SCRIPTS/build-test-guest.sh" "$GUEST" >/dev/null 2>"$T/guest-build.log" ||
    { cat "$T/guest-build.log"; skip_all "cannot build the test guest"; }
  mkdir -p "$T/guest" && cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$GUEST/base.qcow2" "$T/guest/" &&
    chmod 0644 "$T"/guest/* && chmod 0755 "$T/guest"
}

# use_exam_template: after use_test_guest, $T/guest/exam.qcow2, the test
# guest's disc with a /vmb-probe (the guest's vmb.probe=exam) that writes
# answer.txt ("exam-answer ip=IP mac=MAC n=0") with the guest's own address,
# syncs, prints VMB-ANSWER-WRITTEN and VMB-READY (a warm exam's marker), then a
# heartbeat (VMB-HB) on the serial console every 0.2 s and, every second,
# answer.txt again with a counter n (VMB-ANSWER n=N): what it holds when sealed
# says how long the guest ran. The disc is mounted a second time at /exam for
# that: the guest's /init unmounts /mnt once the probe returns. The exams'
# tests' and bench-exam's template. Skips the test when debugfs cannot write it.
use_exam_template() {
  cp "$GUEST/disk.raw" "$T/exam.raw"
  cat >"$T/probe.sh" <<'PROBE'
echo "exam-answer ip=$VMB_IP mac=$VMB_MAC n=0" > /mnt/answer.txt
sync
echo "VMB-ANSWER-WRITTEN ip=$VMB_IP"
mkdir -p /exam && mount -t ext2 /dev/vda /exam || echo "VMB-EXAM-MOUNT-FAIL"
echo "VMB-READY"
cat > /tmp/hb.sh <<HB
i=0; n=0
while :; do
  echo "VMB-HB \$(cut -d" " -f1 /proc/uptime)"
  i=\$((i + 1))
  if [ \$((i % 5)) = 0 ]; then
    n=\$((n + 1)); echo "exam-answer ip=$VMB_IP mac=$VMB_MAC n=\$n" > /exam/answer.txt; sync; echo "VMB-ANSWER n=\$n"
  fi
  sleep 0.2
done
HB
sh /tmp/hb.sh </dev/null &
PROBE
  debugfs -w -R "write $T/probe.sh vmb-probe" "$T/exam.raw" >/dev/null 2>&1 &&
    qemu-img convert -O qcow2 "$T/exam.raw" "$T/guest/exam.qcow2" && rm -f "$T/exam.raw" ||
    skip_all "cannot make the exam template's disc"
  chmod 0644 "$T"/guest/*; chmod 0755 "$T/guest"
}

# exam_setup ADMIN UG UGID DISC CMDLINE STUDENT:STORDIR...: against a fresh
# daemon ($VMAPP), as ADMIN: init, user group UG (UGID) with each STUDENT
# (her storage folder STORDIR), vm group lab1 (192.168.100.2-254) and the
# derivable template tmpl (DISC, 128M, the test guest's kernel and initrd,
# CMDLINE): what the exams' tests and bench-exam sit an exam of.
exam_setup() {
  local a=$1 ug=$2 ugid=$3 disc=$4 cmdline=$5 s; shift 5
  as "$a" "$VMAPP" --init >/dev/null && as "$a" "$VMAPP" --ugadd --name "$ug" --ugid "$ugid" >/dev/null || return 1
  for s in "$@"; do
    as "$a" "$VMAPP" --uadd --name "${s%%:*}" --uid "$(id -u "${s%%:*}")" --ug "$ug" --stordir "${s#*:}" >/dev/null ||
      return 1
  done
  as "$a" "$VMAPP" --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 >/dev/null &&
    as "$a" "$VMAPP" --vmadd --name tmpl --vmg lab1 --usediscs "$disc" --derivable --mem 128M \
      --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$cmdline" >/dev/null
}
# EXAM_CMDLINE: the kernel command line of use_exam_template's guest
EXAM_CMDLINE="console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1 vmb.probe=exam vmb.hold=-1"
# pyj PYTHON: PYTHON with m, the JSON on stdin (exit 1 when it is none)
pyj() { python3 -c "import json,sys
try: m=json.load(sys.stdin)
except Exception: sys.exit(1)
$1"; }

# use_vmapp: $T/bin/vmapp, a link to the CLI $VMAPP_BIN (the name selects the
# paper's syntax); sets VMAPP.
use_vmapp() {
  mkdir -p "$T/bin" && ln -s "$VMAPP_BIN" "$T/bin/vmapp" && chmod 0755 "$T/bin"
  VMAPP=$T/bin/vmapp
}

# use_paper_users ADMIN STUDENT1 STUDENT2 DIR: the paper's three users (made
# if missing); each student's storage folder /home/STUDENT/DIR belongs to this
# run only (other tests may use the same users at once); the admin's template
# folder is $T/templates. Skips the test when a user cannot be made.
use_paper_users() {
  local admin=$1 s1=$2 s2=$3 dir=$4 u
  for u in "$admin" "$s1" "$s2"; do ensure_user "$u" || skip_all "cannot create user $u"; done
  chmod 0755 "/home/$s1" "/home/$s2"
  for u in "$s1" "$s2"; do
    install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "/home/$u/$dir" || skip_all "cannot make /home/$u/$dir"
  done
  mkdir -p "$T/templates" && chown "$admin": "$T/templates" && chmod 0711 "$T/templates"
}

# ---- the browser tests (test-browser-console.sh, test-console-wall.sh)
# browser_test_args USAGE VMBATCHD VMBATCH STARTER SCRIPTS VMBATCH_WEB WEB_DIR:
# those as absolute paths, HERE (the tests' folder), VMAPP_BIN, NOVNC and PY
# (a python3 with python3-websocket and python3-pil, Debian's first); skips
# the test without PY or noVNC.
browser_test_args() {
  local usage=$1 p; shift
  VMBATCHD=$(realpath "$1"); VMBATCH=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
  WEB=$(realpath "${5:?usage: $usage}")
  WEB_DIR=$(realpath "${6:?usage: $usage}")
  HERE=$(realpath "$(dirname "$0")")
  VMAPP_BIN=$VMBATCH
  NOVNC=/usr/share/novnc
  PY=
  for p in /usr/bin/python3 python3; do
    "$p" -c 'import websocket, PIL' 2>/dev/null && { PY=$p; break; }
  done
  [ -n "$PY" ] || skip_all "no python3 with python3-websocket and python3-pil"
  [ -f "$NOVNC/core/rfb.js" ] || skip_all "noVNC is not installed (package novnc)"
  WEB_PID=; CHROME_PID=
}
# end_browser_test: the browser, the gateway, then end_node_test "$NS"
end_browser_test() {
  [ -n "${CHROME_PID:-}" ] && kill "$CHROME_PID" 2>/dev/null && wait "$CHROME_PID" 2>/dev/null
  [ -n "${WEB_PID:-}" ] && kill "$WEB_PID" 2>/dev/null && wait "$WEB_PID" 2>/dev/null
  end_node_test "$NS"
}
# start_test_gateway WEB WEB_DIR PORT WEBUSER: vmbatch-web in $NS on
# 127.0.0.1:PORT under /console for $VMB_SOCK; started as root it opens the
# port and makes its certificate in $T/web, then runs as WEBUSER. Sets
# WEB_PID (log: $T/web.log); fails unless it listens within 10 s as WEBUSER.
start_test_gateway() {
  local web=$1 dir=$2 port=$3 user=$4
  ip netns exec "$NS" "$web" --config /dev/null --listen "127.0.0.1:$port" --path /console --novnc "$NOVNC" \
    --web-dir "$dir" --socket "$VMB_SOCK" --state "$T/web" --user "$user" >>"$T/web.log" 2>&1 &
  WEB_PID=$!
  wait_for 10 ip netns exec "$NS" "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null &&
    [ "$(awk '/^Uid:/ {print $2}' "/proc/$WEB_PID/status")" = "$(id -u "$user")" ]
}
# start_test_browser CDP: headless Chromium in $NS with only that loopback
# and nothing of Google's; it trusts exactly the gateway's self-signed key
# (its SPKI hash), nothing else; DevTools on 127.0.0.1:CDP. Sets CHROME_PID
# (log: $T/chromium.log); fails unless DevTools answers within 30 s.
start_test_browser() {
  local cdp=$1 spki
  spki=$(openssl x509 -in "$T/web/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
  mkdir -p "$T/chrome-home"
  ip netns exec "$NS" env HOME="$T/chrome-home" chromium --headless=new --no-sandbox --disable-gpu \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-default-apps \
    --metrics-recording-only --no-default-browser-check --disable-dev-shm-usage \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --user-data-dir="$T/chrome-profile" \
    --ignore-certificate-errors-spki-list="$spki" --remote-debugging-address=127.0.0.1 --remote-debugging-port="$cdp" \
    --window-size=760,440 about:blank >"$T/chromium.log" 2>&1 &
  CHROME_PID=$!
  wait_for 30 ip netns exec "$NS" "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$cdp/json/version', timeout=1)" 2>/dev/null
}
# tap_scenario FILE: a browser scenario's output (vmbconsole.check's PASS and
# FAIL lines, SHOT paths, DONE at its end) as TAP points and diagnostics
tap_scenario() {
  local verdict rest
  while read -r verdict rest; do
    case $verdict in
      PASS) ok 0 "$rest" ;;
      FAIL) ok 1 "$rest" ;;
      SHOT) diag "screenshot: $rest" ;;
      DONE) ;;
      *) diag "$verdict $rest" ;;
    esac
  done <"$1"
  grep -q '^DONE' "$1"; ok $? "the browser scenario ran to its end"
}
