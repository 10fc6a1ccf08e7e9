#!/bin/bash
# bench-submit.sh [BUILD] - an "exam start": N VM jobs submitted through
# vmbatch at once, beside N plain trivial jobs submitted straight to the batch
# system, on Slurm (batch_backend = slurm) and on Grid Engine (batch_backend =
# sge). Needs root. Prints figures only; it never passes or fails on time.
#
# Per backend, in a network namespace of its own (vmb-bsub-<backend>-PID) with
# a private scheduler in it:
#   slurm: scripts/slurm-up.sh with SLURM_UP_DIR + SLURM_UP_NETNS, as
#          tests/integration/test-slurm.sh does (munged is the machine's);
#   sge:   a private Grid Engine cell (its own SGE_ROOT under the bench's
#          directory, its own spool, sge_qmaster and sge_execd both inside the
#          namespace), configured as scripts/sge-up.sh configures all.q. The
#          machine's own cell (/var/lib/gridengine/default) is not touched and
#          no port relay is needed: qmaster listens on the namespace's loopback.
#   vmbatchd (node role, bridge, dnsmasq, accel = tcg) runs in the namespace
#   too, so the jobs (vmbatch-starter, qemu) run there.
#
# Both parts: N submissions by BENCH_CLIENTS concurrent clients (client c is
# student c and submits its share back to back), each kind after the other:
#   plain:   sbatch --wrap 'date +%s.%N' / qsub with that script on stdin, as
#            the student, with the resource request vmbatch makes for the VM
#            (Slurm: -c 1 --mem=<VM memory>: with CR_Core_Memory a job without
#            --mem would take the whole node; SGE: the same -l h_vmem);
#   vmbatch: `vmbatch --json vm run eK --isolate` as the VM's owner with
#            VMBATCH_RUN_WAIT=0 (the same as --no-wait), which returns once
#            the instance is recorded; its job is submitted right after.
#  (a) submit throughput with the queue held (Slurm: partition State=DOWN;
#      SGE: qmod -d all.q): jobs are accepted, none starts, so the figure is
#      the submit path alone (vmbatch: authorise, quota, allocate the
#      address; sbatch/qsub as the user runs in a child process of vmbatchd
#      after the call has answered). jobs/s = N / (last call returned - first
#      call started), and each call's duration; for vmbatch also N / (the last
#      job reached the scheduler, from vmbatchd's log - first call started),
#      which the overhead ratio uses. Then every job is
#      cancelled (the VMs by `vmbatch instance stop`, also timed) and the
#      queue released.
#  (b) submit -> running with the queue open, per job, from the start of its
#      submit call:
#        plain:   to the job's own `date` (it writes its start time);
#        vmbatch: to the first `vmbatch --json map list` answer (polled every
#                 BENCH_POLL s, as the admin) that shows the instance
#                 "running"; and, from vmbatchd's log (ms stamps), to
#                 "running" (the state change itself: qemu up, QMP answered,
#                 VNC password set) and to "monitor attached" (the job runs:
#                 starter up, tap and fixed lease made).
#      p50/p95/max, the ratios, and when the last of the N had started.
#
# What is honest on 2 cores / 24 GiB: N real TCG guests at once do not fit,
# and even 32 booting at once starve vmbatchd, the scheduler and each other
# (a 300-job trial with 32 slots: map list answers took seconds, VMs ran on
# unkilled, the last VM ran after 243 s). So the scheduler offers BENCH_SLOTS
# job slots (default 4 x nproc; Slurm: the node's CPUs, SLURM_UP_CPUS; SGE:
# all.q's slots); every job asks for one slot. Each job ends as soon as it has
# reached its "started" point: the plain job exits after its `date`; the bench
# SIGKILLs a VM's qemu as soon as the map list shows it running (its starter
# then ends the job, the node frees tap, lease and address), or BENCH_KILL_GRACE
# (2) s after vmbatchd's log said "running" if the map list has not shown it by
# then (counted and printed). (--vmstop would wait up to 30 s for an ACPI
# power-down that a guest still booting cannot answer.) So both kinds drain
# through the same slots while the rest queue: the latency includes that
# queueing, as in an exam start on this machine. The guests are the test guest
# (scripts/build-test-guest.sh) with BENCH_MEM_MIB (96) MiB: with 48M or 64M it
# resets before printing a line (qemu exits 0 at once), 68-72M do not reach its
# init's end, 76M is the smallest that boots.
# One plain job and one VM are run first as a warm-up and not counted.
#
# Environment: BENCH_JOBS (N, default 300), BENCH_BACKENDS ("slurm sge"),
#   BENCH_CLIENTS (concurrent submitters = students, default 10), BENCH_SLOTS,
#   BENCH_POLL (map list period, s, default 0.1), BENCH_KILL_GRACE (2),
#   BENCH_MEM_MIB (96), KEEP=1 (keep the directory).
# Users bsadmPID and bsstPID-1..: made here, removed on exit; so are the
# namespaces, daemons, jobs and files. About 5-6 minutes for N = 300, both
# backends (1.5 minutes for N = 60).
set -euo pipefail
BUILD=$(realpath "${1:-build}")
SRC=$(realpath "$(dirname "$0")/..")
N=${BENCH_JOBS:-300}
BACKENDS=${BENCH_BACKENDS:-slurm sge}
CLIENTS=${BENCH_CLIENTS:-10}
SLOTS=${BENCH_SLOTS:-$(($(nproc) * 4))}
POLL=${BENCH_POLL:-0.1}
GRACE=${BENCH_KILL_GRACE:-2}
MEM_MIB=${BENCH_MEM_MIB:-96}

die() { echo "bench-submit: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, schedulers, taps, users)"
for v in N CLIENTS SLOTS MEM_MIB; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $POLL =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_POLL must be a number of seconds"
[[ $GRACE =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_KILL_GRACE must be a number of seconds"
[ "$CLIENTS" -le "$N" ] || CLIENTS=$N
[ "$N" -le 1000 ] || die "BENCH_JOBS at most 1000 (the VM group's address range)"
for b in $BACKENDS; do
  case $b in slurm | sge) ;; *) die "unknown backend '$b' (slurm, sge)" ;; esac
done
for t in qemu-system-x86_64 qemu-img dnsmasq dhcp_release setfacl useradd userdel python3 nsenter; do
  command -v "$t" >/dev/null || die "$t not installed"
done
for x in "$BUILD/src/daemon/vmbatchd" "$BUILD/src/cli/vmbatch" "$BUILD/src/starter/vmbatch-starter"; do
  [ -x "$x" ] || die "$x missing: build first (meson setup build && ninja -C build)"
done

T=$(mktemp -d /tmp/vmb-bsub-XXXXXX)
chmod 0755 "$T"
ADMIN=bsadm$$
STUDENTS=()
for i in $(seq "$CLIENTS"); do STUDENTS+=("bsst$$-$i"); done
MADE_USERS=()
CUR=      # the backend that is up
NS=
B=        # its directory
DPID=     # its vmbatchd
DRIVER=
SGE_CELL_NAME=bsub

# ---------------------------------------------------------------- teardown
sge_pids() {
  local f
  for f in "$B/sgespool/qmaster/qmaster.pid" "$B"/sgespool/execd/*/execd.pid; do
    [ -s "$f" ] && tr -dc '0-9\n' <"$f"
  done
}
backend_down() {
  [ -n "$CUR" ] || return 0
  set +e
  local p j i
  [ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null && wait "$DRIVER" 2>/dev/null
  DRIVER=
  # the scheduler's jobs first (vmbatch's starters and their qemus), then vmbatchd
  if [ "$CUR" = slurm ] && [ -e "$B/slurm/slurm.conf" ]; then
    for j in $(nsx timeout 10 squeue -h -o %i 2>/dev/null); do nsx timeout 10 scancel "$j" 2>/dev/null; done
    for i in $(seq 100); do [ -z "$(nsx timeout 5 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
  elif [ "$CUR" = sge ] && [ -n "$(sge_pids)" ]; then
    nsx timeout 20 qdel -u '*' >/dev/null 2>&1
    for i in $(seq 100); do [ -z "$(nsx timeout 5 qstat -u '*' 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
  DPID=
  if [ "$CUR" = slurm ] && [ -d "$B/slurm/run" ]; then
    # munged too if slurm-up.sh started it, unless other Slurm or SGE daemons use it (it says so)
    SLURM_UP_DIR=$B/slurm SLURM_UP_NETNS=$NS "$SRC/scripts/slurm-up.sh" stop >/dev/null
  elif [ "$CUR" = sge ]; then
    for p in $(sge_pids); do kill "$p" 2>/dev/null; done
    for i in $(seq 100); do
      local alive=
      for p in $(sge_pids); do kill -0 "$p" 2>/dev/null && alive=1; done
      [ -z "$alive" ] && break; sleep 0.1
    done
    for p in $(sge_pids); do kill -9 "$p" 2>/dev/null; done
  fi
  # whatever still runs in our namespace is ours
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  sleep 0.2
  ip netns del "$NS" 2>/dev/null
  CUR=
  set -e
}
cleanup() {
  set +e
  backend_down
  local u
  for u in "${MADE_USERS[@]}"; do
    # a starter killed above leaves its private /tmp/vmbatch-N-XXXXXX behind
    find /tmp -maxdepth 1 -name 'vmbatch-*-*' -user "$u" -exec rm -rf {} + 2>/dev/null
    userdel -r "$u" >/dev/null 2>&1
  done
  if [ -n "${KEEP:-}" ]; then echo "bench-submit: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { nsenter --net="/run/netns/$NS" env "${SCHED_ENV[@]}" "$@"; }

# ---------------------------------------------------------------- shared setup
mkdir -p "$T/bin"
cp "$BUILD/src/daemon/vmbatchd" "$BUILD/src/cli/vmbatch" "$BUILD/src/starter/vmbatch-starter" "$T/bin/"
ln -s vmbatch "$T/bin/vmapp"
chmod 0755 "$T/bin" "$T"/bin/*
VMAPP=$T/bin/vmapp
GUEST=$("$SRC/scripts/build-test-guest.sh" "${VMBATCH_GUEST_DIR:-$BUILD/guest}" 2>"$T/guest-build.log") ||
  { cat "$T/guest-build.log" >&2; die "cannot build the test guest"; }
mkdir -p "$T/guest" && cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$GUEST/base.qcow2" "$T/guest/"
chmod 0755 "$T/guest" && chmod 0644 "$T"/guest/*
for u in "$ADMIN" "${STUDENTS[@]}"; do
  id "$u" >/dev/null 2>&1 && die "user $u exists already"
  useradd -m -d "$T/home-$u" -s /bin/bash "$u" >/dev/null && MADE_USERS+=("$u")
  chmod 0755 "$T/home-$u"
done
[ "$(id -u "${STUDENTS[0]}")" -ge 1000 ] || die "students got uids < 1000 (Grid Engine refuses them)"

# ---------------------------------------------------------------- schedulers
slurm_up() {
  SLURM_UP_DIR=$B/slurm SLURM_UP_NETNS=$NS SLURM_UP_CPUS=$SLOTS "$SRC/scripts/slurm-up.sh" >"$B/slurm-up.log" 2>&1 ||
    { cat "$B/slurm-up.log" >&2; die "slurm-up.sh failed (exit $?)"; }
  SCHED_ENV=("SLURM_CONF=$B/slurm/slurm.conf")
  SCHED_DESC="private Slurm (scripts/slurm-up.sh, SLURM_UP_DIR + SLURM_UP_NETNS), node CPUs=$SLOTS, CR_Core_Memory; each job -c 1 --mem=${MEM_MIB}M"
}

# A private Grid Engine cell, set up as scripts/sge-up.sh sets up the
# machine's (scheduler every second, all.q with SLOTS slots, terminate_method
# "kill -s TERM $job_pid", a clean environment for the daemons), but with its
# own SGE_ROOT, cell, spool and daemons, all in the namespace.
sge_up() {
  local H R W s i IP ALIASES KILL
  for x in /usr/lib/gridengine/sge_qmaster /usr/lib/gridengine/sge_execd /usr/lib/gridengine/spoolinit \
    /usr/lib/gridengine/spooldefaults /usr/share/gridengine/default-configuration; do
    [ -e "$x" ] || die "Grid Engine is not installed ($x missing; scripts/sge-up.sh installs it)"
  done
  H=$(hostname)
  R=$B/sgeroot
  mkdir -p "$R/$SGE_CELL_NAME/common" "$B/sgespool/qmaster/job_scripts" "$B/sgespool/execd" "$B/sgespool/db"
  for d in bin lib utilbin; do ln -s "/var/lib/gridengine/$d" "$R/$d"; done
  ln -s /usr/share/gridengine/util "$R/util"
  cat >"$R/$SGE_CELL_NAME/common/bootstrap" <<EOF
admin_user              sgeadmin
default_domain          none
ignore_fqdn             false
spooling_method         berkeleydb
spooling_lib            libspoolb
spooling_params         $B/sgespool/db
binary_path             /usr/sbin
qmaster_spool_dir       $B/sgespool/qmaster
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
EOF
  echo "$H" >"$R/$SGE_CELL_NAME/common/act_qmaster"
  IP=$(getent ahostsv4 "$H" | awk '{ print $1; exit }')
  ALIASES=$(getent hosts "$IP" | awk -v h="$H" '{ for (i = 2; i <= NF; i++) if ($i != h) printf " %s", $i }')
  [ -z "$ALIASES" ] || echo "$H$ALIASES" >"$R/$SGE_CELL_NAME/common/host_aliases"
  sed -E "s|^(execd_spool_dir[[:space:]]+).*|\1$B/sgespool/execd|; s|^(load_report_time[[:space:]]+).*|\100:00:05|" \
    /usr/share/gridengine/default-configuration >"$B/sge-global.conf"
  chown -R sgeadmin:sgeadmin "$R/$SGE_CELL_NAME" "$B/sgespool"
  SCHED_ENV=("SGE_ROOT=$R" "SGE_CELL=$SGE_CELL_NAME")
  runuser -u sgeadmin -- env "${SCHED_ENV[@]}" sh -c '
    /usr/lib/gridengine/spoolinit berkeleydb libspoolb "$1" init &&
    /usr/lib/gridengine/spooldefaults configuration "$2" &&
    /usr/lib/gridengine/spooldefaults complexes /usr/share/gridengine/util/resources/centry &&
    /usr/lib/gridengine/spooldefaults usersets /usr/share/gridengine/util/resources/usersets &&
    /usr/lib/gridengine/spooldefaults managers sgeadmin' sh "$B/sgespool/db" "$B/sge-global.conf" \
    >"$B/sge-init.log" 2>&1 || { cat "$B/sge-init.log" >&2; die "cannot initialise the Grid Engine cell"; }
  local DENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "${SCHED_ENV[@]}")
  (cd / && nsenter --net="/run/netns/$NS" "${DENV[@]}" /usr/sbin/sge_qmaster) || die "sge_qmaster did not start"
  for i in $(seq 200); do nsx qconf -sh >/dev/null 2>&1 && break; sleep 0.05; done
  q() { nsx qconf "$@" >>"$B/sge-init.log" 2>&1 || { cat "$B/sge-init.log" >&2; die "qconf $* failed"; }; }
  W=$B/sgeconf && mkdir -p "$W"
  nsx qconf -sh 2>/dev/null | grep -qx "$H" || q -ah "$H"
  q -as "$H"
  printf '%s\n' "hostname $H" "load_scaling NONE" "complex_values NONE" "user_lists NONE" "xuser_lists NONE" \
    "projects NONE" "xprojects NONE" "usage_scaling NONE" "report_variables NONE" >"$W/host"
  q -Ae "$W/host"
  nsx qconf -ssconf >"$W/sched"
  sed -i -E 's/^(schedule_interval[[:space:]]+).*/\10:0:1/; s/^(flush_submit_sec[[:space:]]+).*/\11/;
    s/^(flush_finish_sec[[:space:]]+).*/\11/; s/^(job_load_adjustments[[:space:]]+).*/\1NONE/;
    s/^(load_adjustment_decay_time[[:space:]]+).*/\10:0:0/' "$W/sched"
  q -Msconf "$W/sched"
  printf 'group_name @allhosts\nhostlist %s\n' "$H" >"$W/allhosts"
  q -Ahgrp "$W/allhosts"
  KILL=$(type -P kill)
  {
    for a in qname:all.q hostlist:@allhosts seq_no:0 load_thresholds:NONE suspend_thresholds:NONE \
      nsuspend:1 suspend_interval:00:05:00 priority:0 min_cpu_interval:00:05:00 processors:UNDEFINED \
      "qtype:BATCH INTERACTIVE" ckpt_list:NONE pe_list:NONE rerun:FALSE "slots:$SLOTS" tmpdir:/tmp \
      shell:/bin/sh prolog:NONE epilog:NONE shell_start_mode:posix_compliant starter_method:NONE \
      suspend_method:NONE resume_method:NONE "terminate_method:$KILL -s TERM \$job_pid" notify:00:00:60 \
      owner_list:NONE user_lists:NONE xuser_lists:NONE subordinate_list:NONE complex_values:NONE \
      projects:NONE xprojects:NONE calendar:NONE initial_state:default; do
      printf '%-32s %s\n' "${a%%:*}" "${a#*:}"
    done
    for l in rt cpu fsize data stack core rss vmem; do printf '%-32s INFINITY\n' "s_$l" "h_$l"; done
  } >"$W/q"
  q -Aq "$W/q"
  (cd / && nsenter --net="/run/netns/$NS" "${DENV[@]}" /usr/sbin/sge_execd) >>"$B/sge-init.log" 2>&1 ||
    die "sge_execd did not start"
  s=
  for i in $(seq 600); do
    s=$(nsx qstat -f -q "all.q@$H" 2>/dev/null | awk -v q="all.q@$H" '$1 == q { print ($6 == "" ? "ok" : $6) }')
    [ "$s" = ok ] && break
    case "$s" in *E*) nsx qmod -c "all.q@$H" >/dev/null 2>&1 || true ;; esac
    sleep 0.05
  done
  [ "$s" = ok ] || die "the private all.q@$H does not take jobs (state '${s:-unknown}')"
  SCHED_DESC="private Grid Engine cell (own SGE_ROOT, qmaster+execd in the namespace), all.q $SLOTS slots, scheduler every 1 s; each job 1 slot"
}

# ---------------------------------------------------------------- one backend
DRIVER_PY=$T/driver.py
run_backend() {
  local b=$1 t0 i k u
  t0=${EPOCHREALTIME/[.,]/}
  B=$T/$b
  NS=vmb-bsub-$b-$$
  mkdir -p "$B" && chmod 0755 "$B"
  ip netns add "$NS"
  CUR=$b
  ip -n "$NS" link set lo up
  SCHED_ENV=()
  "${b}_up"
  # vmbatchd in the namespace: its sbatch/qsub reach the private scheduler
  {
    echo "socket = $B/vmbatchd.sock"
    echo "database = $B/db/vmbatch.db"
    echo "admin_user = $ADMIN"
    echo "admin_stordir = $B/templates"
    echo "state_dir = $B/state"
    echo "bridge = vbr0"
    echo "bridge_address = 10.77.0.1/22"
    echo "dhcp_backend = dnsmasq"
    echo "dhcp_range = 10.77.0.0/255.255.252.0"
    echo "dhcp_gateway = 10.77.0.1"
    echo "accel = tcg"
    echo "vnc_listen = 127.0.0.1"
    echo "starter = $T/bin/vmbatch-starter"
    echo "reattach_grace = 5"
    echo "batch_backend = $b"
  } >"$B/vmbatch.conf"
  mkdir -p "$B/templates" && chown "$ADMIN": "$B/templates" && chmod 0711 "$B/templates"
  for u in "${STUDENTS[@]}"; do install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "$B/home-$u"; done
  # not through nsx: $! must be vmbatchd itself (nsenter and env exec), not a subshell
  nsenter --net="/run/netns/$NS" env "${SCHED_ENV[@]}" "$T/bin/vmbatchd" -c "$B/vmbatch.conf" \
    --pidfile "$B/vmbatchd.pid" 2>>"$B/vmbatchd.log" &
  DPID=$!
  for i in $(seq 100); do [ -S "$B/vmbatchd.sock" ] && break; sleep 0.05; done
  [ -S "$B/vmbatchd.sock" ] || { cat "$B/vmbatchd.log" >&2; die "vmbatchd did not start"; }
  export VMBATCH_SOCKET=$B/vmbatchd.sock
  v() { local u=$1; shift; runuser -u "$u" -- env VMBATCH_SOCKET="$VMBATCH_SOCKET" "$VMAPP" "$@" >>"$B/setup.log" 2>&1 ||
    { tail -5 "$B/setup.log" >&2; die "setup failed: $u: vmapp $*"; }; }
  local per=$(((N + CLIENTS - 1) / CLIENTS))
  v "$ADMIN" --init
  v "$ADMIN" --ugadd --name studs --ugid 10
  for u in "${STUDENTS[@]}"; do
    v "$ADMIN" --uadd --name "$u" --uid "$(id -u "$u")" --ug studs --stordir "$B/home-$u" --maxvms $((per + 1))
  done
  v "$ADMIN" --vmgadd --name exam --vmgid 2 --iprange 10.77.0.10-10.77.3.250
  v "$ADMIN" --vmadd --name tmpl --vmg exam --usediscs "$T/guest/base.qcow2" --derivable --mem "${MEM_MIB}M" \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1"
  v "$ADMIN" --permset +d,+i --ug studs --vm tmpl
  # VM eK belongs to student K mod CLIENTS (client c submits exactly its own)
  local pids=()
  for i in $(seq 0 $((CLIENTS - 1))); do
    (for ((k = i; k < N; k += CLIENTS)); do v "${STUDENTS[$i]}" --vmadd --name "e$k" --base tmpl; done) &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || die "deriving the exam VMs failed (see $B/setup.log)"; done
  local nvm
  nvm=$(runuser -u "$ADMIN" -- env VMBATCH_SOCKET="$VMBATCH_SOCKET" "$VMAPP" --json --vmlist |
    python3 -c 'import json,sys; print(sum(1 for v in json.load(sys.stdin) if v["name"].startswith("e")))')
  [ "$nvm" = "$N" ] || die "$nvm exam VMs derived, wanted $N"
  python3 - "$B/cfg.json" <<PY
import json, sys
json.dump({"backend": "$b", "T": "$B", "n": $N, "clients": $CLIENTS, "slots": $SLOTS, "poll": $POLL, "grace": $GRACE,
           "mem_mib": $MEM_MIB, "vmbatch": "$T/bin/vmbatch", "admin": "$ADMIN",
           "students": "${STUDENTS[*]}".split(), "sched_env": "${SCHED_ENV[*]}".split(),
           "sched_desc": """$SCHED_DESC""", "setup_s": (${EPOCHREALTIME/[.,]/} - $t0) / 1e6},
          open(sys.argv[1], "w"))
PY
  nsenter --net="/run/netns/$NS" env "${SCHED_ENV[@]}" python3 "$DRIVER_PY" "$B/cfg.json" "$T/summary-$b.json" &
  DRIVER=$!
  wait "$DRIVER" || echo "bench-submit: the $b run did not complete (exit $?); its vmbatchd log ends:" \
    "$(tail -5 "$B/vmbatchd.log")" >&2
  DRIVER=
  backend_down
  unset VMBATCH_SOCKET
}

cat >"$DRIVER_PY" <<'PY'
import calendar, json, os, pwd, re, signal, subprocess, sys, threading, time

C = json.load(open(sys.argv[1]))
OUT = sys.argv[2]
BACKEND, B, N, CLIENTS, POLL, GRACE = C["backend"], C["T"], C["n"], C["clients"], C["poll"], C["grace"]
VMB, ADMIN, STUDENTS = C["vmbatch"], C["admin"], C["students"]
SENV = dict(kv.split("=", 1) for kv in C["sched_env"])
HOST = os.uname().nodename
DLOG = os.path.join(B, "vmbatchd.log")
JOBS = os.path.join(B, "state", "jobs")
PLAIN = os.path.join(B, "plain")
os.makedirs(PLAIN, exist_ok=True)
os.chmod(PLAIN, 0o1777)
SGE_VMEM = C["mem_mib"] + 1024 + 256  # what vmbatch's sge backend asks for one vcpu (src/batch/sge.h)
PW = {u: pwd.getpwnam(u) for u in STUDENTS + [ADMIN]}
DEADLINE = 600  # s, per phase: figures are printed for what completed


def env_of(u):
    e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": PW[u].pw_dir, "USER": u, "LOGNAME": u,
         "VMBATCH_SOCKET": os.path.join(B, "vmbatchd.sock"), "VMBATCH_RUN_WAIT": "0", "LC_ALL": "C"}
    e.update(SENV)
    return e


def run_as(u, argv, stdin=None, timeout=120):
    return subprocess.run(argv, input=stdin, env=env_of(u), user=PW[u].pw_uid, group=PW[u].pw_gid,
                          extra_groups=[], capture_output=True, text=True, timeout=timeout)


def root(argv, timeout=60):
    e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
    e.update(SENV)
    return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout)


def owner(k):
    return STUDENTS[k % CLIENTS]


def pct(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def load():
    return open("/proc/loadavg").read().split()[0]


# ---- the scheduler
def sched_jobs():
    r = root(["squeue", "-h", "-o", "%i"] if BACKEND == "slurm" else ["qstat", "-u", "*"])
    return r.stdout.split() if r.returncode == 0 else None


def wait_sched_empty(limit=180):
    end = time.time() + limit
    while time.time() < end:
        if sched_jobs() == []:
            return True
        time.sleep(0.2)
    return False


def hold(on):
    """hold (or release) the queue: jobs are accepted but none starts"""
    if BACKEND == "slurm":
        r = root(["scontrol", "update", "PartitionName=vms", "State=" + ("DOWN" if on else "UP")])
    else:
        r = root(["qmod", "-d" if on else "-e", "all.q@" + HOST])
    if r.returncode != 0:
        sys.exit("cannot %s the queue: %s" % ("hold" if on else "release", r.stdout + r.stderr))


def cancel_all():
    if BACKEND == "slurm":
        root(["scancel", "--partition=vms"])
    else:
        root(["qdel", "-u", "*"])


# ---- submitting
def submit_all(fn):
    """N submissions, CLIENTS concurrent clients; client c submits k = c, c+CLIENTS, ..."""
    recs = [None] * N

    def client(c):
        for k in range(c, N, CLIENTS):
            recs[k] = fn(k)

    ts = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return recs


def timed(u, argv, stdin=None):
    t0 = time.time()
    r = run_as(u, argv, stdin)
    return r, t0, time.time()


def plain_submit(k, tag="p"):
    out = os.path.join(PLAIN, "%s%d.out" % (tag, k))
    if BACKEND == "slurm":
        argv = ["sbatch", "--parsable", "--job-name=bsplain-%d" % k, "--output=" + out, "--no-requeue",
                "--mem=%dM" % C["mem_mib"], "--cpus-per-task=1", "--wrap", "date +%s.%N"]
        stdin = None
    else:
        argv = ["qsub", "-terse", "-N", "bsplain-%d" % k, "-o", out, "-j", "y", "-S", "/bin/sh", "-b", "n",
                "-wd", "/", "-r", "n", "-C", "", "-l", "h_vmem=%dM" % SGE_VMEM]
        stdin = "date +%s.%N\n"
    if os.path.exists(out):
        os.unlink(out)
    r, t0, t1 = timed(owner(k), argv, stdin)
    ok = r.returncode == 0 and r.stdout.strip().split(";")[0].isdigit()
    return {"t0": t0, "t1": t1, "ok": ok, "err": "" if ok else (r.stdout + r.stderr).strip()[-300:], "out": out}


def vm_submit(k):
    r, t0, t1 = timed(owner(k), [VMB, "--json", "vm", "run", "e%d" % k, "--isolate"])
    rec = {"t0": t0, "t1": t1, "ok": r.returncode == 0, "id": None, "k": k}
    if rec["ok"]:
        try:
            rec["id"] = int(json.loads(r.stdout)["id"])
        except (ValueError, KeyError, TypeError):
            rec["ok"] = False
    if not rec["ok"]:
        rec["err"] = (r.stdout + r.stderr).strip()[-300:]
    return rec


STAMP = re.compile(r"^(\d{9,}\.\d+)\s*$", re.M)


def plain_wait(recs, limit=DEADLINE):
    """wait until every plain job wrote its start time; returns how many never did"""
    end = time.time() + limit
    pending = [r for r in recs if r["ok"]]
    while pending and time.time() < end:
        for r in pending:
            try:
                m = STAMP.search(open(r["out"]).read())
                r["start"] = float(m.group(1)) if m else None
            except OSError:
                r["start"] = None
        pending = [r for r in pending if r["start"] is None]
        if pending:
            time.sleep(0.1)
    return len(pending)


# ---- watching VMs
def map_list():
    t0 = time.time()
    r = run_as(ADMIN, [VMB, "--json", "map", "list"], timeout=120)
    t = time.time()
    if r.returncode != 0:
        return None, t0, t
    return {int(i["id"]): i for i in json.loads(r.stdout)}, t0, t


QEMU_PID = re.compile(r"qemu pid (\d+)")


def kill_qemu(inst):
    """SIGKILL the instance's qemu (its pid from the starter's job log); True when done or gone"""
    try:
        m = QEMU_PID.search(open(os.path.join(JOBS, "instance-%d.log" % inst), errors="replace").read())
    except OSError:
        return False
    if not m:
        return False
    pid = int(m.group(1))
    try:
        if not open("/proc/%d/comm" % pid).read().startswith("qemu"):
            return True  # exited, pid reused
        os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass
    return True


LOGLINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z .*?instance (\d+)"
                     r"( submitted to|: monitor attached|: running$| of vm \d+ ended)")


def log_epoch(stamp):
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + int(stamp[20:23]) / 1000.0


def parse_log_line(line):
    m = LOGLINE.match(line.rstrip("\n"))
    if not m:
        return None
    w = m.group(3)
    what = ("submitted" if "submitted" in w else "attached" if "attached" in w
            else "running" if "running" in w else "ended")
    return int(m.group(2)), what, log_epoch(m.group(1))


def daemon_log():
    ev = {}
    for line in open(DLOG, errors="replace"):
        p = parse_log_line(line)
        if p:
            ev.setdefault(p[0], {}).setdefault(p[1], p[2])
    return ev


class Watch:
    """Two threads. One polls `vmbatch --json map list` (as the admin) every POLL s
    and notes when each instance is first seen running (when that answer arrived),
    then kills its qemu. The other follows vmbatchd's log: an instance the map list
    has not shown running GRACE s after the log said so is killed anyway (the map
    list answers slowly while vmbatchd is busy; a guest left booting would eat the
    CPU the others need)."""

    def __init__(self):
        self.seen, self.logrun, self.late, self.tokill = {}, {}, set(), set()
        self.polls, self.fails, self.last = [], 0, None
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.off = os.path.getsize(DLOG)
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self.poller, self.follower)]
        for t in self.threads:
            t.start()

    def poller(self):
        while not self.stop.is_set():
            m, t0, t = map_list()
            with self.lock:
                if m is None:
                    self.fails += 1
                else:
                    self.polls.append(t - t0)
                    self.last = (t0, m)
                    for iid, i in m.items():
                        if i.get("state") in ("running", "paused") and iid not in self.seen:
                            self.seen[iid] = t
                            self.tokill.add(iid)
            self.kill_pending()
            time.sleep(max(0.0, t0 + POLL - time.time()))

    def follower(self):
        buf = ""
        while not self.stop.is_set():
            with open(DLOG, errors="replace") as f:
                f.seek(self.off)
                chunk = f.read()
                self.off = f.tell()
            buf += chunk
            lines = buf.split("\n")
            buf = lines.pop()
            now = time.time()
            with self.lock:
                for line in lines:
                    p = parse_log_line(line)
                    if p and p[1] == "running":
                        self.logrun.setdefault(p[0], now)
                for iid, t in self.logrun.items():
                    if iid not in self.seen and iid not in self.late and now - t > GRACE:
                        self.late.add(iid)
                        self.tokill.add(iid)
            self.kill_pending()
            time.sleep(0.05)

    def kill_pending(self):
        with self.lock:
            todo = list(self.tokill)
        for iid in todo:
            if kill_qemu(iid):
                with self.lock:
                    self.tokill.discard(iid)

    def settle(self, recs, limit=DEADLINE):
        """until every submitted instance ran (or never will) and the map list is empty"""
        ids = {r["id"] for r in recs if r["ok"]}
        t_sub = max(r["t1"] for r in recs)
        end = time.time() + limit
        while time.time() < end:
            with self.lock:
                last = self.last
                done = last and last[0] > t_sub and not last[1]
            if done:
                break
            time.sleep(0.1)
        self.stop.set()
        for t in self.threads:
            t.join()
        return ids


def vm_run_phase(recs_fn):
    w = Watch()
    recs = recs_fn()
    w.settle(recs)
    return recs, w


def stop_all(recs):
    """stop queued instances through vmbatch, as their owners (CLIENTS at once)"""
    ok = [r for r in recs if r["ok"]]

    def fn(k):
        r = ok[k] if k < len(ok) else None
        if r is None:
            return None
        x, t0, t1 = timed(owner(r["k"]), [VMB, "instance", "stop", str(r["id"])])
        return {"t0": t0, "t1": t1, "ok": x.returncode == 0, "err": (x.stdout + x.stderr).strip()[-300:]}

    res = [x for x in submit_all(fn) if x]
    return res


def wait_submitted(recs, limit=180):
    """vmbatchd's log stamps of "submitted to ... as job" for the instances of recs."""
    ids = {r["id"] for r in recs if r and r["ok"]}
    deadline, done = time.time() + limit, []
    while time.time() < deadline:
        ev = daemon_log()
        done = [ev[i]["submitted"] for i in ids if "submitted" in ev.get(i, {})]
        if len(done) == len(ids):
            break
        time.sleep(0.2)
    return done


def rate(recs):
    recs = [r for r in recs if r]
    ok = [r for r in recs if r["ok"]]
    span = max(r["t1"] for r in recs) - min(r["t0"] for r in recs)
    return len(ok) / span, span, [r["t1"] - r["t0"] for r in ok]


def row(name, v):
    if not v:
        return "  %-54s %8s" % (name, "-")
    return "  %-54s %8.3f %8.3f %8.3f %8.3f  (n=%d)" % (name, pct(v, .5), pct(v, .95), max(v), min(v), len(v))


def rate_row(name, recs):
    rt, sp, calls = rate(recs)
    print("       %-30s %8.1f %8.2f %11.0f %7.0f %7.0f" % (name, rt, sp, pct(calls, .5) * 1000,
                                                          pct(calls, .95) * 1000, max(calls) * 1000))
    return rt


def failures(recs, what):
    bad = [r for r in recs if r and not r["ok"]]
    if bad:
        print("       %s: %d failed, e.g. %s" % (what, len(bad), bad[0].get("err", "?").replace("\n", " | ")))
    return len(bad)


# ------------------------------------------------------------------ run
PLAIN_NAME = "plain " + ("sbatch" if BACKEND == "slurm" else "qsub")
print("\n== backend %s: %s" % (BACKEND, C["sched_desc"]), flush=True)
print("   setup (namespace, scheduler, vmbatchd, %d students, %d derived VMs): %.1f s" % (CLIENTS, N, C["setup_s"]))
print("   plain job: %s as the student, script 'date +%%s.%%N' (the job writes its start time)" %
      ("sbatch --wrap, -c 1 --mem=%dM" % C["mem_mib"] if BACKEND == "slurm"
       else "qsub -terse, script on stdin, -l h_vmem=%dM" % SGE_VMEM))
print("   VM job:    vmbatch --json vm run eK --isolate as its owner, VMBATCH_RUN_WAIT=0 (returns once"
      " submitted); test guest, %dM, TCG" % C["mem_mib"])

# warm-up, not counted: one plain job, one VM to running (then killed)
w = plain_submit(0, tag="warm")
if not w["ok"] or plain_wait([w], 60):
    sys.exit("warm-up plain job failed: %s" % w.get("err"))
wait_sched_empty()
wr, ww = vm_run_phase(lambda: [vm_submit(0)])
if not wr[0]["ok"] or wr[0]["id"] not in ww.logrun:
    sys.exit("warm-up VM did not run: %s" % wr[0].get("err", "never running"))
wait_sched_empty()
fails = 0

# (a) submit throughput, queue held: nothing starts, nothing else competes
print("\n   (a) submit throughput, queue held (%s), %d concurrent submitters; load average %s" %
      ("partition vms State=DOWN" if BACKEND == "slurm" else "qmod -d all.q", CLIENTS, load()), flush=True)
hold(True)
PA = submit_all(plain_submit)
cancel_all()
wait_sched_empty()
VA = submit_all(vm_submit)
# vm run answers once the instance is recorded; sbatch/qsub run beside it in
# child processes of vmbatchd: the throughput that counts is until the last
# job reached the scheduler ("submitted to ... as job" in the daemon log)
VSUB = wait_submitted(VA)
SA = stop_all(VA)
wait_sched_empty()
hold(False)
m, _, _ = map_list()
print("       %-30s %8s %8s %11s %7s %7s" % ("", "jobs/s", "N in s", "call p50 ms", "p95 ms", "max ms"))
pa_rate = rate_row(PLAIN_NAME, PA)
rate_row("vmbatch vm run (call returns)", VA)
t_first = min(r["t0"] for r in VA if r)
va_span = max(VSUB) - t_first if VSUB else float("inf")
va_rate = len(VSUB) / va_span
print("       %-30s %8.1f %8.2f %11s %7s %7s" % ("vmbatch: job in the scheduler", va_rate, va_span, "-", "-", "-"))
if len(VSUB) < len([r for r in VA if r and r["ok"]]):
    print("       (only %d of the jobs reached the scheduler)" % len(VSUB))
rate_row("(vmbatch instance stop, queued)", SA)
print("       overhead: %s jobs/s / vmbatch jobs in the scheduler/s = %.2fx" % (PLAIN_NAME, pa_rate / va_rate))
fails += failures(PA, PLAIN_NAME) + failures(VA, "vmbatch vm run") + failures(SA, "vmbatch instance stop")
if m:
    print("       (%d instances left in the map list after the stops)" % len(m))

# (b) submit -> running, queue open
print("\n   (b) submit -> started/running, queue open, %d job slots, %d concurrent submitters; load average %s" %
      (C["slots"], CLIENTS, load()), flush=True)
t_p = time.time()
PB = submit_all(plain_submit)
p_missing = plain_wait(PB)
wait_sched_empty()
load1 = load()
VB, W = vm_run_phase(lambda: submit_all(vm_submit))
wait_sched_empty()
EV = daemon_log()

p_lat = [r["start"] - r["t0"] for r in PB if r["ok"] and r.get("start")]
v_ok = [r for r in VB if r["ok"]]
ids = [r["id"] for r in v_ok]


def since_submit(key):
    return [EV[r["id"]][key] - r["t0"] for r in v_ok if key in EV.get(r["id"], {})]


v_map = [W.seen[r["id"]] - r["t0"] for r in v_ok if r["id"] in W.seen]
v_att, v_run, v_sub = since_submit("attached"), since_submit("running"), since_submit("submitted")
v_a2r = [EV[i]["running"] - EV[i]["attached"] for i in ids if {"running", "attached"} <= EV.get(i, {}).keys()]
v_end = [EV[i]["ended"] - EV[i]["running"] for i in ids if {"running", "ended"} <= EV.get(i, {}).keys()]
never = [i for i in ids if "running" not in EV.get(i, {})]
p_all = max((r["start"] for r in PB if r.get("start")), default=float("nan")) - min(r["t0"] for r in PB)
v_all = max((EV[i]["running"] for i in ids if "running" in EV.get(i, {})), default=float("nan")) - \
    min(r["t0"] for r in VB)
print("       (load average %s before the VM part)" % load1)
print("       %-30s %8s %8s %11s %7s %7s" % ("submit calls meanwhile", "jobs/s", "N in s", "call p50 ms", "p95 ms",
                                            "max ms"))
rate_row(PLAIN_NAME, PB)
rate_row("vmbatch vm run", VB)
print("  %-54s %8s %8s %8s %8s" % ("seconds from the start of the job's submit call", "p50", "p95", "max", "min"))
print(row("plain job started (its own date)", p_lat))
print(row("VM job started (vmbatchd log: monitor attached)", v_att))
print(row("VM running (vmbatchd log stamp of the state change)", v_run))
print(row("VM running (first map list answer showing it)", v_map))
if p_lat and v_run:
    print("       ratio VM running (log) / plain started: p50 %.2fx  p95 %.2fx  max %.2fx" %
          (pct(v_run, .5) / pct(p_lat, .5), pct(v_run, .95) / pct(p_lat, .95), max(v_run) / max(p_lat)))
if p_lat and v_map:
    print("       ratio VM running (map list) / plain started: p50 %.2fx  p95 %.2fx  max %.2fx%s" %
          (pct(v_map, .5) / pct(p_lat, .5), pct(v_map, .95) / pct(p_lat, .95), max(v_map) / max(p_lat),
           "" if len(v_map) == len(ids) else "  (only the %d seen there)" % len(v_map)))
print("       all %d started: plain after %.2f s, VMs running after %.2f s (from the first submit call)" %
      (N, p_all, v_all))
print("       VM details, s:")
print(row("submit call -> job submitted (vmbatchd log)", v_sub))
print(row("job started -> running (starter, tap, lease, qemu, QMP)", v_a2r))
print(row("running -> freed (qemu killed by the bench, job ended)", v_end))
print(row("map list call, every %.2f s (%d calls)" % (POLL, len(W.polls)), W.polls))
if W.late:
    print("       %d VMs were killed by the fallback, %.1f s after the log said running with no map list answer"
          " showing them yet; %d of them never appeared running in one" %
          (len(W.late), GRACE, len([i for i in W.late if i not in W.seen])))
fails += failures(PB, PLAIN_NAME) + failures(VB, "vmbatch vm run")
if p_missing:
    print("       %d plain jobs never started" % p_missing)
if never:
    print("       %d VMs never reached running (e.g. instance %d: see its job log)" % (len(never), never[0]))
if W.fails:
    print("       %d map list calls failed" % W.fails)
fails += p_missing + len(never)

json.dump({"backend": BACKEND, "n": N, "pa_rate": pa_rate, "va_rate": va_rate,
           "p": [pct(p_lat, .5), pct(p_lat, .95), max(p_lat, default=float("nan"))],
           "vlog": [pct(v_run, .5), pct(v_run, .95), max(v_run, default=float("nan"))],
           "vmap": [pct(v_map, .5), pct(v_map, .95), max(v_map, default=float("nan"))], "nmap": len(v_map),
           "p_all": p_all, "v_all": v_all, "fails": fails}, open(OUT, "w"))
PY

T_START=${EPOCHREALTIME/[.,]/}
echo "bench-submit: exam start, N=$N jobs per kind, backends: $BACKENDS; $CLIENTS concurrent submitters," \
  "$SLOTS job slots; $(nproc) CPUs, guests under TCG"
echo "bench-submit: (a) with the queue held; (b) with it open: each job ends once it has started (a plain job" \
  "after its 'date', a VM when the bench kills its qemu on seeing it running), the others queue for the $SLOTS slots"
for b in $BACKENDS; do run_backend "$b"; done

echo
echo "== summary, N=$N per kind ((a): queue held; (b): queue open, $SLOTS slots; seconds; ratio = vmbatch / plain)"
python3 - "$T" $BACKENDS <<'PY'
import json, os, sys
T = sys.argv[1]
print("%-6s | %-27s | %-20s | %-20s | %-20s | %-17s | %s" % (
    "", "(a) submits/s plain vmbatch", "(b) plain p50/95/max", "VM running (log)", "VM running (map)",
    "ratio p50/95 (log)", "all started plain / VMs"))
for b in sys.argv[2:]:
    f = os.path.join(T, "summary-%s.json" % b)
    if not os.path.exists(f):
        print("%-6s | did not complete" % b)
        continue
    s = json.load(open(f))
    tri = lambda v: "%6.2f %6.2f %6.2f" % tuple(v)
    print("%-6s | %7.1f %7.1f  = %5.2fx | %-20s | %-20s | %-20s | %6.2fx %6.2fx   | %6.1f / %6.1f%s" % (
        b, s["pa_rate"], s["va_rate"], s["pa_rate"] / s["va_rate"], tri(s["p"]), tri(s["vlog"]), tri(s["vmap"]),
        s["vlog"][0] / s["p"][0], s["vlog"][1] / s["p"][1], s["p_all"], s["v_all"],
        "" if s["nmap"] == s["n"] else "  (map list saw %d of the VMs running)" % s["nmap"]) +
        ("  [%d failures]" % s["fails"] if s["fails"] else ""))
PY
echo "bench-submit: total $(( (${EPOCHREALTIME/[.,]/} - T_START) / 1000000 )) s"
