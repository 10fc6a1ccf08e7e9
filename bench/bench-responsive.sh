#!/bin/bash
# bench-responsive.sh [BUILD] - is vmbatchd still answering while students
# make it do slow disc work? An admin's client sends `ping` N times (one
# connection, one request at a time, timed per request) in three phases of
# the same run against one private daemon (node = no, no VMs):
#   idle   nothing else runs;
#   fifo   two students each have a FIFO as --usediscs hanging (qemu-img
#          waits for a writer; before issue 10 this froze the daemon);
#   copy   a student copies a 4 GiB image with --usediscs (qemu-img convert
#          reading 4 GiB of random data), and the FIFOs still hang.
# And against a vmbatchd --node (in a network namespace of its own, with
# munged for the sealed messages) whose controller accepts the connection
# but never answers:
#   node idle   the node's own answer to ping ("ask the controller");
#   node stuck  8 starters' node.attach wait for that controller meanwhile
#               (before issue 10 the node waited 15 s per call in its loop).
# Prints p50/p99/max per phase and the ratio of each loaded p99 to the idle
# p99 of the same daemon (target: within 3x and under 10 ms); "frozen" when
# a ping got no answer within 10 s (what a daemon running qemu-img in its
# loop does: point BUILD at a build of an older commit to see it). Run as
# root. Prints figures only.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${N:-5000}
T=$(mktemp -d /tmp/vmbatch-bench-resp-XXXXXX)
USERS=()
NS=vmb-bench-resp-$$
NODE_PID=
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  kill "$(cat "$T/pid" 2>/dev/null)" 2>/dev/null || true
  [ -z "$NODE_PID" ] || kill "$NODE_PID" 2>/dev/null || true
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  MUNGE_UP_OURS=$T/munge-ours.pid "$(dirname "$0")/../scripts/munge-up.sh" stop >/dev/null 2>&1 || true
  # what still runs as the bench's users (a CLI client, a qemu-img on a FIFO), by pid
  for u in vmbbench1 vmbbench2; do
    for p in $(ps -o pid= -u "$u" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  done
  sleep 0.2
  for u in "${USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1 || true; done
  rm -rf "$T"
}
trap cleanup EXIT
chmod 0755 "$T"
for u in vmbbench1 vmbbench2; do
  id "$u" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$u"; USERS+=("$u"); }
  install -d -o "$u" -m 0755 "$T/$u"
done
. "$(dirname "$0")/lib.sh"
bench_daemon "$BUILD" "$T"
V="$BUILD/src/cli/vmbatch"
for u in vmbbench1 vmbbench2; do
  "$V" user add "$u" --uid "$(id -u "$u")" --stordir "$T/$u" --max-storage 100G >/dev/null
done
as() { local u=$1; shift; runuser -u "$u" -- env VMBATCH_SOCKET="$VMBATCH_SOCKET" "$@"; }

# N pings on one connection (to SOCKET, default the control plane's);
# prints the latencies in microseconds
pings() {
  /usr/bin/python3 - "${1:-$VMBATCH_SOCKET}" "$N" <<'PY'
import json, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.settimeout(10) # a daemon that does not answer in 10 s is frozen: say so and stop
req = json.dumps({"op": "ping"}).encode(); frame = struct.pack(">I", len(req)) + req
def recv(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("connection closed")
        b += c
    return b
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter_ns(); s.sendall(frame)
    try:
        (n,) = struct.unpack(">I", recv(4)); recv(n)
    except socket.timeout:
        print("timeout"); break
    print((time.perf_counter_ns() - t0) // 1000)
PY
}
stats() { # stats FILE -> "p50 p99 max" in ms ("frozen" when a ping got no answer in 10 s)
  /usr/bin/python3 -c '
import sys
lines = open(sys.argv[1]).read().split()
if "timeout" in lines: print("frozen frozen >10000"); sys.exit()
v = sorted(int(x) for x in lines); q = lambda p: v[min(len(v) - 1, int(p * len(v)))] / 1000
print("%.3f %.3f %.3f" % (q(0.5), q(0.99), v[-1] / 1000))' "$1"
}
ratio() { /usr/bin/python3 -c "import sys; a, b = sys.argv[1:]; print('%.2fx' % (float(a) / float(b)) if a != 'frozen' else '-')" "$1" "$2"; }

pings >"$T/idle.us"

for u in vmbbench1 vmbbench2; do runuser -u "$u" -- mkfifo "$T/$u/fifo"; done
as vmbbench1 "$V" vm add slow1 --usediscs "$T/vmbbench1/fifo" >/dev/null 2>&1 &
as vmbbench2 "$V" vm add slow2 --usediscs "$T/vmbbench2/fifo" >/dev/null 2>&1 &
sleep 1
pings >"$T/fifo.us"

head -c 4G /dev/urandom >"$T/vmbbench1/big.raw"
chown vmbbench1: "$T/vmbbench1/big.raw"
# vmbbench1 has its two jobs' worth of room: one FIFO, one copy
t0=$(date +%s%N)
as vmbbench1 "$V" vm add big --usediscs "$T/vmbbench1/big.raw" >"$T/copy.out" 2>&1 &
COPY=$!
sleep 0.5
pings >"$T/copy.us"
copy_running=$(kill -0 "$COPY" 2>/dev/null && echo yes || echo no)
# let the FIFO requests end (in the background: a daemon that runs qemu-img in
# its loop has not even started the second one, so nobody reads that FIFO yet)
for u in vmbbench1 vmbbench2; do timeout 60 sh -c ': >"$1"' - "$T/$u/fifo" & done
timeout 120 tail --pid="$COPY" -f /dev/null || true
copy_s=$(( ($(date +%s%N) - t0) / 1000000 ))

# a node whose controller never answers
MUNGE_UP_OURS=$T/munge-ours.pid "$(dirname "$0")/../scripts/munge-up.sh" >/dev/null
ip netns add "$NS" && ip -n "$NS" link set lo up
ip netns exec "$NS" /usr/bin/python3 - 7390 <<'PY' &
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(64)
def drain(c): # read what the node says, answer nothing
    while c.recv(65536): pass
while True:
    c, _ = srv.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()
PY
printf 'socket = %s/node.sock\nstate_dir = %s/nstate\ncontroller = 127.0.0.1:7390\nnode_name = bench\nbridge = vbbr0\nfilter_backend = none\nvnc_listen = 127.0.0.1\nlog_level = warning\n' \
  "$T" "$T" >"$T/node.conf"
sleep 0.3
ip netns exec "$NS" "$BUILD/src/daemon/vmbatchd" --node -c "$T/node.conf" 2>"$T/node.log" &
NODE_PID=$!
for _ in $(seq 100); do [ -S "$T/node.sock" ] && break; sleep 0.05; done
pings "$T/node.sock" >"$T/node-idle.us"
/usr/bin/python3 - "$T/node.sock" 8 >"$T/starters.out" <<'PY' &
import json, socket, struct, sys, time
conns = []
for i in range(int(sys.argv[2])): # starters of instances 1..8, each waiting for its attach
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    req = json.dumps({"op": "node.attach", "args": {"instance": i + 1}}).encode()
    s.sendall(struct.pack(">I", len(req)) + req); conns.append(s)
t0 = time.time()
for s in conns:
    s.settimeout(30)
    (n,) = struct.unpack(">I", s.recv(4)); print("%.1f s: %s" % (time.time() - t0, s.recv(n)[:100].decode()))
PY
STARTERS=$!
sleep 1
pings "$T/node.sock" >"$T/node-stuck.us"
timeout 40 tail --pid="$STARTERS" -f /dev/null || true

printf 'admin ping while students make vmbatchd do slow disc work, %d pings per phase, one connection\n' "$N"
printf '%-52s %9s %9s %9s %8s\n' phase "p50 ms" "p99 ms" "max ms" "p99/idle"
read -r i50 i99 imax < <(stats "$T/idle.us")
printf '%-52s %9s %9s %9s %8s\n' "idle" "$i50" "$i99" "$imax" "1.00x"
for ph in fifo copy; do
  read -r p50 p99 pmax < <(stats "$T/$ph.us")
  label=$([ $ph = fifo ] && echo "2 FIFOs as --usediscs hanging" || echo "+ a 4 GiB --usediscs copy (still running: $copy_running)")
  printf '%-52s %9s %9s %9s %8s\n' "$label" "$p50" "$p99" "$pmax" "$(ratio "$p99" "$i99")"
done
printf 'the 4 GiB copy took %d ms (vm add answered: %s)\n' "$copy_s" "$(head -c 120 "$T/copy.out" | tr '\n' ' ')"
read -r n50 n99 nmax < <(stats "$T/node-idle.us")
printf '%-52s %9s %9s %9s %8s\n' "node idle" "$n50" "$n99" "$nmax" "1.00x"
read -r p50 p99 pmax < <(stats "$T/node-stuck.us")
printf '%-52s %9s %9s %9s %8s\n' "node: 8 attaches wait for a silent controller" "$p50" "$p99" "$pmax" "$(ratio "$p99" "$n99")"
printf 'the 8 attaches were answered: %s\n' "$(sed -n '1p;$p' "$T/starters.out" | tr '\n' ' ')"
