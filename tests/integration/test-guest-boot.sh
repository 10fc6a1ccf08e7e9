#!/bin/bash
# test-guest-boot.sh [QEMU_ARGV_TOOL [SCRIPTS_DIR]] - boot the test guest for real (TAP).
#
# Everything runs inside a network namespace this test creates (vmb-boot-PID): a bridge
# 192.168.100.1/24, a tap, dnsmasq with one fixed lease. qemu is started by
# qemu-argv-tool --exec, i.e. with exactly the argv qemu_cmdline_build() produces: the tap
# is opened as root and handed over as an fd, then qemu drops to nobody (when nobody can
# read the guest files) and runs under TCG with -sandbox on.
#   1. direct kernel boot, qcow2 overlay on base.qcow2: DHCP lease, disc read + write,
#      the overlay grows, base.qcow2 does not change; boot-to-lease time as a diagnostic
#   2. install mode: the ISO (isolinux) boots from the cdrom onto a fresh empty qcow2
#   3. the installed disc is then booted and read back
# Needs root, qemu-system-x86_64, qemu-img, ip, dnsmasq; without them it prints
# "1..0 # SKIP reason" and exits 77 (or $VMBATCH_SKIP_EXIT: meson 1.0's TAP runner counts
# any non-zero exit as an ERROR, so src/qemu/meson.build sets it to 0).
# The guest is built (once, cached) in $VMBATCH_GUEST_DIR, default build/guest.
set -u

TOOL=${1:-build/src/qemu/qemu-argv-tool}
SCRIPTS=${2:-$(dirname "$(readlink -f "$0")")/../../scripts}
NS=vmb-boot-$$
GUEST_MAC=de:af:de:af:64:02
GUEST_IP=192.168.100.2
GW_IP=192.168.100.1
BOOT_TIMEOUT=120

n=0
failed=0
ok() { # ok COND-EXIT-STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
diag() { echo "# $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit "${VMBATCH_SKIP_EXIT:-77}"; }
bail() { echo "Bail out! $*"; exit 1; }

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespace, tap)"
for t in qemu-img ip dnsmasq sha256sum; do
    command -v "$t" >/dev/null || skip_all "$t not installed"
done
[ -x "$TOOL" ] || bail "qemu-argv-tool not found at $TOOL"
TOOL=$(readlink -f "$TOOL")

W=$(mktemp -d /tmp/vmb-boot.XXXXXX)
PIDS=()
DNSMASQ_PID=
cleanup() {
    local p
    for p in "${PIDS[@]}" $DNSMASQ_PID; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}" $DNSMASQ_PID; do
        wait "$p" 2>/dev/null
    done
    if ip netns list | grep -qw "$NS"; then
        for p in $(ip netns pids "$NS" 2>/dev/null); do
            echo "# still in $NS: $p $(cat "/proc/$p/comm" 2>/dev/null)"
        done
        ip netns del "$NS"
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- guest and installer CD (cached builds) -----------------------------------------
GUEST=$("$SCRIPTS/build-test-guest.sh" 2>"$W/build.log")
ok $? "test guest built ($GUEST)"
if [ -z "$GUEST" ] || [ ! -f "$GUEST/base.qcow2" ]; then
    sed 's/^/# /' "$W/build.log"
    bail "no test guest"
fi
ISO=$(VMBATCH_GUEST_DIR=$GUEST "$SCRIPTS/build-test-iso.sh" "$GUEST/iso" 2>>"$W/build.log")
ok $? "installer ISO built ($ISO)"

# qemu runs as nobody when nobody can read the guest files (the product's way: root opens
# the tap, qemu gets the fd and no privileges); otherwise as root, said in a diagnostic.
RUNAS=()
if runuser -u nobody -- test -r "$GUEST/base.qcow2" -a -r "$GUEST/vmlinuz" -a -r "$ISO" 2>/dev/null; then
    RUNAS=(--uid "$(id -u nobody)" --gid "$(id -g nobody)")
    chown "$(id -u nobody):$(id -g nobody)" "$W"
    diag "qemu runs as nobody"
else
    diag "nobody cannot read $GUEST: qemu runs as root"
fi

# --- network namespace: bridge, tap, dnsmasq -----------------------------------------
nsx() { ip netns exec "$NS" "$@"; }
ip netns add "$NS" &&
    nsx ip link set lo up &&
    nsx ip link add br0 address 02:00:00:00:64:01 type bridge stp_state 0 forward_delay 0 &&
    nsx ip addr add "$GW_IP/24" dev br0 &&
    nsx ip link set br0 up &&
    nsx ip tuntap add tap0 mode tap &&
    nsx ip link set tap0 master br0 &&
    nsx ip link set tap0 up
ok $? "namespace $NS with bridge br0 $GW_IP/24 and tap0"

# not through nsx(): a backgrounded function would be a subshell, and $! its pid
ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
    --interface=br0 --bind-interfaces --except-interface=lo \
    --dhcp-range=192.168.100.0,static,255.255.255.0,1h \
    --dhcp-host="$GUEST_MAC,$GUEST_IP" --dhcp-authoritative \
    --dhcp-leasefile="$W/leases" --pid-file="$W/dnsmasq.pid" \
    --log-dhcp --log-facility="$W/dnsmasq.log" &
DNSMASQ_PID=$!   # ip netns exec execs dnsmasq: this is its pid
for _ in $(seq 50); do [ -s "$W/dnsmasq.pid" ] && break; sleep 0.1; done
[ "$(cat "$W/dnsmasq.pid" 2>/dev/null)" = "$DNSMASQ_PID" ] && kill -0 "$DNSMASQ_PID" 2>/dev/null
ok $? "dnsmasq running in $NS (pid $DNSMASQ_PID)"

# --- helpers ---------------------------------------------------------------------------
# start_vm NAME TOOL-ARGS... : qemu in the namespace, serial log in $W/NAME.serial
start_vm() {
    local name=$1
    shift
    # ip netns exec -> qemu-argv-tool -> qemu: one process, so $! is qemu's pid
    ip netns exec "$NS" "$TOOL" --exec --name "$name" --accel tcg --memory 128 \
        --serial "$W/$name.serial" --qmp "$W/$name.qmp" --pidfile "$W/$name.pid" \
        ${RUNAS[@]+"${RUNAS[@]}"} "$@" >"$W/$name.out" 2>&1 &
    VM_PID=$!
    PIDS+=("$VM_PID")
    VM_T0=$EPOCHREALTIME
}
running() { # a zombie counts as gone
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ]
}
# wait_vm NAME [MARKER]: wait for qemu to exit (BOOT_TIMEOUT); VM_RC = its exit status,
# MARK_S = seconds from start to the first serial line containing MARKER
wait_vm() {
    local name=$1 marker=${2:-} deadline=$((SECONDS + BOOT_TIMEOUT))
    MARK_S=
    while running "$VM_PID"; do
        if [ -n "$marker" ] && [ -z "$MARK_S" ] && grep -qa "$marker" "$W/$name.serial" 2>/dev/null; then
            MARK_S=$(awk -v a="$VM_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
        fi
        if [ $SECONDS -ge $deadline ]; then
            diag "$name: still running after ${BOOT_TIMEOUT}s, killing pid $VM_PID"
            kill "$VM_PID"
            break
        fi
        sleep 0.02
    done
    # qemu may exit within one poll of the marker: then the exit time is an upper bound
    if [ -n "$marker" ] && [ -z "$MARK_S" ] && grep -qa "$marker" "$W/$name.serial" 2>/dev/null; then
        MARK_S="<="$(awk -v a="$VM_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    fi
    wait "$VM_PID"
    VM_RC=$?
    if [ "$VM_RC" -ne 0 ]; then
        sed "s/^/# $name qemu: /" "$W/$name.out"
        tr -d '\r' <"$W/$name.serial" 2>/dev/null | sed "s/^/# $name serial: /"
    fi
}
serial_has() { tr -d '\r' <"$W/$1.serial" 2>/dev/null | grep -qaE "$2"; }
size_of() { stat -c %s "$1"; }
uptime_at() { tr -d '\r' <"$W/$1.serial" | sed -n "s/^$2 .*uptime=\([0-9.]*\).*/\1/p" | head -1; }

# --- 1. direct kernel boot on a qcow2 overlay, DHCP, disc write ------------------------
BASE_SUM=$(sha256sum <"$GUEST/base.qcow2")
qemu-img create -q -f qcow2 -F qcow2 -b "$GUEST/base.qcow2" "$W/vm.qcow2"
ok $? "overlay on base.qcow2 created"
[ ${#RUNAS[@]} -eq 0 ] || chown "${RUNAS[1]}:${RUNAS[3]}" "$W/vm.qcow2"
OVERLAY_BEFORE=$(size_of "$W/vm.qcow2")

start_vm boot --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" \
    --append "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1" \
    --disc "$W/vm.qcow2" --tap-name tap0 --mac "$GUEST_MAC"
wait_vm boot "VMB-LEASE"
ok "$VM_RC" "boot: qemu exited cleanly after the guest powered off"
serial_has boot '^VMB-INIT'
ok $? "boot: VMB-INIT"
serial_has boot "^VMB-LEASE ip=$GUEST_IP mac=$GUEST_MAC server=$GW_IP( |\$)"
ok $? "boot: VMB-LEASE ip=$GUEST_IP mac=$GUEST_MAC server=$GW_IP"
[ -n "$MARK_S" ] && diag "boot-to-lease ${MARK_S} s (qemu exec to VMB-LEASE on the serial console, TCG;" \
    "guest uptime at VMB-INIT $(uptime_at boot VMB-INIT) s, at VMB-LEASE $(uptime_at boot VMB-LEASE) s)"
grep -q "$GUEST_MAC" "$W/leases" 2>/dev/null
ok $? "boot: dnsmasq recorded the lease"
serial_has boot '^VMB-DISK base=template$'
ok $? "boot: VMB-DISK base=template"
serial_has boot '^VMB-DISK-WRITTEN'
ok $? "boot: VMB-DISK-WRITTEN"
serial_has boot '^VMB-DONE'
ok $? "boot: VMB-DONE"
OVERLAY_AFTER=$(size_of "$W/vm.qcow2")
[ "$OVERLAY_AFTER" -ge $((OVERLAY_BEFORE + 4 * 1024 * 1024)) ]
ok $? "boot: overlay grew by >= 4 MiB ($OVERLAY_BEFORE -> $OVERLAY_AFTER bytes)"
[ "$(sha256sum <"$GUEST/base.qcow2")" = "$BASE_SUM" ]
ok $? "boot: base.qcow2 unchanged (sha256)"

# --- 2. install from the cdrom onto a new empty disc -----------------------------------
qemu-img create -q -f qcow2 "$W/new.qcow2" 32M
[ ${#RUNAS[@]} -eq 0 ] || chown "${RUNAS[1]}:${RUNAS[3]}" "$W/new.qcow2"
start_vm install --cdrom "$ISO" --disc "$W/new.qcow2"
wait_vm install "VMB-INSTALLED"
ok "$VM_RC" "install: qemu exited cleanly"
serial_has install 'ISOLINUX'
ok $? "install: booted through isolinux from the cdrom"
serial_has install '^VMB-INSTALLED'
ok $? "install: VMB-INSTALLED"
[ -n "$MARK_S" ] && diag "boot-to-installed ${MARK_S} s"
serial_has install '^VMB-DONE'
ok $? "install: VMB-DONE"

# --- 3. boot the installed disc --------------------------------------------------------
start_vm installed --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" \
    --append "console=ttyS0 quiet panic=-1 vmb.net=0 vmb.disk=1" --disc "$W/new.qcow2"
wait_vm installed
ok "$VM_RC" "installed disc: qemu exited cleanly"
serial_has installed '^VMB-DISK base=installed$'
ok $? "installed disc: VMB-DISK base=installed"
serial_has installed '^VMB-DONE'
ok $? "installed disc: VMB-DONE"

echo "1..$n"
[ "$failed" -eq 0 ]
