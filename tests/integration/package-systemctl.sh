#!/bin/bash
# package-systemctl.sh - test-package.sh's "systemctl", first on the PATH of
# the README's install block, because PID 1 is not systemd on the test
# machines. It does what systemd would do with the installed unit, no more:
#   enable [--now] UNIT   the real systemctl enable (symlinks: works without
#                         a running systemd); with --now, start
#   start UNIT            the unit's ExecStart=, in $VMB_TEST_NS (the test's
#                         network namespace), as the unit's User=, under its
#                         CapabilityBoundingSet= and NoNewPrivileges= (setpriv)
#                         and with /usr, /boot, /etc read-only
#                         (ProtectSystem=full, in a mount namespace), its
#                         stdout/stderr in $VMB_TEST_DIR/UNIT.journal; then,
#                         Type=notify, waits for READY=1 on $NOTIFY_SOCKET
#   stop UNIT             SIGTERM to the main pid, waits for it to end
# Anything else fails, naming itself: the test must not believe a systemctl
# that did nothing.
set -uo pipefail
: "${VMB_TEST_NS:?}" "${VMB_TEST_DIR:?}"
die() { echo "package-systemctl: $*" >&2; exit 1; }

unit_file() {
  local u=${1%.service}.service f
  for f in /etc/systemd/system/$u /lib/systemd/system/$u /usr/lib/systemd/system/$u; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  die "unit $u not installed"
}
# key KEY FILE: the last value of KEY= in the [Service] section
key() {
  awk -v k="$1" -F= '/^\[/ { s = ($0 == "[Service]") } s && $1 == k { sub(/^[^=]*=/, ""); v = $0 } END { print v }' "$2"
}

start() {
  local u=${1%.service} f exec caps user nnp protect bset c
  f=$(unit_file "$u")
  exec=$(key ExecStart "$f"); caps=$(key CapabilityBoundingSet "$f"); user=$(key User "$f")
  nnp=$(key NoNewPrivileges "$f"); protect=$(key ProtectSystem "$f")
  [ "$(key Type "$f")" = notify ] || die "$u: only Type=notify is done here"
  [ -n "$exec" ] || die "$u: no ExecStart="
  [ "${user:-root}" = root ] || die "$u: User=$user is not done here"
  bset=-all
  for c in $caps; do c=${c#CAP_}; bset+=",+${c,,}"; done
  local setpriv=(setpriv --bounding-set="$bset")
  [ "$nnp" = yes ] && setpriv+=(--no-new-privs)
  local ro=
  case $protect in full) ro="/usr /boot /efi /etc" ;; yes | true) ro="/usr /boot /efi" ;; "" | no) ;;
    *) die "$u: ProtectSystem=$protect is not done here" ;; esac
  local sock=$VMB_TEST_DIR/$u.notify msgs=$VMB_TEST_DIR/$u.notify-msgs
  rm -f "$sock" "$msgs"
  # the manager's end of the notify socket: every datagram, a line each
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
' "$sock" "$msgs" </dev/null >/dev/null 2>&1 &
  echo $! >"$VMB_TEST_DIR/$u.notify-pid"
  local i
  for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
  # shellcheck disable=SC2086 # ExecStart= is split on blanks, as systemd does (no quotes in ours)
  NOTIFY_SOCKET=$sock ip netns exec "$VMB_TEST_NS" unshare -m --propagation private sh -c '
    for d in $0; do [ -d "$d" ] || continue; mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 1; done
    exec "$@"' "$ro" "${setpriv[@]}" $exec </dev/null >>"$VMB_TEST_DIR/$u.journal" 2>&1 &
  local pid=$!
  echo "$pid" >"$VMB_TEST_DIR/$u.pid"
  for i in $(seq 300); do
    grep -q '^READY=1' "$msgs" 2>/dev/null && { echo "package-systemctl: $u started (pid $pid): $(grep -m1 '^READY=1' "$msgs")"; return 0; }
    kill -0 "$pid" 2>/dev/null || { tail -5 "$VMB_TEST_DIR/$u.journal" >&2; die "$u: ExecStart= exited before READY=1"; }
    sleep 0.1
  done
  die "$u: no READY=1 within 30 s"
}

stop() {
  local u=${1%.service} pid
  pid=$(cat "$VMB_TEST_DIR/$u.pid" 2>/dev/null) || die "$u: not started here"
  kill "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "$u: pid $pid did not stop within 10 s"
  kill "$(cat "$VMB_TEST_DIR/$u.notify-pid" 2>/dev/null)" 2>/dev/null
  rm -f "$VMB_TEST_DIR/$u.pid"
}

case "${1:-} ${2:-}" in
  "enable --now") [ $# -eq 3 ] || die "enable --now UNIT"; /usr/bin/systemctl enable "$3" && start "$3" ;;
  "enable "*) [ $# -eq 2 ] || die "enable UNIT"; /usr/bin/systemctl enable "$2" ;;
  "start "*) start "$2" ;;
  "stop "*) stop "$2" ;;
  *) die "'$*' is not done by this stand-in for systemctl" ;;
esac
