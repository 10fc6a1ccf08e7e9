#!/bin/bash
# test-exam-selftest.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Issue 14's isolation self-test: before an exam is ready, two probe guests on the exam's network
# (the test guest as exam_probe_kernel/exam_probe_initrd: a listener and an attacker that runs
# tests/guest/vmb-attack.c against it) try every attack on each other, and the node's own TCP
# listener on the gateway stands for a host service. Two runs, each with its own network namespace,
# vmbatchd (node role, dnsmasq, TCG) and database, the same teacher stteach (admin_user) and the
# students ststud1, ststud2:
#   filtered  filter_backend = nft: the self-test passes; exam show says ready with the probes'
#             results (every attack blocked, every control ok, the host service not reached); the
#             probes' instances and vm rows are gone; exam start (by hand) starts it; exam selftest
#             on a running exam is refused
#   none      filter_backend = none: not ready; the reason names the attacks that got through (the
#             host service among them: the node's listener accepted the attacker); exam start is
#             refused with that reason; the clock does not start it at its start time either (it
#             stays created; the refusal audited once); the probes are gone
#   silent    probes that cannot boot (exam_probe_kernel is not a kernel): "no answer from the
#             probes", not ready, the probes gone
# Control: the attacks the none run reports as through are among those the filtered run blocked,
# and there are some (the probes work, so the filtered pass is no accident). The self-test's
# duration (seconds) is a TAP diagnostic per run.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, taps, users)"
require_host_features
for t in qemu-system-x86_64 qemu-img dnsmasq python3 nft; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

TEACHER=stteach
STUDENTS=(ststud1 ststud2)
EXAM=isoexam
T=$(mktemp -d /tmp/vmbatch-exam-selftest-XXXXXX); chmod 0755 "$T"
t_start=$(date +%s)
NAMESPACES=()
cleanup() {
  end_daemon_runs
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


use_test_guest
[ -x "$GUEST/vmb-attack" ] || skip_all "the test guest has no vmb-attack (gcc with a static libc needed)"
for u in "$TEACHER" "${STUDENTS[@]}"; do ensure_user "$u" || skip_all "cannot create user $u"; done
use_vmapp
v() { local u=$1; shift; as "$u" "$VMAPP" "$@"; }
vb() { local u=$1; shift; as "$u" "$VMAPP_BIN" "$@"; }
show_json() { vb $TEACHER --json exam show $EXAM 2>/dev/null; }
st_field() { show_json | pyj "print(m['selftest'].get('$1', ''))"; }

# run_case LABEL FILTER_BACKEND START [KERNEL]: one namespace, daemon, exam; facts in $T/LABEL/
run_case() {
  local label=$1 fb=$2 start=$3 kernel=${4:-$T/guest/vmlinuz} R=$T/$1 NS=vmb-stt-$$-$1 u out rc
  mkdir -p "$R/templates" "$R/home" && chown $TEACHER: "$R/templates" && chmod 0711 "$R/templates" && chmod 0755 "$R/home"
  for u in "${STUDENTS[@]}"; do install -d -o "$u" -g "$(id -gn "$u")" -m 0755 "$R/home/$u"; done
  ip netns add "$NS" && ip -n "$NS" link set lo up || { ok 1 "$label: a network namespace"; return; }
  NAMESPACES+=("$NS")
  VMB_PREFIX="ip netns exec $NS"
  start_vmbatchd "$R" "admin_user = $TEACHER" "admin_stordir = $R/templates" "state_dir = $R/state" \
    "bridge = vbr0" "bridge_address = 192.168.100.1/24" "dhcp_backend = dnsmasq" \
    "dhcp_range = 192.168.100.0/255.255.255.0" "dhcp_gateway = 192.168.100.1" "accel = tcg" \
    "vnc_listen = 127.0.0.1" "starter = $STARTER" "reattach_grace = 5" "filter_backend = $fb" \
    "exam_probe_kernel = $kernel" "exam_probe_initrd = $T/guest/initrd.img" "exam_selftest_timeout = 420" &&
    wait_for 15 eval 'v $TEACHER --ping >/dev/null 2>&1'
  ok $? "$label: vmbatchd (filter_backend = $fb, exam_probe_kernel = ${kernel##*/}) started in $NS" ||
    { tail -5 "$R/vmbatchd.log" | sed 's/^/# /'; return; }
  v $TEACHER --init >/dev/null && v $TEACHER --ugadd --name stug --ugid 30 >/dev/null &&
    v $TEACHER --uadd --name ststud1 --uid "$(id -u ststud1)" --ug stug --stordir "$R/home/ststud1" >/dev/null &&
    v $TEACHER --uadd --name ststud2 --uid "$(id -u ststud2)" --ug stug --stordir "$R/home/ststud2" >/dev/null &&
    v $TEACHER --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.240 >/dev/null &&
    v $TEACHER --vmadd --name tmpl --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
      --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "console=ttyS0 quiet vmb.net=1" >/dev/null
  ok $? "$label: setup: teacher $TEACHER, group stug (${STUDENTS[*]}), template tmpl on vm group lab1" || return

  local t0; t0=$(date +%s%3N)
  out=$(vb $TEACHER exam create $EXAM --template tmpl --group stug --start "$start" --end +60 2>&1)
  ok $? "$label: exam create $EXAM (start $start): $out" || return
  [ "$(st_field state)" = pending ] || [ "$(st_field state)" = running ]
  ok $? "$label: its self-test is queued at once ($(st_field state))"
  expect_fail "$label: exam start before the self-test is refused" "is not ready" -- vb $TEACHER exam start $EXAM
  done_() { case $(st_field state) in passed | failed) return 0 ;; *) return 1 ;; esac; }
  wait_for 480 done_
  local wall=$(( $(date +%s%3N) - t0 ))
  show_json >"$R/show.json"
  vb $TEACHER exam show $EXAM >"$R/show.txt" 2>&1
  local ms; ms=$(pyj "print(m['selftest']['duration_ms'])" <"$R/show.json")
  diag "$label: self-test duration $(( ${ms:-0} / 1000 )).$(( ${ms:-0} % 1000 / 100 )) s (the daemon's), $(( wall / 1000 )) s from exam create to the result"
  diag "$label: exam show:" "$(cat "$R/show.txt")"
  pyj "
r = m['selftest'].get('results', {})
for k, v in sorted(r.get('attacks', {}).items()): print(k, v)" <"$R/show.json" >"$R/attacks"
  pyj "
r = m['selftest'].get('results', {})
for k, v in sorted(r.get('controls', {}).items()): print(k, 'ok' if v else 'failed')" <"$R/show.json" >"$R/controls"
  pyj "print(m['selftest']['results'].get('host_tcp', {}).get('accepts', -1))" <"$R/show.json" >"$R/accepts"
  # the probes are gone: no instance, no vm row named selftest-*
  gone() { [ -z "$(v $TEACHER --json --maplist | pyj 'print(*[i["id"] for i in m])')" ] &&
    ! vb $TEACHER --json vm list | pyj "print(*[x['name'] for x in m])" | grep -q selftest-; }
  wait_for 120 gone
  ok $? "$label: the probes' instances ended and their vm rows deleted"
}

# ---- run 1: the filters on ----
run_case filtered nft +20
R=$T/filtered
[ "$(pyj "print(m['selftest']['state'])" <"$R/show.json")" = passed ]
ok $? "filtered: the self-test passed: $(pyj "print(m['selftest']['reason'])" <"$R/show.json")"
[ "$(pyj "print(m['state'])" <"$R/show.json")" = ready ]; ok $? "filtered: exam show: the exam is ready"
grep -q "^self-test: passed in [0-9.]* s: ready: 22 attacks blocked, 8 controls ok" "$R/show.txt"
ok $? "filtered: exam show prints the result ($(grep -m1 '^self-test' "$R/show.txt"))"
n_blocked=$(grep -c ' blocked$' "$R/attacks"); n_attacks=$(wc -l <"$R/attacks")
[ "$n_attacks" = 22 ] && [ "$n_blocked" = 22 ]; ok $? "filtered: every attack blocked ($n_blocked of $n_attacks)"
[ "$(grep -c ' ok$' "$R/controls")" = 8 ]; ok $? "filtered: every control ok: $(tr '\n' ' ' <"$R/controls")"
[ "$(cat "$R/accepts")" = 0 ]; ok $? "filtered: the host service on the gateway accepted nothing ($(cat "$R/accepts"))"
grep -q "blocked (22): arp-peer" "$R/show.txt"; ok $? "filtered: exam show lists the blocked probes"
out=$(vb $TEACHER exam start $EXAM 2>&1); ok $? "filtered: a ready exam starts by hand: $out"
expect_fail "filtered: exam selftest on a running exam is refused" "self-test is over" -- vb $TEACHER exam selftest $EXAM
audit=$(vb $TEACHER --json audit list --limit 500 2>/dev/null)
printf '%s' "$audit" | pyj "sys.exit(0 if any(a['op']=='exam.selftest.result' and a.get('detail', {}).get('passed') for a in m) else 1)"
ok $? "filtered: the result is in the audit log (exam.selftest.result, passed)"
vb $TEACHER exam stop $EXAM >/dev/null 2>&1
stop_vmbatchd

# ---- run 2: no filters; its start time passes during the test ----
run_case none none +40s
R=$T/none
[ "$(pyj "print(m['selftest']['state'])" <"$R/show.json")" = failed ]
ok $? "none: the self-test failed"
# past its start time (and a few of the clock's ticks): still not started
start=$(pyj "print(m['start'])" <"$R/show.json")
while [ "$(date +%s)" -lt $((start + 3)) ]; do sleep 1; done
state=$(show_json | pyj "print(m['state'])")
[ "$state" = created ]
ok $? "none: the exam is not ready, and the clock did not start it at its start time ($state, $(( $(date +%s) - start )) s after it)"
reason=$(pyj "print(m['selftest']['reason'])" <"$R/show.json")
through=$(awk '$2 == "through" { print $1 }' "$R/attacks")
[ -n "$through" ]; ok $? "none: attacks got through: $(echo $through)"
missing=
for a in $through; do printf '%s' "$reason" | grep -q -- "$a" || missing="$missing $a"; done
[ -z "$missing" ] && printf '%s' "$reason" | grep -q "got through: "
ok $? "none: the reason names each of them: $reason${missing:+ (missing:$missing)}"
grep -qx "gw-tcp through" "$R/attacks" && [ "$(cat "$R/accepts")" -gt 0 ]
ok $? "none: the host service was reached: the node's listener accepted $(cat "$R/accepts") connection(s)"
grep -q "^self-test: failed in [0-9.]* s: not ready: got through: " "$R/show.txt"
ok $? "none: exam show prints it ($(grep -m1 '^self-test' "$R/show.txt" | cut -c1-120)...)"
first=$(echo $through | cut -d' ' -f1)
expect_fail "none: exam start is refused with the reason" "is not ready: the isolation self-test failed: .*got through: .*$first" -- \
  vb $TEACHER exam start $EXAM
audit=$(vb $TEACHER --json audit list --limit 500 2>/dev/null)
n=$(printf '%s' "$audit" | pyj "print(sum(1 for a in m if a['op']=='exam.start' and 'refused' in a.get('detail', {})))")
[ "$n" = 1 ]; ok $? "none: the clock's refusal at the start time is audited once ($n)"
grep -q "not started at its start time: the exam $EXAM is not ready" "$R/vmbatchd.log"
ok $? "none: and logged with the reason"
stop_vmbatchd

# ---- run 3: probes that never answer (their "kernel" is the initrd: qemu cannot boot it) ----
run_case silent nft +20 "$T/guest/initrd.img"
R=$T/silent
[ "$(pyj "print(m['selftest']['state'])" <"$R/show.json")" = failed ] && [ "$(pyj "print(m['state'])" <"$R/show.json")" = created ]
ok $? "silent: the self-test failed, the exam is not ready"
reason=$(pyj "print(m['selftest']['reason'])" <"$R/show.json")
case $reason in "no answer from the probes"*) true ;; *) false ;; esac
ok $? "silent: the reason: $reason"
expect_fail "silent: exam start is refused" "is not ready: the isolation self-test failed: no answer from the probes" -- \
  vb $TEACHER exam start $EXAM
stop_vmbatchd

# ---- control ----
blocked_f=$(awk '$2 == "blocked" { print $1 }' "$T/filtered/attacks" 2>/dev/null)
notin=
for a in $through; do printf '%s\n' $blocked_f | grep -qx -- "$a" || notin="$notin $a"; done
[ -n "$through" ] && [ -z "$notin" ]
ok $? "control: every attack through with filter_backend = none ($(echo $through | wc -w)) was blocked by the filters${notin:+ (not:$notin)}"
diag "blocked in both runs (no observer tells them apart here): $(for a in $blocked_f; do printf '%s\n' $through | grep -qx -- "$a" || printf '%s ' "$a"; done)"
diag "runtime $(($(date +%s) - t_start)) s"
tap_done
