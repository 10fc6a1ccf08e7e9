#!/bin/bash
# slurm-up.sh - a single-node Slurm for vmbatch's `batch_backend = slurm`, on
# Debian 12, from Debian's packages, without systemd. Run as root.
#
#   scripts/slurm-up.sh          install Slurm + munge if missing, write the
#                                slurm.conf for this host, start munged,
#                                slurmctld -i and slurmd (each only if not
#                                already running), wait until the node takes
#                                jobs. Idempotent; well under a second when
#                                installed and running, ~1-5 s to start.
#   scripts/slurm-up.sh stop     stop the daemons THIS script started (it
#                                records their pids), nothing else. Jobs keep
#                                running in their slurmstepd: scancel first.
#   scripts/slurm-up.sh status   what runs, and who started it.
#
# Two ways to run it:
#   - the machine's Slurm (default): /etc/slurm/slurm.conf, Debian's paths
#     (/run/slurm*.pid, /var/lib/slurm, /var/log/slurm); every Slurm command
#     finds it without SLURM_CONF. A slurm.conf this script did not write is
#     left alone (exit 4).
#   - a private Slurm (SLURM_UP_DIR=DIR): config, state, spool, logs and pid
#     files all under DIR; clients need SLURM_CONF=DIR/slurm.conf (the script
#     prints it, and vmbatchd passes SLURM_CONF on to sbatch/squeue/scancel).
#     With SLURM_UP_NETNS=NAME its daemons run inside network namespace NAME
#     (nsenter --net, which keeps the real /sys that slurmd's cgroup code
#     needs, unlike `ip netns exec`), so that a vmbatchd in that namespace
#     reaches slurmctld at 127.0.0.1 and the jobs (vmbatch-starter, qemu) run
#     there too. The integration test uses this; the stop needs the same
#     variables.
# munged is the machine's either way (its unix socket crosses namespaces),
# started by scripts/munge-up.sh if it does not run; its pid is recorded with
# the daemons' (/run/vmbatch-slurm, or SLURM_UP_DIR/run), so `stop` stops only
# a munged started here, and leaves it running while others still use it.
#
# The configuration (rewritten only when it changes) is scripts/slurm-conf.sh's,
# whose header explains vmbatch's choices (CR_Core_Memory, proctrack/pgid,
# KillWait, ...), for one node:
#   - SlurmctldHost and NodeAddr 127.0.0.1: nothing leaves the machine.
#   - RealMemory: 90 % of MemTotal (the rest is the host's and qemu's overhead).
#   - CPUs: 16 per core (SlurmdParameters=config_overrides lets the node
#     claim them): lab and exam VMs mostly idle, memory is the real limit.
#
# Environment:
#   SLURM_UP_DIR       a private Slurm under this directory (see above)
#   SLURM_UP_NETNS     with SLURM_UP_DIR: run its daemons in this netns
#   SLURM_UP_NODE      node name (default: `hostname -s`)
#   SLURM_UP_CPUS      CPUs the node offers (default: 16 x nproc)
#   SLURM_UP_MEM_MIB   RealMemory in MiB (default: 90 % of MemTotal)
#   SLURM_UP_NO_INSTALL=1   never run apt-get
#
# Exit status: 0 ready (or stopped), 1 failed, 2 usage,
#              3 Slurm is not installed and cannot be installed,
#              4 /etc/slurm/slurm.conf exists and was not written by this script.
set -euo pipefail

MARK="# written by vmbatch scripts/slurm-up.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MUNGED_PIDFILE=/run/munge/munged.pid
DIR=${SLURM_UP_DIR:-}
NS=${SLURM_UP_NETNS:-}
if [ -n "$DIR" ]; then
  case "$DIR" in /*) ;; *) echo "slurm-up: SLURM_UP_DIR must be absolute" >&2; exit 2 ;; esac
  CONF=$DIR/slurm.conf
  RUN=$DIR/run                          # daemon pid files, and which of them are ours
  STATE=$DIR/state SPOOL=$DIR/spool LOGS=$DIR/log
  CTLD_PIDFILE=$RUN/slurmctld.pid SLURMD_PIDFILE=$RUN/slurmd.pid
  export SLURM_CONF=$CONF
else
  [ -z "$NS" ] || { echo "slurm-up: SLURM_UP_NETNS needs SLURM_UP_DIR" >&2; exit 2; }
  CONF=/etc/slurm/slurm.conf
  RUN=/run/vmbatch-slurm
  STATE=/var/lib/slurm/slurmctld SPOOL=/var/lib/slurm/slurmd LOGS=/var/log/slurm
  CTLD_PIDFILE=/run/slurmctld.pid SLURMD_PIDFILE=/run/slurmd.pid
fi
# daemons and the clients this script runs: in the namespace, clean environment
NSX=()
[ -z "$NS" ] || NSX=(nsenter "--net=/run/netns/$NS")
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C ${DIR:+SLURM_CONF=$CONF})
in_ns() { "${NSX[@]}" "$@"; }

T0=${EPOCHREALTIME/[.,]/}
say() { printf '[slurm-up %5dms] %s\n' $(( (${EPOCHREALTIME/[.,]/} - T0) / 1000 )) "$*"; }
die() { echo "slurm-up: $*" >&2; exit "${2:-1}"; }

[ "$(id -u)" -eq 0 ] || die "run as root"

# alive PID NAME: PID runs and its command name is NAME (not a recycled pid)
alive() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
pid_of() { if [ -s "$1" ]; then cat "$1" 2>/dev/null || true; fi; }
running() { alive "$(pid_of "$1")" "$2"; } # running PIDFILE NAME
ours() { echo "$RUN/ours-$1.pid"; }         # the pid this script started as NAME
# munged: scripts/munge-up.sh, with our record of whether we started it
munge_up() { MUNGE_UP_OURS=$(ours munged) "$HERE/munge-up.sh" "$@"; }

# ---------------------------------------------------------------- stop/status
stop_ours() { # stop_ours NAME: stop the NAME we started, wait for it
  local name=$1 f pid
  f=$(ours "$1")
  pid=$(pid_of "$f")
  if alive "$pid" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" "$name" || break; sleep 0.1; done
    if alive "$pid" "$name"; then kill -KILL "$pid" 2>/dev/null || true; fi
    echo "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}
case "${1:-up}" in
  stop)
    stop_ours slurmd
    stop_ours slurmctld
    munge_up stop
    exit 0 ;;
  status)
    for d in munged:$MUNGED_PIDFILE slurmctld:$CTLD_PIDFILE slurmd:$SLURMD_PIDFILE; do
      name=${d%%:*} pf=${d#*:}
      pid=$(pid_of "$pf")
      if running "$pf" "$name"; then
        by="not started by slurm-up.sh"
        [ "$(pid_of "$(ours "$name")")" != "$pid" ] || by="started by slurm-up.sh"
        echo "$name: running, pid $pid ($by)"
      else
        echo "$name: not running"
      fi
    done
    if command -v sinfo >/dev/null; then in_ns sinfo 2>&1 || true; fi
    exit 0 ;;
  up) [ -z "$NS" ] || [ -e "/run/netns/$NS" ] || die "no network namespace $NS" ;;
  *) echo "usage: $0 [up|stop|status]" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- packages
have_all() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null
if ! have_all; then
  [ -z "${SLURM_UP_NO_INSTALL:-}" ] || die "Slurm is not installed (SLURM_UP_NO_INSTALL set)" 3
  command -v apt-get >/dev/null || die "Slurm is not installed and there is no apt-get" 3
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(slurm-wlm slurmctld slurmd slurm-client munge)
  # policy-rc.d (or no init system) keeps the packages from starting daemons
  apt() { apt-get -q -y -o DPkg::Lock::Timeout=300 --no-install-recommends install "${pkgs[@]}" </dev/null; }
  apt >/dev/null 2>&1 || { apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null 2>&1 || true; apt >/dev/null 2>&1; } ||
    die "cannot install ${pkgs[*]}" 3
  have_all || die "Slurm still missing after installing ${pkgs[*]}" 3
  say "installed ${pkgs[*]}"
fi
if [ -z "$DIR" ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] &&
   systemctl is-active -q slurmctld slurmd 2>/dev/null; then
  die "slurmctld/slurmd run under systemd here; use systemctl, not this script"
fi
install -d -m 0755 "$RUN"

# ---------------------------------------------------------------- munge
out=$(munge_up) || { rc=$?; die "munged is not available (scripts/munge-up.sh failed)" $(( rc == 3 ? 3 : 1 )); }
say "$out"

# ---------------------------------------------------------------- slurm.conf
NODE=${SLURM_UP_NODE:-$(hostname -s)}
CPUS=${SLURM_UP_CPUS:-$(( $(nproc) * 16 ))}
MEM=${SLURM_UP_MEM_MIB:-$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)}
install -d -o slurm -g slurm -m 0755 "$STATE" "$LOGS"
install -d -m 0755 "$SPOOL" "$(dirname "$CONF")"
if [ -e "$CONF" ] && ! head -1 "$CONF" | grep -qxF "$MARK"; then
  die "$CONF was not written by this script; not touching it (move it away to use slurm-up.sh)" 4
fi
new=$("$HERE/slurm-conf.sh" --comment "${MARK#\# }" \
  --comment "single node, for vmbatch's slurm batch backend; see the script's header" \
  --cluster vmbatch --ctld "$NODE" --ctld-addr 127.0.0.1 --node "$NODE,127.0.0.1,$CPUS,$MEM" \
  --ctld-pidfile "$CTLD_PIDFILE" --slurmd-pidfile "$SLURMD_PIDFILE" --state "$STATE" --spool "$SPOOL" \
  --ctld-log "$LOGS/slurmctld.log" --slurmd-log "$LOGS/slurmd.log") || die "cannot make the slurm.conf"
changed=0
if [ "$(cat "$CONF" 2>/dev/null)" != "$new" ]; then
  printf '%s\n' "$new" >"$CONF.tmp" && chmod 0644 "$CONF.tmp" && mv "$CONF.tmp" "$CONF"
  changed=1
  say "wrote $CONF (node $NODE, $CPUS CPUs, $MEM MiB)"
fi

# ---------------------------------------------------------------- daemons
# A changed node definition needs both daemons restarted; only ours can be.
if [ $changed = 1 ]; then
  for d in slurmd:$SLURMD_PIDFILE slurmctld:$CTLD_PIDFILE; do
    name=${d%%:*} pf=${d#*:}
    running "$pf" "$name" || continue
    if [ "$(pid_of "$(ours "$name")")" = "$(pid_of "$pf")" ]; then stop_ours "$name" >/dev/null
    else say "warning: $name was not started by this script; it keeps its old configuration"; fi
  done
fi
# Slurm resolves its listening address with getaddrinfo(AI_ADDRCONFIG), which
# fails in a namespace whose only IPv4 address is 127.0.0.1: give its lo a
# second loopback address then (still loopback; nothing leaves the namespace).
if [ -n "$NS" ] && ! ip -n "$NS" -4 -o addr show | awk '{print $4}' | grep -qv '^127\.0\.0\.1/'; then
  ip -n "$NS" link set lo up && ip -n "$NS" addr add 127.0.0.2/8 dev lo ||
    die "cannot add 127.0.0.2 to lo in netns $NS"
fi
start() { # start NAME PIDFILE ARGS...: a daemon that forks and writes PIDFILE
  local name=$1 pf=$2; shift 2
  running "$pf" "$name" && return 0
  rm -f "$pf"
  (cd / && in_ns "${CLEAN_ENV[@]}" "$name" "$@") || die "$name did not start (see $LOGS/$name.log)"
  for _ in $(seq 50); do running "$pf" "$name" && break; sleep 0.1; done
  running "$pf" "$name" || die "$name did not stay up (see $LOGS/$name.log)"
  pid_of "$pf" >"$(ours "$name")"
}
# clients retry for ~10 s when slurmctld is not there yet: ask briefly
ctld_up() { in_ns timeout 2 scontrol ping 2>/dev/null | grep -q 'is UP'; }
start slurmctld "$CTLD_PIDFILE" -i
for _ in $(seq 150); do ctld_up && break; sleep 0.1; done
ctld_up || die "slurmctld does not answer (see $LOGS/slurmctld.log)"
say "slurmctld up (pid $(pid_of "$CTLD_PIDFILE"))${NS:+ in netns $NS}"
start slurmd "$SLURMD_PIDFILE" -N "$NODE"
state=
for _ in $(seq 300); do
  state=$(in_ns timeout 2 sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    drain*|down*|fail*) in_ns scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.1
done
case "$state" in
  idle|mixed|allocated|completing) ;;
  *) die "node $NODE is '$state', not taking jobs (see $LOGS/slurmd.log)" ;;
esac
say "slurmd up (pid $(pid_of "$SLURMD_PIDFILE")), node $NODE $state: Slurm ready${DIR:+ (SLURM_CONF=$CONF)}"
