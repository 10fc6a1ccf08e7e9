#!/bin/bash
# sge-up.sh - a single-host Grid Engine for vmbatch's `sge` batch backend:
# Son of Grid Engine 8.1.9 from Debian 12's gridengine-{master,exec,client,common},
# sge_qmaster and sge_execd both on this host, started directly (no systemd).
#
#   scripts/sge-up.sh          install (if missing), configure, start; returns once
#                              all.q accepts jobs. Safe to re-run: what runs is kept.
#   scripts/sge-up.sh stop     stop the daemons that THIS script started (their pids
#                              and start times are recorded in /run/vmbatch-sge-up);
#                              daemons someone else started are left alone.
#   scripts/sge-up.sh status   print what runs and whether all.q takes jobs
#
# Exit status: 0 ready; 2 Grid Engine cannot be installed here (callers may skip);
# 1 anything else. Clients then need SGE_ROOT=/var/lib/gridengine SGE_CELL=default
# (the Debian defaults, which vmbatch's sge backend also assumes).
#
# What it sets up, and why:
#  - packages installed non-interactively; debconf preseeded (cell "default",
#    master = this host) so the master's postinst initialises the cell;
#  - host_aliases: the hostname resolves to 127.0.0.1, which resolves back to
#    "localhost"; Grid Engine insists that both directions agree;
#  - scheduler: schedule_interval 0:0:1, flush_submit_sec/flush_finish_sec 1
#    (defaults wait up to 15 s before dispatching a job);
#  - global config: load_report_time 5 s; min_uid/min_gid stay at 1000, so
#    jobs of root and of system users are refused (vmbatch submits as the VM's owner);
#  - all.q on this host with SGE_SLOTS slots (default: nproc), a parallel
#    environment "smp" ($pe_slots) for VMs with several vcpus, and
#    terminate_method "kill -s TERM $job_pid": qdel then sends SIGTERM to the
#    job's own process, vmbatch-starter, which presses the guest's ACPI power
#    button and kills qemu 5 s later. Grid Engine's default (SIGKILL) gives the
#    guest no chance; a signal name would go to the job's whole process group
#    (a qemu sharing it would quit before the guest powers off). Grid Engine
#    never follows a terminate_method with SIGKILL: a job that ignores it stays
#    in "dr", and `qdel -f` only forgets it (its processes keep running);
#  - both daemons started with `env -i` and a minimal environment: sge_execd
#    passes its own environment on to every job.
#
# Knobs: SGE_SLOTS, SGE_NO_INSTALL=1 (exit 2 instead of installing).
set -euo pipefail

export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
COMMON=$SGE_ROOT/$SGE_CELL/common
QSPOOL=/var/spool/gridengine/qmaster
ESPOOL=/var/spool/gridengine/execd
SPOOLDB=/var/spool/gridengine/spooldb
RUN=/run/vmbatch-sge-up
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
T0=${EPOCHREALTIME/,/.}

say() { awk -v a="$T0" -v b="${EPOCHREALTIME/,/.}" -v m="$*" 'BEGIN { printf "[sge-up %5.1fs] %s\n", b - a, m }' >&2; }
die() { echo "sge-up: $*" >&2; exit "${2:-1}"; }
[ "$(id -u)" -eq 0 ] || die "run me as root"

# ---- processes: "NAME PID STARTTIME" records, so a recycled pid is never ours
starttime() { # field 22 of /proc/PID/stat; fails for gone or zombie processes
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  set -- $s
  [ "$1" != Z ] && [ "$1" != X ] || return 1
  echo "${20}"
}
pid_of() { # pid_of PIDFILE: the pid in it, if that process lives
  local p
  [ -s "$1" ] && p=$(tr -dc 0-9 <"$1") && [ -n "$p" ] && starttime "$p" >/dev/null && echo "$p"
}
remember() { # remember NAME PID
  mkdir -p "$RUN"
  echo "$1 $2 $(starttime "$2")" >>"$RUN/started"
}
stop_ours() {
  [ -s "$RUN/started" ] || { echo "sge-up: nothing of mine to stop" >&2; return 0; }
  local name pid st order
  # execd before qmaster
  for order in execd qmaster; do
    while read -r name pid st; do
      [ "$name" = "$order" ] || continue
      if [ "$(starttime "$pid" 2>/dev/null)" = "$st" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 200); do [ "$(starttime "$pid" 2>/dev/null)" = "$st" ] || break; sleep 0.05; done
        if [ "$(starttime "$pid" 2>/dev/null)" = "$st" ]; then
          kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "sge-up: stopped sge_$name (pid $pid)" >&2
      fi
    done <"$RUN/started"
  done
  rm -f "$RUN/started"
}

H=$(hostname)
qmaster_pid() { pid_of "$QSPOOL/qmaster.pid"; }
execd_pid() { local f; for f in "$ESPOOL"/*/execd.pid; do pid_of "$f" && return 0; done; return 1; }
queue_state() { # flags of all.q@H ("ok" when none), empty when unknown
  qstat -f -q "all.q@$H" 2>/dev/null | awk -v q="all.q@$H" '$1 == q { print ($6 == "" ? "ok" : $6) }'
}

case "${1:-up}" in
  stop) stop_ours; exit 0 ;;
  status)
    echo "qmaster: $(qmaster_pid || echo down)  execd: $(execd_pid || echo down)  all.q@$H: $(queue_state || true)"
    exit 0 ;;
  up) ;;
  *) die "usage: $0 [up|stop|status]" ;;
esac

# ---- packages
PKGS=(gridengine-common gridengine-client gridengine-master gridengine-exec)
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "${SGE_NO_INSTALL:-0}" = 1 ] && die "not installed: ${missing[*]}" 2
  command -v apt-get >/dev/null || die "no apt-get: cannot install ${missing[*]}" 2
  debconf-set-selections <<EOF
gridengine-common shared/gridengineconfig boolean true
gridengine-common shared/gridenginecell string $SGE_CELL
gridengine-common shared/gridenginemaster string $H
gridengine-client shared/gridengineconfig boolean true
gridengine-client shared/gridenginemaster string $H
gridengine-exec shared/gridenginemaster string $H
gridengine-master shared/gridenginemaster string $H
EOF
  inst() {
    DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=300 --no-install-recommends \
      install "${missing[@]}" </dev/null >/dev/null
  }
  # the package lists are usually there already: try without an update first
  inst || { apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null && inst; } ||
    die "cannot install ${missing[*]}" 2
  say "installed ${missing[*]}"
fi
for b in /usr/sbin/sge_qmaster /usr/sbin/sge_execd /usr/bin/qsub /usr/bin/qconf; do
  [ -x "$b" ] || die "$b missing after the install" 2
done

# ---- the cell: initialised by the master's postinst unless debconf said no
if [ ! -e "$SPOOLDB/sge" ]; then
  [ -s "$COMMON/bootstrap" ] || install -m 0644 -o sgeadmin -g sgeadmin /usr/share/gridengine/default-bootstrap "$COMMON/bootstrap"
  install -d -o sgeadmin -g sgeadmin "$SPOOLDB" "$QSPOOL" "$QSPOOL/job_scripts"
  runuser -u sgeadmin -- env SGE_ROOT=$SGE_ROOT /usr/share/gridengine/scripts/init_cluster \
    "$SGE_ROOT" "$SGE_CELL" "$SPOOLDB" sgeadmin >/dev/null || die "init_cluster failed"
  say "cell initialised"
fi
# Forward and reverse lookups of this host must agree: alias every name the
# reverse lookup of our address gives (e.g. "localhost") to the hostname.
IP=$(getent ahostsv4 "$H" | awk '{ print $1; exit }')
[ -n "$IP" ] || die "hostname $H does not resolve"
ALIASES=$(getent hosts "$IP" | awk -v h="$H" '{ for (i = 2; i <= NF; i++) if ($i != h) printf " %s", $i }')
want_aliases=${ALIASES:+$H$ALIASES}
if [ -n "$want_aliases" ]; then
  [ "$(cat "$COMMON/host_aliases" 2>/dev/null)" = "$want_aliases" ] || echo "$want_aliases" >"$COMMON/host_aliases"
else
  rm -f "$COMMON/host_aliases"
fi
[ "$(cat "$COMMON/act_qmaster" 2>/dev/null)" = "$H" ] || echo "$H" >"$COMMON/act_qmaster"
chown sgeadmin:sgeadmin "$COMMON"/act_qmaster "$COMMON"/host_aliases 2>/dev/null || true

# Daemons get a clean environment: sge_execd hands its own on to jobs.
DENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SGE_ROOT=$SGE_ROOT SGE_CELL=$SGE_CELL)

# ---- qmaster
if ! pid=$(qmaster_pid); then
  "${DENV[@]}" /usr/sbin/sge_qmaster || die "sge_qmaster did not start"
  for _ in $(seq 300); do pid=$(qmaster_pid) && break; sleep 0.05; done
  [ -n "${pid:-}" ] || die "sge_qmaster wrote no pid file"
  remember qmaster "$pid"
  say "sge_qmaster started (pid $pid)"
fi
for _ in $(seq 400); do qconf -sh >/dev/null 2>&1 && break; sleep 0.05; done
qconf -sh >/dev/null || die "sge_qmaster does not answer"

# ---- configuration (each object written only when it differs)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# set_attrs FILE KEY VALUE...: set attributes in a qconf dump, rewriting only
# the lines whose value differs (so an unchanged object compares equal)
set_attrs() {
  local f=$1; shift
  while [ $# -ge 2 ]; do
    awk -v k="$1" -v v="$2" '
      $1 == k { cur = $0; sub(/^[^ \t]+[ \t]+/, "", cur); if (cur != v) { printf "%-32s %s\n", k, v; next } }
      { print }' "$f" >"$f.new" && mv "$f.new" "$f"
    shift 2
  done
}
# qc ARGS...: qconf, quiet unless it fails
qc() { local out; out=$(qconf "$@" 2>&1) || { printf 'sge-up: qconf %s: %s\n' "$*" "$out" >&2; return 1; }; }
qconf -sh 2>/dev/null | grep -qx "$H" || qc -ah "$H"
qconf -ss 2>/dev/null | grep -qx "$H" || qc -as "$H"
if ! qconf -se "$H" >/dev/null 2>&1; then
  printf '%s\n' "hostname $H" "load_scaling NONE" "complex_values NONE" "user_lists NONE" \
    "xuser_lists NONE" "projects NONE" "xprojects NONE" "usage_scaling NONE" "report_variables NONE" >"$W/host"
  qc -Ae "$W/host"
fi
# sge_execd takes a second to register: start it now (this host is an
# exec host already), configure the rest meanwhile
EXECD_LAUNCH=
if ! execd_pid >/dev/null; then
  "${DENV[@]}" /usr/sbin/sge_execd >"$W/execd.out" 2>&1 &
  EXECD_LAUNCH=$!
fi

qconf -sconf global | grep -v '^#' >"$W/global.old"
cp "$W/global.old" "$W/global"
set_attrs "$W/global" load_report_time 00:00:05
cmp -s "$W/global" "$W/global.old" || qc -Mconf "$W/global"

qconf -ssconf >"$W/sched.old"
cp "$W/sched.old" "$W/sched"
set_attrs "$W/sched" schedule_interval 0:0:1 flush_submit_sec 1 flush_finish_sec 1 \
  job_load_adjustments NONE load_adjustment_decay_time 0:0:0
cmp -s "$W/sched" "$W/sched.old" || qc -Msconf "$W/sched"

if ! qconf -shgrp @allhosts >/dev/null 2>&1; then
  printf 'group_name @allhosts\nhostlist %s\n' "$H" >"$W/allhosts"
  qc -Ahgrp "$W/allhosts"
elif ! qconf -shgrp @allhosts | grep -qw -- "$H"; then
  qc -aattr hostgroup hostlist "$H" @allhosts
fi
cat >"$W/smp" <<EOF
pe_name            smp
slots              9999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
qconf -sp smp >/dev/null 2>&1 || qc -Ap "$W/smp"

SLOTS=${SGE_SLOTS:-$(nproc)}
KILL=$(type -P kill || true)
TERMINATE=${KILL:+$KILL -s TERM \$job_pid}
if ! qconf -sq all.q >"$W/q.old" 2>/dev/null; then
  QUEUE_NEW=1 # Debian's init_cluster makes no queue: start from Grid Engine's defaults
  {
    for a in qname:all.q hostlist:NONE seq_no:0 load_thresholds:NONE suspend_thresholds:NONE \
      nsuspend:1 suspend_interval:00:05:00 priority:0 min_cpu_interval:00:05:00 processors:UNDEFINED \
      "qtype:BATCH INTERACTIVE" ckpt_list:NONE pe_list:NONE rerun:FALSE slots:1 tmpdir:/tmp \
      shell:/bin/sh prolog:NONE epilog:NONE shell_start_mode:posix_compliant starter_method:NONE \
      suspend_method:NONE resume_method:NONE terminate_method:NONE notify:00:00:60 owner_list:NONE \
      user_lists:NONE xuser_lists:NONE subordinate_list:NONE complex_values:NONE projects:NONE \
      xprojects:NONE calendar:NONE initial_state:default; do
      printf '%-32s %s\n' "${a%%:*}" "${a#*:}"
    done
    for l in rt cpu fsize data stack core rss vmem; do
      printf '%-32s INFINITY\n' "s_$l" "h_$l"
    done
  } >"$W/q.old"
fi
cp "$W/q.old" "$W/q"
set_attrs "$W/q" qname all.q hostlist @allhosts slots "$SLOTS" pe_list smp shell /bin/sh \
  shell_start_mode posix_compliant terminate_method "${TERMINATE:-SIGTERM}" load_thresholds NONE \
  suspend_thresholds NONE prolog NONE epilog NONE rerun FALSE tmpdir /tmp
if [ -n "${QUEUE_NEW:-}" ]; then
  qc -Aq "$W/q"
elif ! cmp -s "$W/q" "$W/q.old"; then
  qc -Mq "$W/q"
fi
say "configured: all.q@$H, $SLOTS slots, pe smp"

# ---- execd
if [ -n "$EXECD_LAUNCH" ]; then
  wait "$EXECD_LAUNCH" || { cat "$W/execd.out" >&2; die "sge_execd did not start"; }
  pid=
  for _ in $(seq 300); do pid=$(execd_pid) && break; sleep 0.05; done
  [ -n "$pid" ] || die "sge_execd wrote no pid file"
  remember execd "$pid"
  say "sge_execd started (pid $pid)"
fi
# ready when the queue instance shows no flags (a/u: no load report yet;
# E: error, cleared here); "d" alone is an admin's qmod -d, left as it is
st=
for _ in $(seq 600); do
  st=$(queue_state)
  [ "$st" = ok ] || [ "$st" = d ] && break
  case "$st" in *E*) qmod -c "all.q@$H" >/dev/null 2>&1 || true ;; esac
  sleep 0.05
done
case "$st" in
  ok) say "ready: all.q@$H takes jobs" ;;
  d) say "ready, but all.q@$H is disabled (qmod -e all.q@$H enables it)" ;;
  *) die "all.q@$H is not usable (state '${st:-unknown}')" ;;
esac
