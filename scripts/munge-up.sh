#!/bin/bash
# munge-up.sh - the machine's MUNGE credential service, without systemd, for
# vmbatch's cluster mode (controller <-> vmbatchd --node messages are sealed
# with MUNGE) and for Slurm. Run as root.
#
#   scripts/munge-up.sh [up]   make the key if there is none, start munged
#                              unless it runs; check that a credential made
#                              here decodes. Records the pid when it started
#                              munged (OURS below).
#   scripts/munge-up.sh stop   stop munged if (and only if) this script
#                              started it, by the recorded pid; but while
#                              other users of munged run (slurmctld, slurmd,
#                              slurmdbd, sge_qmaster, sge_execd: stop yours
#                              first) leave it running, say so, and keep the
#                              record for a later stop.
#
# Every host of a cluster needs the same /etc/munge/munge.key (copy it from
# the head node); munged's unix socket also serves other network namespaces.
#
# Environment: MUNGE_UP_OURS  where the pid of a munged we started is kept
#              (default /run/vmbatch-munge/ours-munged.pid); a caller that
#              keeps its own record (scripts/slurm-up.sh, the tests) sets it,
#              so that its stop stops only a munged that it started.
# Exit status: 0 ready (or stopped), 1 failed, 2 usage, 3 munge missing.
set -euo pipefail
PIDFILE=/run/munge/munged.pid
OURS=${MUNGE_UP_OURS:-/run/vmbatch-munge/ours-munged.pid}
die() { echo "munge-up: $*" >&2; exit "${2:-1}"; }
[ "$(id -u)" -eq 0 ] || die "run as root"
alive() { [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = munged ]; }
pid_of() { if [ -s "$1" ]; then cat "$1" 2>/dev/null || true; fi; }
munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
# users: the daemons that use munged and still run: "slurmd (pid N), ..."
users() {
  { ps -C slurmctld,slurmd,slurmdbd,sge_qmaster,sge_execd -o stat=,comm=,pid= 2>/dev/null || true; } |
    awk '$1 !~ /^Z/ {printf "%s%s (pid %s)", n++ ? ", " : "", $2, $3}'
}

case "${1:-up}" in
  up) ;;
  stop)
    pid=$(pid_of "$OURS")
    if ! alive "$pid"; then rm -f "$OURS"; exit 0; fi
    others=$(users)
    if [ -n "$others" ]; then
      echo "munge-up: left munged (pid $pid) running: other daemons may use it: $others" >&2
      exit 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    echo "stopped munged (pid $pid)"
    rm -f "$OURS"
    exit 0 ;;
  *) echo "usage: $0 [up|stop]" >&2; exit 2 ;;
esac

command -v munged >/dev/null && command -v munge >/dev/null ||
  die "munge is not installed (apt-get install munge; scripts/install-deps.sh does)" 3
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
install -d -m 0755 "$(dirname "$OURS")"
[ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
if ! alive "$(pid_of "$PIDFILE")"; then
  (cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin runuser -u munge -- /usr/sbin/munged) ||
    die "munged did not start"
  pid_of "$PIDFILE" >"$OURS"
  for _ in $(seq 50); do munge_ok && break; sleep 0.1; done
fi
munge_ok || die "munge does not work (see /var/log/munge/munged.log)"
echo "munged up (pid $(pid_of "$PIDFILE"))"
