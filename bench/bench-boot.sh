#!/bin/bash
# bench-boot.sh [BUILD] - run-to-DHCP-lease time of a VM started through vmbatch
# against the same VM started by plain qemu, interleaved, in a network
# namespace this script makes. Needs root. Prints figures only; it never
# passes or fails on time.
#
#   (a) vmbatch: `vmapp --vmrun --vm X --isolate` as a student, VMBATCH_RUN_WAIT=0,
#       timed from the command's start to the guest's "VMB-LEASE" line in the
#       instance's serial log (state_dir/jobs/instance-N.serial); then --vmstop.
#   (b) plain qemu: the very argv vmbatch's starter used (captured from the
#       warm-up run), with a pre-made tap by name instead of the handed fd, its
#       own qcow2 overlay of the same template, its own serial file; a fixed
#       lease in the same dnsmasq (a host file in state_dir/dhcp/hosts). Timed
#       from exec to "VMB-LEASE"; then SIGTERM.
# Runs alternate a,b / b,a so machine load falls on both alike; one warm-up
# run of each is not counted. N=15 runs of each by default (N=... to change,
# at least 7); about 2.5 minutes.
# Guests run under TCG (accel = tcg), as on the project's machines.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
SRC=$(realpath "$(dirname "$0")/..")
N=${N:-15}
[ "$(id -u)" -eq 0 ] || { echo "bench-boot: needs root (network namespace, taps, users)" >&2; exit 1; }
[ "$N" -ge 7 ] || { echo "bench-boot: N must be >= 7" >&2; exit 1; }
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release setfacl useradd python3 nsenter; do
  command -v "$t" >/dev/null || { echo "bench-boot: $t not installed" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vmbatch-bench-boot-XXXXXX)
chmod 0755 "$T"
NS=vmb-bench-$$
NSX="nsenter --net=/run/netns/$NS"
STU=vmbb$$
ADM=vmbba$$ # the admin: a normal account (root never runs vms, init refuses it)
USER_MADE=
ADM_MADE=
DPID=
DRIVER=

cleanup() {
  set +e
  [ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null && wait "$DRIVER" 2>/dev/null
  p=$(cat "$T/plain.pid" 2>/dev/null) && kill "$p" 2>/dev/null
  # starters (and their qemus, which die with them) by the pids the daemon recorded
  for p in $(cat "$T"/state/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  # anything still in our namespace is ours
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  if [ -n "$USER_MADE" ]; then
    # a starter killed above leaves its private /tmp/vmbatch-N-XXXXXX behind
    find /tmp -maxdepth 1 -name 'vmbatch-*-*' -user "$STU" -exec rm -rf {} + 2>/dev/null
    userdel -r "$STU" >/dev/null 2>&1
  fi
  [ -n "$ADM_MADE" ] && userdel -r "$ADM" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "bench-boot: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private copies of the binaries: a rebuild during the bench cannot change them.
mkdir -p "$T/bin"
cp "$BUILD/src/daemon/vmbatchd" "$BUILD/src/cli/vmbatch" "$BUILD/src/starter/vmbatch-starter" "$T/bin/"
ln -s vmbatch "$T/bin/vmapp"
chmod 0755 "$T/bin" "$T"/bin/*
VMAPP=$T/bin/vmapp

GUEST=$("$SRC/scripts/build-test-guest.sh" "${VMBATCH_GUEST_DIR:-$BUILD/guest}" 2>"$T/guest-build.log") ||
  { cat "$T/guest-build.log" >&2; echo "bench-boot: cannot build the test guest" >&2; exit 1; }
mkdir -p "$T/guest" && cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$GUEST/base.qcow2" "$T/guest/"
chmod 0755 "$T/guest" && chmod 0644 "$T"/guest/*

id "$STU" >/dev/null 2>&1 && { echo "bench-boot: user $STU exists" >&2; exit 1; }
id "$ADM" >/dev/null 2>&1 && { echo "bench-boot: user $ADM exists" >&2; exit 1; }
useradd -m -d "$T/home-$STU" -s /bin/bash "$STU" && USER_MADE=1
useradd -m -d "$T/home-$ADM" -s /bin/bash "$ADM" && ADM_MADE=1
chmod 0755 "$T/home-$STU"
mkdir -p "$T/templates" && chown "$ADM": "$T/templates" && chmod 0711 "$T/templates"

ip netns add "$NS"
ip -n "$NS" link set lo up
{
  echo "socket = $T/vmbatchd.sock"
  echo "database = $T/db/vmbatch.db"
  echo "admin_user = $ADM"
  echo "admin_stordir = $T/templates"
  echo "state_dir = $T/state"
  echo "bridge = vbr0"
  echo "bridge_address = 192.168.100.1/24"
  echo "dhcp_backend = dnsmasq"
  echo "dhcp_range = 192.168.100.0/255.255.255.0"
  echo "dhcp_gateway = 192.168.100.1"
  echo "accel = tcg"
  echo "vnc_listen = 127.0.0.1"
  echo "starter = $T/bin/vmbatch-starter"
} >"$T/vmbatch.conf"
$NSX "$T/bin/vmbatchd" -c "$T/vmbatch.conf" --pidfile "$T/vmbatchd.pid" 2>>"$T/vmbatchd.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$T/vmbatchd.sock" ] && break; sleep 0.05; done
[ -S "$T/vmbatchd.sock" ] || { cat "$T/vmbatchd.log" >&2; echo "bench-boot: vmbatchd did not start" >&2; exit 1; }
export VMBATCH_SOCKET=$T/vmbatchd.sock

q() { "$@" >"$T/setup.out" 2>&1 || { cat "$T/setup.out" >&2; echo "bench-boot: failed: $*" >&2; exit 1; }; }
a() { runuser -u "$ADM" -- env VMBATCH_SOCKET="$VMBATCH_SOCKET" "$VMAPP" "$@"; }
q a --init
q a --ugadd --name studs --ugid 10
q a --uadd --name "$STU" --uid "$(id -u "$STU")" --ug studs --stordir "$T/home-$STU"
q a --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.99
APPEND="console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"
q a --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
  --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "$APPEND"
q a --permset +d,+i --ug studs --vm tmpl
q runuser -u "$STU" -- env VMBATCH_SOCKET="$VMBATCH_SOCKET" "$VMAPP" --vmadd --name myvm --base tmpl
TDISC=$(ls "$T"/templates/*_tmpl_0.qcow2)

# (b)'s network: a tap on the same bridge (not named vmb*: the daemon would reap it),
# a fixed lease outside lab1's range in the same dnsmasq, its own overlay.
ip -n "$NS" tuntap add bplain0 mode tap
ip -n "$NS" link set bplain0 master vbr0
ip -n "$NS" link set bplain0 up
PLAIN_MAC=de:af:de:af:64:c8 PLAIN_IP=192.168.100.200
echo "$PLAIN_MAC,$PLAIN_IP,benchplain" >"$T/state/dhcp/hosts/benchplain"
qemu-img create -q -f qcow2 -F qcow2 -b "$TDISC" "$T/plain.qcow2"

cat >"$T/driver.py" <<'PY'
import calendar, json, os, pwd, re, signal, subprocess, sys, time

T, VMAPP, STU, N, TAP, MAC = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
pw = pwd.getpwnam(STU)
uenv = {"PATH": "/usr/bin:/bin", "HOME": pw.pw_dir, "USER": STU, "LOGNAME": STU,
        "VMBATCH_SOCKET": os.environ["VMBATCH_SOCKET"], "VMBATCH_RUN_WAIT": "0"}
DLOG = os.path.join(T, "vmbatchd.log")
JOBS = os.path.join(T, "state", "jobs")
POLL = 0.002

def as_student(args, **kw):
    return subprocess.run(args, env=uenv, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                          capture_output=True, text=True, **kw)

def wait_line(path, pat, deadline, gone=lambda: None):
    """Time at which a line matching pat is first seen in path (polled every 2 ms).
    gone(): None while the thing that should write the line lives, else why it ended."""
    rx, buf, off, n = re.compile(pat), "", 0, 0
    while time.time() < deadline:
        n += 1
        why = gone() if n % 50 == 0 else None  # every 0.1 s: it may read a log
        if why:
            raise RuntimeError("%s before /%s/ appeared in %s; its end:\n%s" % (why, pat, path, buf[-1500:]))
        try:
            with open(path, "rb") as f:
                f.seek(off)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            off += len(chunk)
            buf += chunk.decode(errors="replace")
            m = rx.search(buf)
            if m:
                return time.time(), m
        time.sleep(POLL)
    raise RuntimeError("timeout waiting for /%s/ in %s; its end:\n%s" % (pat, path, buf[-1500:]))

def log_epoch(line):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z", line)
    return calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + int(m.group(1)[20:]) / 1000.0

def dlog_time(pat):
    for line in open(DLOG, errors="replace"):
        if re.search(pat, line):
            return log_epoch(line)
    return None

def proc_start_epoch(pid):
    """start (fork) time of pid: /proc counts whole 10 ms ticks since boot; take the middle."""
    st = open("/proc/%d/stat" % pid).read()
    ticks = int(st[st.rindex(")") + 2:].split()[19])
    hz = os.sysconf("SC_CLK_TCK")
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) + (ticks + 0.5) / hz

def qemu_pid_of(inst, deadline):
    _, m = wait_line(os.path.join(JOBS, "instance-%d.log" % inst), r"qemu pid (\d+)", deadline)
    return int(m.group(1))

def uptime_of(m_line):
    m = re.search(r"uptime=([0-9.]+)", m_line)
    return float(m.group(1)) if m else float("nan")

def run_vmbatch():
    t0 = time.time()
    p = subprocess.Popen([VMAPP, "--json", "--vmrun", "--vm", "myvm", "--isolate"], env=uenv,
                         user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=60)
    t_cli = time.time()
    if p.returncode != 0:
        raise RuntimeError("vmrun failed: %s %s" % (out, err))
    inst = int(json.loads(out)["id"])
    deadline = t0 + 60
    qpid = qemu_pid_of(inst, deadline)
    t_qemu = proc_start_epoch(qpid)
    # the starter logs the pid right after fork: the exec may still be under way
    while True:
        argv = open("/proc/%d/cmdline" % qpid, "rb").read().decode().split("\0")[:-1]
        if argv and "qemu" in os.path.basename(argv[0]):
            break
        if time.time() > deadline:
            raise RuntimeError("qemu pid %d has argv %r" % (qpid, argv))
        time.sleep(POLL)
    ended = lambda: "instance %d ended" % inst if dlog_time(r"instance %d of vm \d+ ended" % inst) else None
    t_lease, m = wait_line(os.path.join(JOBS, "instance-%d.serial" % inst), r"VMB-LEASE[^\n]*\n", deadline, ended)
    r = {"total": t_lease - t0, "cli": t_cli - t0, "uptime": uptime_of(m.group(0)), "inst": inst,
         "t0": t0, "qemu": t_qemu, "lease": t_lease}
    # stop, and wait until everything is freed (the daemon logs "instance N of vm M ended")
    ts = time.time()
    s = as_student([VMAPP, "--vmstop", "--instance", str(inst)], timeout=60)
    if s.returncode != 0:
        raise RuntimeError("vmstop failed: %s %s" % (s.stdout, s.stderr))
    wait_line(DLOG, r"instance %d of vm \d+ ended" % inst, time.time() + 60)
    r["stop"] = time.time() - ts
    for k, pat in (("submitted", r"instance %d submitted"), ("attached", r"instance %d: monitor attached"),
                   ("running", r"instance %d: running")):
        r[k] = dlog_time(pat % inst)
    return r, argv

def plain_argv(vm_argv):
    a = list(vm_argv)
    for i, x in enumerate(a):
        if x.startswith("tap,id=net0,fd="):
            a[i] = "tap,id=net0,ifname=%s,script=no,downscript=no" % TAP
        elif x.startswith("virtio-net-pci,") and "mac=" in x:
            a[i] = re.sub(r"mac=[0-9a-fA-F:]+", "mac=" + MAC, x)
        elif x.startswith("file,id=serial0,path="):
            a[i] = "file,id=serial0,path=%s/plain.serial" % T
        elif x.startswith("socket,id=qmp,path="):
            a[i] = re.sub(r"path=[^,]*", "path=%s/plain-qmp.sock" % T, x)
        elif x.startswith("file=") and "id=disc0" in x:
            a[i] = re.sub(r"^file=(?:[^,]|,,)*", "file=%s/plain.qcow2" % T, x)
        elif x.startswith("guest="):
            a[i] = "guest=bench-plain"
        elif i > 0 and a[i - 1] == "-vnc":
            a[i] = re.sub(r":\d+,", ":77,", x)
    return a + ["-pidfile", T + "/plain.pid"]

def run_plain(argv):
    serial = T + "/plain.serial"
    for f in (serial, T + "/plain.pid"):
        if os.path.exists(f):
            os.unlink(f)
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(T + "/plain.out", "a"),
                         stderr=subprocess.STDOUT)
    try:
        exited = lambda: "plain qemu exited (%s; see %s/plain.out)" % (p.returncode, T) if p.poll() is not None else None
        t_lease, m = wait_line(serial, r"VMB-LEASE[^\n]*\n", t0 + 60, exited)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    return {"total": t_lease - t0, "uptime": uptime_of(m.group(0))}

def pct(v, q):
    v = sorted(v)
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)

# warm-up: one of each, not counted; (b) uses the argv vmbatch's qemu really had
_, vm_argv = run_vmbatch()
pargv = plain_argv(vm_argv)
with open(T + "/plain.argv", "w") as f:
    f.write(" ".join(pargv) + "\n")
run_plain(pargv)

load0 = open("/proc/loadavg").read().split()[0]
A, B = [], []
for i in range(N):
    for case in (("a", "b") if i % 2 == 0 else ("b", "a")):
        if case == "a":
            r, _ = run_vmbatch()
            A.append(r)
            print("run %2d  vmbatch  %.3f s  (guest uptime at lease %.2f s)" % (i + 1, r["total"], r["uptime"]), flush=True)
        else:
            r = run_plain(pargv)
            B.append(r)
            print("run %2d  plain    %.3f s  (guest uptime at lease %.2f s)" % (i + 1, r["total"], r["uptime"]), flush=True)

def row(name, v):
    return "%-34s %7.3f %7.3f %7.3f %7.3f" % (name, pct(v, .5), pct(v, .9), min(v), max(v))

ta, tb = [r["total"] for r in A], [r["total"] for r in B]
print()
print("run -> guest DHCP lease, %d runs each, interleaved, TCG, %d CPUs, load average %s -> %s (seconds)" %
      (N, os.cpu_count(), load0, open("/proc/loadavg").read().split()[0]))
print("%-34s %7s %7s %7s %7s" % ("case (p90: linear interpolation)", "p50", "p90", "min", "max"))
print(row("(a) vmbatch vmapp --vmrun", ta))
print(row("(b) plain qemu, same argv", tb))
ratio = pct(ta, .5) / pct(tb, .5)
print("overhead p50(vmbatch)/p50(plain): %.3fx  (target <= 1.15x)  [%+.0f ms]" %
      (ratio, 1000 * (pct(ta, .5) - pct(tb, .5))))
print("paired (run i of (a) - run i of (b)): median %+.0f ms" %
      (1000 * pct([a - b for a, b in zip(ta, tb)], .5)))
print("vmbatch's work before qemu starts: p50 %.0f ms; after that, see 'qemu started -> guest lease' below" %
      (1000 * pct([r["qemu"] - r["t0"] for r in A], .5)))
print(row("guest uptime at lease, (a)", [r["uptime"] for r in A]))
print(row("guest uptime at lease, (b)", [r["uptime"] for r in B]))

def split(name, f, rs=A):
    v = [f(r) * 1000 for r in rs]
    print("  %-46s %7.0f %7.0f %7.0f %7.0f" % (name, pct(v, .5), pct(v, .9), min(v), max(v)))
print()
print("vmbatch timeline, ms after the CLI's start (daemon log stamps: 1 ms; qemu fork from /proc: +-5 ms)")
print("  %-46s %7s %7s %7s %7s" % ("", "p50", "p90", "min", "max"))
split("job submitted (authorised, address allocated)", lambda r: r["submitted"] - r["t0"])
split("CLI returned", lambda r: r["cli"])
split("starter attached (tap, fixed lease, serial)", lambda r: r["attached"] - r["t0"])
split("qemu process started (fork)", lambda r: r["qemu"] - r["t0"])
split("QMP up, VNC password set (state running)", lambda r: r["running"] - r["t0"])
split("guest DHCP lease", lambda r: r["total"])
print("  qemu started -> guest lease")
split("  (a) under vmbatch", lambda r: r["lease"] - r["qemu"])
split("  (b) plain", lambda r: r["total"], B)
split("--vmstop -> instance freed (power button)", lambda r: r["stop"])
PY

echo "bench-boot: $N runs of each case, interleaved (plain argv: see below)"
$NSX python3 "$T/driver.py" "$T" "$VMAPP" "$STU" "$N" bplain0 "$PLAIN_MAC" &
DRIVER=$!
wait "$DRIVER"
DRIVER=
echo
echo "plain qemu argv (vmbatch's own, with a tap by name, its own overlay/serial/QMP/VNC display):"
sed "s|$T|\$T|g" "$T/plain.argv"
