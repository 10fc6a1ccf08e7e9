#!/bin/bash
# test-qmp.sh QMP_TOOL QEMU_ARGV_TOOL [SCRIPTS_DIR] - the QMP client against a real qemu (TAP).
#
# Boots the test guest under TCG with the argv qemu_cmdline_build() makes (qemu-argv-tool
# --exec: -nodefaults, -display none, kernel + initrd, no network, the QMP socket in a
# temporary directory, -vnc 127.0.0.1:<free display>,password=on) and drives it with
# qmp-tool (src/qemu/qmp.c): status, VNC port and password (checked by a real RFB login),
# stop/cont with their events, and the ACPI power button: the guest prints VMB-POWERBUTTON
# and powers off, qemu exits by itself and the SHUTDOWN event is seen.
# Needs qemu-system-x86_64 (else "1..0 # SKIP"); no root, no network (VNC on 127.0.0.1).
# The guest is built (once, cached) in $VMBATCH_GUEST_DIR, default build/guest.
set -u

HERE=$(dirname "$(readlink -f "$0")")
TOOL=${1:-build/src/qemu/qmp-tool}
ARGV_TOOL=${2:-build/src/qemu/qemu-argv-tool}
SCRIPTS=${3:-$HERE/../../scripts}
# shellcheck source=tests/integration/lib.sh
. "$HERE/lib.sh"
bail() { echo "Bail out! $*"; exit 1; }

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ -x "$TOOL" ] || bail "qmp-tool not found at $TOOL"
[ -x "$ARGV_TOOL" ] || bail "qemu-argv-tool not found at $ARGV_TOOL"
TOOL=$(readlink -f "$TOOL")
ARGV_TOOL=$(readlink -f "$ARGV_TOOL")

W=$(mktemp -d /tmp/vmb-qmp.XXXXXX)
QEMU_PID=
cleanup() {
    if [ -n "$QEMU_PID" ]; then
        kill "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

GUEST=$("$SCRIPTS/build-test-guest.sh" 2>"$W/build.log")
if [ -z "$GUEST" ] || [ ! -f "$GUEST/vmlinuz" ] || [ ! -f "$GUEST/initrd.img" ]; then
    sed 's/^/# /' "$W/build.log"
    bail "no test guest"
fi

# A VNC display whose port (5900+N) nobody listens on (IPv4 or IPv6), N in 100..199.
port_listening() {
    local hex f files=()
    hex=$(printf '%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] && files+=("$f"); done
    [ ${#files[@]} -gt 0 ] || return 1
    awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        "${files[@]}"
}
DISPLAY_N=
for i in $(seq 0 99); do
    d=$((100 + ($$ + i) % 100))
    if ! port_listening $((5900 + d)); then DISPLAY_N=$d; break; fi
done
[ -n "$DISPLAY_N" ] || bail "no free VNC display in 100..199"
VNC_PORT=$((5900 + DISPLAY_N))

SOCK=$W/qmp.sock
SERIAL=$W/serial.log
qmp() { "$TOOL" --timeout 30000 "$SOCK" "$@"; }
alive() { # a zombie counts as gone
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ]
}

# qemu-argv-tool execs qemu: $! is qemu's pid
"$ARGV_TOOL" --exec --name qmp-test --accel tcg --memory 128 \
    --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" \
    --append "console=ttyS0 quiet panic=-1 vmb.net=0 vmb.disk=0 vmb.hold=-1" \
    --vnc "$DISPLAY_N" --vnc-listen 127.0.0.1 --qmp "$SOCK" --serial "$SERIAL" \
    >"$W/qemu.out" 2>&1 &
QEMU_PID=$!
T0=$EPOCHREALTIME

# --- connect (retrying while qemu creates the socket), status ------------------------
OUT=$(qmp status 2>&1)
ok $? "connect while qemu starts, query-status"
T1=$EPOCHREALTIME
[ "$OUT" = running ]
ok $? "status: running (got '$OUT')"
diag "qemu exec to first query-status answered: $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", (b - a) * 1000 }') ms"
OUT=$(qmp bench 200 2>&1)
ok $? "200 x query-status"
diag "$OUT (qemu running under TCG)"

# --- VNC: port, password ----------------------------------------------------------------
OUT=$(qmp vnc-port 2>&1)
[ "$OUT" = "$VNC_PORT" ]
ok $? "vnc-port: $VNC_PORT (got '$OUT')"
expect_out "VNC login refused before a password is set" '^refused' -- "$TOOL" - vnc-login "$VNC_PORT" secret12
expect_fail "VNC password of 9 bytes refused" 'at most 8 bytes' -- qmp vnc-password secret123
OUT=$(qmp vnc-password secret12 raw query-vnc 2>&1)
ok $? "set_password protocol=vnc"
printf '%s\n' "$OUT" | grep -q '"auth":"vnc"'
ok $? "query-vnc reports auth vnc"
printf '%s\n' "$OUT" | grep -q '"host":"127.0.0.1"'
ok $? "query-vnc: listening on 127.0.0.1 only"
expect_out "VNC login with the password" '^ok [0-9]+x[0-9]+ QEMU \(qmp-test\)' -- "$TOOL" - vnc-login "$VNC_PORT" secret12
expect_out "VNC login with another password refused" '^refused: authentication failed' -- \
    "$TOOL" - vnc-login "$VNC_PORT" secret13

# --- stop / cont, with their events ----------------------------------------------------
OUT=$(qmp stop status cont status events 1 2>&1)
ok $? "stop, status, cont, status, events"
[ "$(printf '%s\n' "$OUT" | sed -n 1p)" = paused ]
ok $? "after stop: paused"
[ "$(printf '%s\n' "$OUT" | sed -n 2p)" = running ]
ok $? "after cont: running"
printf '%s\n' "$OUT" | sed -n 3p | grep -q '"event":"STOP"' &&
    printf '%s\n' "$OUT" | sed -n 4p | grep -q '"event":"RESUME"'
RC=$?
ok $RC "STOP and RESUME events queued while the commands ran, in order"
[ $RC -eq 0 ] || diag "$OUT"

# --- ACPI power button ------------------------------------------------------------------
# acpid starts right after VMB-INIT: wait for it, then press the button (again, should the
# first press come before acpid listens).
for _ in $(seq 600); do
    tr -d '\r' <"$SERIAL" 2>/dev/null | grep -q '^VMB-INIT' && break
    alive "$QEMU_PID" || break
    sleep 0.1
done
tr -d '\r' <"$SERIAL" 2>/dev/null | grep -q '^VMB-INIT'
ok $? "guest booted (VMB-INIT)"
sleep 1
TP=$EPOCHREALTIME
PRESSES=0
: >"$W/events"
while alive "$QEMU_PID" && [ $PRESSES -lt 4 ]; do
    PRESSES=$((PRESSES + 1))
    qmp powerdown wait-event SHUTDOWN 5 >>"$W/events" 2>>"$W/events.err" && break
done
for _ in $(seq 200); do alive "$QEMU_PID" || break; sleep 0.1; done
TE=$EPOCHREALTIME
! alive "$QEMU_PID"
ok $? "qemu exited by itself after system_powerdown ($PRESSES press(es))"
wait "$QEMU_PID"
RC=$?
QEMU_PID=
[ "$RC" -eq 0 ]
ok $? "qemu exit status 0 (got $RC)"
diag "power button to qemu exit: $(awk -v a="$TP" -v b="$TE" 'BEGIN { printf "%.2f", b - a }') s"
grep -q '"event":"POWERDOWN"' "$W/events"
ok $? "POWERDOWN event"
grep -q '"event":"SHUTDOWN".*"reason":"guest-shutdown"' "$W/events"
ok $? "SHUTDOWN event (reason guest-shutdown)"
tr -d '\r' <"$SERIAL" | grep -q '^VMB-POWERBUTTON'
ok $? "serial log: VMB-POWERBUTTON"
expect_fail "QMP socket gone: connect gives up with a clear error" 'no qemu listening on QMP socket' -- \
    "$TOOL" --timeout 300 "$SOCK" status

if [ "$tap_failed" -gt 0 ]; then
    sed 's/^/# qemu: /' "$W/qemu.out"
    tr -d '\r' <"$SERIAL" 2>/dev/null | sed 's/^/# serial: /'
    sed 's/^/# events: /' "$W/events" "$W/events.err" 2>/dev/null
fi
tap_done
