#!/bin/bash
# build-test-iso.sh OUTDIR - a bootable installer CD for vmbatch's tests: OUTDIR/install.iso.
#
# The CD boots (isolinux, BIOS El Torito, no emulation) the test guest's kernel and initrd
# with "console=ttyS0 vmb.net=0 vmb.install=1": the guest formats /dev/vda as ext2, writes
# base.txt = "installed", prints VMB-INSTALLED and powers off. That simulates "install an
# OS from a CD onto a new empty disc" (vmbatch run --install --cdrom ...).
#
# The kernel and initrd come from scripts/build-test-guest.sh (run here; it is cached) in
# $VMBATCH_GUEST_DIR, default build/guest. The image is made by xorriso from a directory
# tree: nothing is mounted.
#
# Host packages needed: xorriso isolinux syslinux-common (+ those of build-test-guest.sh)
# Cached: install.iso is rebuilt only when older than this script, the kernel or the initrd.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SCRIPT")
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
ISOLINUX_BIN=/usr/lib/ISOLINUX/isolinux.bin             # package isolinux
LDLINUX_C32=/usr/lib/syslinux/modules/bios/ldlinux.c32  # package syslinux-common

say() { echo "build-test-iso: $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v xorriso >/dev/null || die "xorriso not found (needs: xorriso isolinux syslinux-common)"
[ -f "$ISOLINUX_BIN" ] || die "$ISOLINUX_BIN missing (package isolinux)"
[ -f "$LDLINUX_C32" ] || die "$LDLINUX_C32 missing (package syslinux-common)"

GUEST=$("$HERE/build-test-guest.sh" "${VMBATCH_GUEST_DIR:-build/guest}")
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
ISO=$OUT/install.iso

if [ -f "$ISO" ] && [ "$ISO" -nt "$SCRIPT" ] && [ "$ISO" -nt "$GUEST/vmlinuz" ] &&
   [ "$ISO" -nt "$GUEST/initrd.img" ]; then
    echo "$ISO"
    exit 0
fi

say "making $ISO"
WORK=$(mktemp -d "$OUT/.iso.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
T=$WORK/tree
mkdir -p "$T/isolinux"
cp "$ISOLINUX_BIN" "$LDLINUX_C32" "$T/isolinux/"
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$T/"
cat > "$T/isolinux/isolinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT install
PROMPT 0
TIMEOUT 0
LABEL install
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 quiet panic=-1 vmb.net=0 vmb.install=1
EOF
# isolinux patches the boot info table into isolinux.bin: give xorriso a copy (done above)
xorriso -as mkisofs -quiet -o "$WORK/install.iso" -V VMB_INSTALL -R -J \
    -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$T" 2>"$WORK/xorriso.log" ||
    { cat "$WORK/xorriso.log" >&2; die "xorriso failed"; }
mv -f "$WORK/install.iso" "$ISO"
echo "$ISO"
