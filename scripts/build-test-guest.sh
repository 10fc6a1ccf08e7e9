#!/bin/bash
# build-test-guest.sh [OUTDIR] - build the tiny bootable test guest used by vmbatch's tests.
#
# Everything comes from Debian packages: the cloud kernel (linux-image-*-cloud-amd64, fetched
# with `apt-get download`, unpacked with dpkg-deb -x), a static busybox, the virtio modules
# and an /init written below. Nothing is mounted, nothing is installed on the host.
#
# Host packages needed: busybox-static cpio qemu-utils e2fsprogs kmod gzip
#   (plus a working apt source for the kernel package, or VMBATCH_KERNEL_DEB=/path/to.deb)
#   and, for /bin/vmb-attack (tests/guest/vmb-attack.c, the isolation test's attacker and
#   listener), gcc with glibc's static libc.a (libc6-dev); without them the guest is built
#   without it (a warning) and test-isolation.sh skips.
#
# OUTDIR: first argument, else $VMBATCH_GUEST_DIR, else build/guest. Produces there:
#   vmlinuz      the Debian cloud kernel, unmodified
#   initrd.img   gzip'ed newc cpio: static busybox, virtio(+deps), button/evdev, /init
#   disk.raw     16 MiB ext2, label vmbdata, containing base.txt = "template"
#   base.qcow2   disk.raw converted to qcow2 (the backing file for test overlays)
#   vmb-attack   the static binary that is also the guest's /bin/vmb-attack (when gcc could
#                build it; it runs on the host too)
# Cached: when all four exist and are newer than this script and than vmb-attack.c, nothing
# is rebuilt. The directory is printed on stdout either way; progress goes to stderr.
#
# The guest reads its orders from the kernel command line (console=ttyS0 expected):
#   vmb.net=0|1      bring up eth0, run udhcpc (default 1); prints
#                    "VMB-LEASE ip=<ip> mac=<mac> server=<server> ..." or "VMB-NOLEASE ..."
#   vmb.tries=N      DHCPDISCOVERs, one second apart (default 10)
#   vmb.install=0|1  format /dev/vda as ext2, write base.txt = "installed", print
#                    "VMB-INSTALLED" (the "install from CD onto an empty disc" simulation)
#   vmb.disk=0|1     mount /dev/vda (ext2), print "VMB-DISK base=<base.txt>", write a 4 MiB
#                    file (so a qcow2 overlay grows), sync, print "VMB-DISK-WRITTEN"
#   vmb.probe=ARG    run /vmb-probe from the disc (mounted at /mnt) as `sh /mnt/vmb-probe ARG`
#                    with VMB_IP VMB_MAC VMB_SERVER in its environment; prints
#                    "VMB-PROBE-END rc=N", or "VMB-PROBE-MISSING" when there is no script
#   vmb.attack=IP    after the lease, run `vmb-attack attack IP PEERMAC FLOOD`: every attack of
#                    ISOLATION.md against the peer IP from raw frames on eth0, one
#                    "VMB-PROBE <name> sent ..." line each, then "VMB-ATTACK-END"
#   vmb.peermac=MAC  the peer's MAC for vmb.attack (default: ask ARP, else broadcast)
#   vmb.flood=N      broadcast frames of vmb.attack's flood probe (default 5000)
#   vmb.listen=0|1|N after the lease, run `vmb-attack listen N` (1 = 600 s): promiscuous on eth0,
#                    "VMB-LISTENING ...", "VMB-SEEN <probe> ..." per tagged probe frame; it ends
#                    after N s or on a UDP "stop" to port 7777, printing counts, its ARP cache and
#                    IPv6 state, then "VMB-LISTEN-END ..."
#                    (both print "VMB-ATTACK-FAIL rc=N" / "VMB-LISTEN-FAIL rc=N" when the program
#                    fails, "VMB-ATTACK-MISSING" when the guest was built without it, and
#                    "VMB-ATTACK-NOLEASE" when there is no address to attack or listen from)
#   vmb.tcpprobe=IP:PORT[-LAST][,IP:PORT...]  after the lease, `vmb-attack tcp IP:PORT[-LAST]...`:
#                    a TCP connect from the guest's kernel to each port, one "VMB-TCP IP:PORT
#                    ok banner=<line>|refused|timeout" line each, then "VMB-TCP-END"
#                    (test-hostile-guest.sh: the gateway's VNC ports, a host service)
#   vmb.serialflood=BYTES[K|M]  first of all (before the network), "VMB-FLOOD-START", then
#                    `vmb-attack serialflood /dev/ttyS0 BYTES`: numbered 64-byte lines "VMB-FLOOD <n>
#                    xxx" as fast as the serial port takes them, then "VMB-FLOOD-END lines=<n>
#                    bytes=<n> ms=<t>" (a guest flooding its serial log)
#   vmb.screen=TEXT  the VGA console (tty1, what VNC shows) is cleared, its cursor hidden and
#                    its blanking off, and shows TEXT ("_" prints as a space, at most 24
#                    characters) on 9 lines; prints "VMB-SCREEN shown" (the browser console test)
#   vmb.screenecho=1 with vmb.screen: then tty1 echoes every key typed on the guest's keyboard
#                    (PS/2, i.e. a VNC KeyEvent) at once; prints "VMB-SCREEN-ECHO"
#   vmb.hold=N       stay up N seconds before powering off (default 0, -1 = forever)
# It always prints "VMB-INIT" first and "VMB-DONE" last, then `poweroff -f` (qemu exits).
# An ACPI power button press (QMP system_powerdown) prints "VMB-POWERBUTTON", "VMB-DONE"
# and powers off at once, also during vmb.hold.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
ATTACK_SRC=$(dirname "$SCRIPT")/../tests/guest/vmb-attack.c
[ -f "$ATTACK_SRC" ] && ATTACK_SRC=$(readlink -f "$ATTACK_SRC") || ATTACK_SRC=
OUT=${1:-${VMBATCH_GUEST_DIR:-build/guest}}
OUTPUTS=(vmlinuz initrd.img disk.raw base.qcow2)
FLAVOUR=cloud-amd64
# The modules the guest needs; their dependencies are added (and ordered) automatically.
WANT_MODULES="virtio_pci virtio_net virtio_blk button evdev"

say() { echo "build-test-guest: $*" >&2; }
die() { say "error: $*"; exit 1; }
first_file() { local f; for f in "$@"; do [ -f "$f" ] && { echo "$f"; break; }; done; return 0; }

up_to_date() {
    local f
    for f in "${OUTPUTS[@]}"; do
        [ -f "$OUT/$f" ] && [ "$OUT/$f" -nt "$SCRIPT" ] || return 1
        [ -z "$ATTACK_SRC" ] || [ "$OUT/$f" -nt "$ATTACK_SRC" ] || return 1
    done
}

mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
if up_to_date; then
    echo "$OUT"
    exit 0
fi

# One builder at a time per OUTDIR; a waiting builder then finds the outputs ready.
exec 9>"$OUT/.lock"
flock 9
if up_to_date; then
    echo "$OUT"
    exit 0
fi

for tool in busybox cpio gzip depmod modinfo mke2fs qemu-img dpkg-deb apt-get apt-cache flock; do
    command -v "$tool" >/dev/null || die "$tool not found (needs: busybox-static cpio qemu-utils e2fsprogs kmod gzip)"
done
[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = "install ok installed" ] ||
    die "busybox-static is not installed (a dynamic /bin/busybox cannot run in the initramfs)"

t0=$(date +%s.%N)
# no stale mix of old and new outputs if this build is interrupted
for f in "${OUTPUTS[@]}"; do rm -f "$OUT/$f"; done
rm -f "$OUT/vmb-attack"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. kernel package: resolve the meta package, download once into $OUT/debs, unpack.
DEBS=$OUT/debs
mkdir -p "$DEBS"
if [ -n "${VMBATCH_KERNEL_DEB:-}" ]; then
    deb=$VMBATCH_KERNEL_DEB
    [ -f "$deb" ] || die "VMBATCH_KERNEL_DEB=$deb does not exist"
else
    pkg=$(apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null |
          awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
    [ -n "$pkg" ] || die "cannot resolve linux-image-$FLAVOUR (apt-get update needed?)"
    deb=$(first_file "$DEBS/${pkg}"_*.deb /var/cache/apt/archives/"${pkg}"_*.deb)
    if [ -z "$deb" ]; then
        say "downloading $pkg"
        # apt-get download writes into the cwd; as root it warns that _apt cannot write there.
        if ! (cd "$DEBS" && apt-get download -q "$pkg") > "$WORK/apt.log" 2>&1; then
            cat "$WORK/apt.log" >&2
            die "apt-get download $pkg failed"
        fi
        deb=$(first_file "$DEBS/${pkg}"_*.deb)
        [ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
    fi
fi
say "unpacking $(basename "$deb")"
KX=$WORK/kernel
dpkg-deb -x "$deb" "$KX"
KVER=$(find "$KX/lib/modules" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -1)
if [ -z "$KVER" ] || [ ! -f "$KX/boot/vmlinuz-$KVER" ]; then
    die "no kernel image in $deb"
fi
# the package ships no modules.dep (its postinst runs depmod); modprobe-style lookup needs it
depmod -b "$KX" "$KVER"

# 2. initramfs tree
R=$WORK/initramfs
mkdir -p "$R"/{bin,dev,proc,sys,mnt,tmp,etc/acpi/PWRF,lib/modules}
cp /bin/busybox "$R/bin/busybox"
ln -s bin "$R/sbin"

# the isolation test's attacker/listener: static, so it needs nothing in the initramfs
if [ -n "$ATTACK_SRC" ]; then
    if command -v gcc >/dev/null && echo 'int main(void){return 0;}' > "$WORK/t.c" &&
       gcc -static -o "$WORK/t" "$WORK/t.c" 2>/dev/null; then
        gcc -static -O2 -Wall -Wextra -o "$WORK/vmb-attack" "$ATTACK_SRC" || die "cannot build $ATTACK_SRC"
        strip -s "$WORK/vmb-attack" 2>/dev/null || true
        cp "$WORK/vmb-attack" "$R/bin/vmb-attack"
        say "vmb-attack: $(stat -c %s "$WORK/vmb-attack") B"
    else
        say "warning: no gcc with a static libc: the guest has no /bin/vmb-attack"
    fi
fi

# modules in load order: depth-first, dependencies before dependents
ORDER=()
add_module() {
    local m=$1 f d
    case " ${ORDER[*]-} " in *" $m "*) return 0 ;; esac
    f=$(modinfo -b "$KX" -k "$KVER" -n "$m" 2>/dev/null) || die "module $m not in $KVER"
    case "$f" in (builtin*|"") return 0 ;; esac   # built into the kernel: nothing to load
    for d in $(modinfo -b "$KX" -k "$KVER" -F depends "$m" | tr ',' ' '); do
        add_module "$d"
    done
    ORDER+=("$m")
    case "$f" in
    *.ko.xz)  xz -dc "$f" > "$R/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -dcq "$f" > "$R/lib/modules/$m.ko" ;;
    *)        cp "$f" "$R/lib/modules/$m.ko" ;;
    esac
}
for m in $WANT_MODULES; do add_module "$m"; done
echo "${ORDER[*]}" > "$R/etc/modules"
say "kernel $KVER, modules: ${ORDER[*]}"

cat > "$R/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# busybox udhcpc hook: $1 = deconfig|bound|renew|leasefail|nak; env: interface ip mask router serverid
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    echo "$ip" > /tmp/lease_ip
    echo "$serverid" > /tmp/lease_server ;;
esac
exit 0
EOF

# busybox acpid runs /etc/acpi/PWRF/00000080 on the power button (QMP system_powerdown)
cat > "$R/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "VMB-POWERBUTTON" > /dev/console
echo "VMB-DONE uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/console
sync
poweroff -f
EOF

cat > "$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
set -f
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
up() { cut -d' ' -f1 /proc/uptime; }
# arg NAME DEFAULT: value of vmb.NAME= on the kernel command line (the last one wins)
arg() {
    v=
    for w in $(cat /proc/cmdline); do
        case "$w" in "vmb.$1="*) v=${w#vmb.$1=} ;; esac
    done
    echo "${v:-$2}"
}
echo "VMB-INIT uptime=$(up)"
for m in $(cat /etc/modules); do
    insmod "/lib/modules/$m.ko" || echo "VMB-INSMOD-FAIL $m"
done
acpid -c /etc/acpi -l /dev/null 2>/dev/null || true

NET=$(arg net 1); DISK=$(arg disk 0); INSTALL=$(arg install 0)
PROBE=$(arg probe ""); HOLD=$(arg hold 0); TRIES=$(arg tries 10)

# first, so that what comes after it (the lease, the probes) is the newest part of a capped log
SERIALFLOOD=$(arg serialflood 0)
if [ "$SERIALFLOOD" != 0 ]; then
    if [ ! -x /bin/vmb-attack ]; then
        echo "VMB-ATTACK-MISSING"
    else
        echo "VMB-FLOOD-START uptime=$(up)"
        vmb-attack serialflood /dev/ttyS0 "$SERIALFLOOD" || echo "VMB-ATTACK-FAIL rc=$?"
    fi
fi

wait_for() { # wait_for TEST-ARGS... : up to 5 s
    i=0
    while ! test "$@" && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
    test "$@"
}

MAC=; IP=; SERVER=
if [ "$NET" = 1 ]; then
    ip link set lo up
    if wait_for -e /sys/class/net/eth0; then
        MAC=$(cat /sys/class/net/eth0/address)
        ip link set eth0 up
        if udhcpc -i eth0 -f -q -n -t "$TRIES" -T 1 -A 1 -s /etc/udhcpc.script >/tmp/udhcpc.log 2>&1; then
            IP=$(cat /tmp/lease_ip); SERVER=$(cat /tmp/lease_server)
            echo "VMB-LEASE ip=$IP mac=$MAC server=$SERVER uptime=$(up)"
        else
            echo "VMB-NOLEASE mac=$MAC uptime=$(up)"
        fi
    else
        echo "VMB-NOLEASE mac=none uptime=$(up)"
    fi
fi

if [ "$INSTALL" = 1 ]; then
    if wait_for -b /dev/vda && mke2fs -F -L vmbinst /dev/vda >/tmp/mke2fs.log 2>&1 &&
       mount -t ext2 /dev/vda /mnt; then
        echo installed > /mnt/base.txt
        sync
        umount /mnt
        echo "VMB-INSTALLED uptime=$(up)"
    else
        echo "VMB-INSTALL-FAIL"; cat /tmp/mke2fs.log 2>/dev/null
    fi
fi

MOUNTED=0
if [ "$DISK" = 1 ]; then
    if ! wait_for -b /dev/vda; then
        echo "VMB-NODISK"
    elif mount -t ext2 /dev/vda /mnt; then
        MOUNTED=1
        echo "VMB-DISK base=$(cat /mnt/base.txt 2>/dev/null)"
        # 4 MiB of non-zero data, so the qcow2 overlay really allocates clusters
        yes vmbatch-guest-data | head -c 4194304 > /mnt/guest-data.bin
        sync
        echo "VMB-DISK-WRITTEN uptime=$(up)"
    else
        echo "VMB-DISK-FAIL"
    fi
fi

if [ -n "$PROBE" ]; then
    if [ "$MOUNTED" = 0 ] && wait_for -b /dev/vda && mount -t ext2 /dev/vda /mnt; then
        MOUNTED=1
    fi
    if [ "$MOUNTED" = 1 ] && [ -f /mnt/vmb-probe ]; then
        VMB_IP=$IP VMB_MAC=$MAC VMB_SERVER=$SERVER sh /mnt/vmb-probe "$PROBE"
        echo "VMB-PROBE-END rc=$?"
    else
        echo "VMB-PROBE-MISSING"
    fi
fi
[ "$MOUNTED" = 1 ] && { sync; umount /mnt; }

ATTACK=$(arg attack ""); LISTEN=$(arg listen 0)
if [ "$LISTEN" != 0 ] || [ -n "$ATTACK" ]; then
    if [ ! -x /bin/vmb-attack ]; then
        echo "VMB-ATTACK-MISSING"
    elif [ -z "$IP" ]; then
        echo "VMB-ATTACK-NOLEASE"
    else
        if [ "$LISTEN" != 0 ]; then
            [ "$LISTEN" = 1 ] && LISTEN=600
            vmb-attack listen "$LISTEN" || echo "VMB-LISTEN-FAIL rc=$?"
        fi
        if [ -n "$ATTACK" ]; then
            vmb-attack attack "$ATTACK" "$(arg peermac -)" "$(arg flood 5000)" || echo "VMB-ATTACK-FAIL rc=$?"
        fi
    fi
fi

TCPPROBE=$(arg tcpprobe "")
if [ -n "$TCPPROBE" ]; then
    if [ ! -x /bin/vmb-attack ]; then
        echo "VMB-ATTACK-MISSING"
    elif [ -z "$IP" ]; then
        echo "VMB-ATTACK-NOLEASE"
    else
        vmb-attack tcp $(echo "$TCPPROBE" | tr , ' ') || echo "VMB-ATTACK-FAIL rc=$?"
    fi
fi

SCREEN=$(arg screen "")
if [ -n "$SCREEN" ]; then
    VGATEXT=$(echo "$SCREEN" | tr _ ' ')
    # clear, home, cursor off, no blanking (the screen stays as it is for VNC)
    {
        printf '\033[2J\033[H\033[?25l\033[9;0]\n  %s\n\n' "$VGATEXT"
        for i in 1 2 3 4 5 6 7 8; do printf '  %s  %s  %s\n' "$VGATEXT" "$VGATEXT" "$VGATEXT"; done
    } > /dev/tty1
    echo "VMB-SCREEN shown uptime=$(up)"
    if [ "$(arg screenecho 0)" = 1 ]; then
        # an open reader keeps the line discipline echoing each key as it comes
        stty -F /dev/tty1 echo -icanon 2>/dev/null
        cat /dev/tty1 > /dev/null &
        echo "VMB-SCREEN-ECHO"
    fi
fi

if [ "$HOLD" = -1 ]; then
    while :; do sleep 3600; done
elif [ "$HOLD" != 0 ]; then
    sleep "$HOLD"
fi
echo "VMB-DONE uptime=$(up)"
sync
poweroff -f
sleep 60
EOF
chmod 0755 "$R/init" "$R/etc/udhcpc.script" "$R/etc/acpi/PWRF/00000080"

# 3. pack the initramfs: newc, root-owned, sorted, fixed mtimes -> reproducible
say "packing initrd"
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) \
    > "$WORK/initrd.img"
cp "$KX/boot/vmlinuz-$KVER" "$WORK/vmlinuz"

# 4. the template data disc: ext2 from a directory (no mount), raw and qcow2
say "making disk.raw and base.qcow2"
D=$WORK/diskroot
mkdir -p "$D"
echo template > "$D/base.txt"
truncate -s 16M "$WORK/disk.raw"    # mke2fs says "Creating regular file" otherwise
mke2fs -q -t ext2 -F -L vmbdata -d "$D" "$WORK/disk.raw"
qemu-img convert -q -f raw -O qcow2 "$WORK/disk.raw" "$WORK/base.qcow2"

[ -f "$WORK/vmb-attack" ] && mv -f "$WORK/vmb-attack" "$OUT/vmb-attack"
for f in "${OUTPUTS[@]}"; do
    mv -f "$WORK/$f" "$OUT/$f"
done
t1=$(date +%s.%N)
say "done in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s:" \
    "vmlinuz $(stat -c %s "$OUT/vmlinuz") B, initrd.img $(stat -c %s "$OUT/initrd.img") B"
echo "$OUT"
