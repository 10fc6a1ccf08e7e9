#!/bin/bash
# test-package.sh SCRIPTS - the Debian package as a lab's admin meets it
# (issue 12), on this host, as root:
#   - a clean clone of this tree's committed HEAD (git clone: what is not
#     committed is not tested);
#   - the README's "Install on a lab server" block, extracted from the
#     clone's README.md between "# install-begin" and "# install-end" and
#     run as it stands (set -e): install-deps.sh, dpkg-buildpackage -us -uc
#     -b, apt-get install ./vmbatch_*.deb, the conffile, `systemctl enable
#     --now vmbatchd`, the paper's section 5.1 commands against the installed
#     /usr/bin/vmapp and /run/vmbatch/vmbatchd.sock, a student's isolated run.
#     Its variables are the test's: ADMIN pkadmin and STUDENT pkstud (made
#     here), DISC and BOOT the test guest (copied into pkadmin's home);
#   - PID 1 is not systemd here, so `systemctl` is package-systemctl.sh: the
#     real `systemctl enable`, and a start that runs the installed unit's
#     ExecStart= in this test's network namespace under the unit's
#     CapabilityBoundingSet=, NoNewPrivileges= and ProtectSystem=full,
#     waiting for the daemon's READY=1 on a notify socket of its own;
# then: lintian has no error, systemd-analyze verify accepts both units, the
# daemon runs with the unit's bounding set and no_new_privs, the guest gets
# its mapped address by DHCP (VMB-LEASE on its serial log in
# /var/lib/vmbatch/jobs), `vmbatch doctor` against the installed config
# names the socket ok, logrotate's installed rule rotates a job log; and at
# the end `apt-get purge` leaves nothing of the package: what is left on the
# host is listed, and must be only what debian/vmbatch.postrm says stays (the
# users' disc folders).
# Skipped where vmbatch is installed or configured already (the test would
# replace and then purge it).
set -u
. "$(dirname "$0")/lib.sh"
SCRIPTS=$(realpath "$1")
SRC=$(realpath "$SCRIPTS/..")
HERE=$(realpath "$(dirname "$0")")
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ADMIN_U=pkadmin STUDENT_U=pkstud

[ "$(id -u)" -eq 0 ] || skip_all "needs root (installs a package, network namespace, users)"
require_host_features
for t in git dpkg-buildpackage lintian systemd-analyze apt-get logrotate setpriv unshare python3 \
  qemu-system-x86_64 qemu-img dnsmasq; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done
dpkg-query -W -f '${Status}' vmbatch 2>/dev/null | grep -q "install ok" &&
  skip_all "vmbatch is installed on this host: this test would replace and purge it"
for p in /etc/vmbatch /var/lib/vmbatch /run/vmbatch; do
  [ -e "$p" ] && skip_all "$p exists: this test would take it over and purge it"
done
git -C "$SRC" rev-parse HEAD >/dev/null 2>&1 || skip_all "$SRC is not a git checkout (the test clones it)"

T=$(mktemp -d /tmp/vmbatch-package-XXXXXX); chmod 0755 "$T"
NS=vmb-package-$$
INSTALLED=
WEB_USER_BEFORE=$(getent passwd vmbatch-web)
cleanup() {
  local p
  [ -f "$T/vmbatchd.pid" ] && kill "$(cat "$T/vmbatchd.pid")" 2>/dev/null
  [ -f "$T/vmbatchd.notify-pid" ] && kill "$(cat "$T/vmbatchd.notify-pid")" 2>/dev/null
  for p in $(cat /var/lib/vmbatch/jobs/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done
  ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  if [ -n "$INSTALLED" ] && dpkg-query -W -f '${Status}' vmbatch 2>/dev/null | grep -q "ok installed"; then
    apt-get purge -y vmbatch >/dev/null 2>&1
  fi
  [ -n "$INSTALLED" ] && rm -rf /etc/vmbatch /var/lib/vmbatch /run/vmbatch
  # the package's system account stays after purge (postrm says so): ours to remove
  [ -z "$WEB_USER_BEFORE" ] && getent passwd vmbatch-web >/dev/null && userdel vmbatch-web 2>/dev/null
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

use_test_guest
for u in "$ADMIN_U" "$STUDENT_U"; do ensure_user "$u" || skip_all "cannot create user $u"; done
chmod 0755 "/home/$ADMIN_U" "/home/$STUDENT_U"
G=/home/$ADMIN_U/guest
install -d -o "$ADMIN_U" -m 0755 "$G" && install -o "$ADMIN_U" -m 0644 "$T"/guest/* "$G/"
ok $? "setup: the test guest (kernel, initrd, disc) in $G, $ADMIN_U's"
ip netns add "$NS" && ip -n "$NS" link set lo up
ok $? "setup: network namespace $NS for the daemon, its bridge, dnsmasq and the guest"

# ---- a clean clone, the README's block, the systemctl stand-in ----
git clone -q "$SRC" "$T/w/src"
ok $? "a clean clone of $(git -C "$SRC" rev-parse --short HEAD)"
sed -n '/^# install-begin$/,/^# install-end$/p' "$T/w/src/README.md" >"$T/install-block.sh"
[ "$(grep -c . "$T/install-block.sh")" -gt 10 ] && grep -q "systemctl enable --now vmbatchd" "$T/install-block.sh"
ok $? "README.md's install block extracted ($(grep -vc '^#' "$T/install-block.sh") commands)"
mkdir -p "$T/shim" && ln -s "$HERE/package-systemctl.sh" "$T/shim/systemctl"
snapshot() { # the host's files that a package can touch, minus apt's, dpkg's and logs
  find /etc /usr /opt /var /run -xdev \( -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \
    -o -path /var/log -o -path /var/tmp -o -path /var/lib/systemd/deb-systemd-helper-enabled \
    -o -path /run/netns -o -path /var/run/netns -o -path /usr/share/info/dir \) -prune -o -print 2>/dev/null | sort
}
snapshot >"$T/before.list"

INSTALLED=1
t0=$(date +%s)
(cd "$T/w/src" && PATH="$T/shim:$PATH" VMB_TEST_NS=$NS VMB_TEST_DIR=$T ADMIN=$ADMIN_U STUDENT=$STUDENT_U \
  DISC=$G/base.qcow2 KERNEL=$G/vmlinuz INITRD=$G/initrd.img DEBIAN_FRONTEND=noninteractive \
  bash -c 'set -e; BOOT=(--kernel "$KERNEL" --initrd "$INITRD" --cmdline "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1")
    . "$1"' _ "$T/install-block.sh") </dev/null >"$T/install.log" 2>&1
rc=$?
ok $rc "the install block ran to its end in $(( $(date +%s) - t0 )) s: $(grep -m1 'Your vm is accessible' "$T/install.log")"
[ $rc -eq 0 ] || { diag "the block's last lines:"; tail -30 "$T/install.log" | sed 's/^/# /'; tail -20 "$T/vmbatchd.journal" 2>/dev/null | sed 's/^/# journal: /'; }

# ---- the package ----
deb=$(ls "$T"/w/vmbatch_*.deb 2>/dev/null | head -1)
[ -n "$deb" ]; ok $? "dpkg-buildpackage made $(basename "${deb:-no .deb}")"
out=$(lintian --fail-on error "$T"/w/vmbatch_*.changes 2>&1); rc=$?
ok $rc "lintian: no error ($(printf '%s\n' "$out" | grep -c '^E:') E, $(printf '%s\n' "$out" | grep -c '^W:') W, $(printf '%s\n' "$out" | grep -c '^I:') I)"
[ $rc -eq 0 ] || diag "$out"
dpkg-query -W -f '${Status}' vmbatch 2>/dev/null | grep -q "ok installed"
ok $? "vmbatch is installed ($(dpkg-query -W -f '${Version}' vmbatch 2>/dev/null))"
[ "$(command -v vmapp)" = /usr/bin/vmapp ] && dpkg -S /usr/bin/vmapp /usr/sbin/vmbatchd >/dev/null 2>&1
ok $? "vmapp and vmbatchd are the package's (/usr/bin/vmapp, /usr/sbin/vmbatchd)"
for f in /lib/systemd/system/vmbatchd.service /lib/systemd/system/vmbatchd-node.service \
  /usr/lib/tmpfiles.d/vmbatch.conf /etc/logrotate.d/vmbatch /etc/vmbatch/vmbatch.conf \
  /usr/share/bash-completion/completions/vmbatch /usr/share/bash-completion/completions/vmapp \
  /usr/sbin/vmbatch-web /lib/systemd/system/vmbatch-web.service /usr/share/vmbatch/web/console.html \
  /usr/lib/sysusers.d/vmbatch.conf; do
  dpkg -S "$f" >/dev/null 2>&1; ok $? "the package ships $f"
done
dpkg -L vmbatch >"$T/package.list" 2>/dev/null
dpkg-query -W -f '${Conffiles}\n' vmbatch | grep -q "/etc/vmbatch/vmbatch.conf"
ok $? "/etc/vmbatch/vmbatch.conf is a conffile"
out=$(systemd-analyze verify /lib/systemd/system/vmbatchd.service /lib/systemd/system/vmbatchd-node.service \
  /lib/systemd/system/vmbatch-web.service 2>&1)
rc=$?; ok $rc "systemd-analyze verify accepts vmbatchd.service, vmbatchd-node.service and vmbatch-web.service"
[ $rc -eq 0 ] && [ -z "$out" ] || diag "$out"
getent passwd vmbatch-web | grep -q ':/nonexistent:/usr/sbin/nologin$'
ok $? "the install made the console gateway's system account vmbatch-web (sysusers.d): $(getent passwd vmbatch-web)"
[ -L /etc/systemd/system/multi-user.target.wants/vmbatchd.service ]
ok $? "systemctl enable made multi-user.target.wants/vmbatchd.service"

# ---- the daemon as the unit runs it ----
DPID=$(cat "$T/vmbatchd.pid" 2>/dev/null)
grep -q '^READY=1' "$T/vmbatchd.notify-msgs" 2>/dev/null
ok $? "vmbatchd said READY=1 on the notify socket: $(head -1 "$T/vmbatchd.notify-msgs" 2>/dev/null)"
[ -n "$DPID" ] && [ "$(readlink "/proc/$DPID/exe")" = /usr/sbin/vmbatchd ]
ok $? "the running daemon (pid ${DPID:-?}) is /usr/sbin/vmbatchd"
want=$(sed -n 's/^CapabilityBoundingSet=//p' /lib/systemd/system/vmbatchd.service)
have=$(capsh --decode="$(awk '/^CapBnd/ {print $2}' "/proc/$DPID/status" 2>/dev/null)" 2>/dev/null | sed 's/.*=//')
norm() { tr ', ' '\n\n' | sed 's/^cap_//I' | tr 'A-Z' 'a-z' | grep . | sort | tr '\n' ' '; }
[ -n "$want" ] && [ "$(printf '%s' "$want" | norm)" = "$(printf '%s' "$have" | norm)" ]
ok $? "its bounding set is the unit's CapabilityBoundingSet= ($(printf '%s' "$have" | norm | wc -w) capabilities)"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$DPID/status" 2>/dev/null; ok $? "it runs with no_new_privs (NoNewPrivileges=yes)"
[ -S /run/vmbatch/vmbatchd.sock ]; ok $? "its socket is /run/vmbatch/vmbatchd.sock"
[ "$(stat -c %a /var/lib/vmbatch)" = 755 ] && [ "$(stat -c %a /var/lib/vmbatch/vmbatch.db)" = 600 ]
ok $? "/var/lib/vmbatch is 0755 (starters reach run/), its database 0600 ($(stat -c %a /var/lib/vmbatch /var/lib/vmbatch/vmbatch.db 2>/dev/null | tr '\n' ' '))"

# ---- the student's run: the guest's lease ----
map=$(runuser -u "$STUDENT_U" -- vmapp --json --maplist 2>/dev/null)
field() { printf '%s' "$map" | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[0]['$1'])" 2>/dev/null; }
id=$(field id); ip=$(field ip); mac=$(field mac)
[ -n "$id" ] && [ -n "$ip" ]; ok $? "the student's instance ${id:-?} is mapped to ${ip:-?} (${mac:-?})"
serial=/var/lib/vmbatch/jobs/instance-$id.serial
wait_for 120 grep -q "VMB-LEASE ip=$ip " "$serial"
ok $? "its guest got exactly $ip by DHCP: $(tr -d '\r' <"$serial" 2>/dev/null | grep -m1 'VMB-LEASE\|VMB-NOLEASE')"
[ "$(field isolated)" = True ]; ok $? "and it runs isolated"

# ---- doctor and logrotate on the installed files ----
out=$(ip netns exec "$NS" vmbatch doctor 2>&1); rc=$?
printf '%s\n' "$out" | grep -Eq '^ *ok +socket'
ok $? "vmbatch doctor (installed config) finds the socket ok (exit $rc, $(printf '%s\n' "$out" | grep -Ec '^ *ok ') ok, $(printf '%s\n' "$out" | grep -Ec '^ *warn ') warn, $(printf '%s\n' "$out" | grep -Ec '^ *fail ') fail)"
[ $rc -eq 0 ] || diag "$out"
log=$(ls /var/lib/vmbatch/jobs/*.log 2>/dev/null | head -1)
if [ -n "$log" ]; then
  size=$(stat -c %s "$log")
  logrotate -f -s "$T/logrotate.state" /etc/logrotate.d/vmbatch 2>"$T/logrotate.err"
  ls "$log".1* >/dev/null 2>&1 && [ "$(stat -c %s "$log")" -lt "$size" -o "$size" -eq 0 ]
  ok $? "logrotate's rule rotates $(basename "$log") ($size bytes -> $(ls "$log".1* 2>/dev/null | xargs -r basename))"
else
  ok 1 "a job log to rotate in /var/lib/vmbatch/jobs"
fi

# ---- stop, purge, what is left ----
runuser -u "$STUDENT_U" -- vmapp --vmstop --instance "${id:-0}" >/dev/null 2>&1
wait_for 60 eval '! runuser -u "$STUDENT_U" -- vmapp --json --maplist 2>/dev/null | grep -q "\"id\": ${id:-0},"'
ok $? "the student stops her instance"
PATH="$T/shim:$PATH" VMB_TEST_NS=$NS VMB_TEST_DIR=$T systemctl stop vmbatchd
ok $? "systemctl stop vmbatchd: the daemon ended on SIGTERM"
grep -q '^STOPPING=1' "$T/vmbatchd.notify-msgs" 2>/dev/null; ok $? "it said STOPPING=1 first"
apt-get purge -y vmbatch >"$T/purge.log" 2>&1; ok $? "apt-get purge -y vmbatch"
snapshot >"$T/after.list"
# what is new since before the install, and is vmbatch's: a path of the
# package, or named vmbatch (other programs may write to /var or /run
# meanwhile: a scheduler's spool, systemd-analyze's /run/systemd)
new=$(comm -13 "$T/before.list" "$T/after.list")
left=$(printf '%s\n' "$new" | grep -Fx -f "$T/package.list" ; printf '%s\n' "$new" | grep -E '(^|/)vmbatch([./_]|$)')
left=$(printf '%s\n' "$left" | grep . | sort -u)
gone=$(comm -23 "$T/before.list" "$T/after.list" | grep -E '(^|/)vmbatch([./_]|$)')
diag "new on the host since the install: $(printf '%s\n' "$new" | grep -c .) paths, of other programs: $(printf '%s\n' "$new" | grep . | head -8 | tr '\n' ' ')"
diag "left of vmbatch after purge, in /etc /usr /opt /var /run: ${left:-nothing}"
[ -z "$left" ]; ok $? "nothing of the package is left in /etc, /usr, /opt, /var, /run ($(grep -c . "$T/package.list") paths installed)"
[ -z "$gone" ]; ok $? "and nothing named vmbatch that was there before is gone${gone:+: $gone}"
stud_left=$(find "/home/$STUDENT_U/vms" -type f 2>/dev/null)
diag "left in the student's folder, as debian/vmbatch.postrm documents: ${stud_left:-nothing}"
[ -n "$stud_left" ] && grep -q "Never touched: the users' and the admin's disc" "$T/w/src/debian/vmbatch.postrm"
ok $? "what is left is the student's disc, in her folder, which postrm says stays"
[ ! -e /etc/systemd/system/multi-user.target.wants/vmbatchd.service ]
ok $? "the unit's enablement is gone"
getent passwd vmbatch-web >/dev/null && grep -q "vmbatch-web (sysusers.d) stays" "$T/w/src/debian/vmbatch.postrm"
ok $? "the system account vmbatch-web stays, as postrm says"
INSTALLED=
tap_done
