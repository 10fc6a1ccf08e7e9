#!/bin/bash
# test-completion.sh COMPLETION VMBATCHD VMBATCH - the bash completion
# (data/completion/vmbatch) as bash runs it on TAB: a non-interactive bash
# without the bash-completion package sources the script, sets COMP_WORDS,
# COMP_CWORD, COMP_LINE and COMP_POINT, calls the function the script
# registered for the command, and the test reads COMPREPLY:
#   - vmbatch <TAB>, vmbatch vm <TAB>: the nouns, the vm verbs;
#   - vmapp --vm<TAB>: the paper's options from --vm, and no other;
#   - vmbatch vm run <TAB>, vmapp --vmrun --vm <TAB> (and --vm=PREFIX): exactly
#     the VMs the caller owns, asked of a vmbatchd of the test's own as the
#     caller; another user's VM the student holds a grant on (listed to her,
#     but not hers to name) is not offered; an admin's template is, for --base;
#   - VM groups and user groups where the paper takes them; a path for --kernel;
#   - controls: a stopped (SIGSTOP) daemon and a gone one give no names,
#     within 2 s, and no error; the words that need no daemon still come.
# The daemon (node = no: a socket and a database) runs in a network namespace
# of the test's own; users cpadmin, cpstud and cpother are made if missing
# and those made here removed at exit.
set -u
. "$(dirname "$0")/lib.sh"
COMPLETION=$(realpath "$1")
VMBATCHD=$(realpath "$2")
VMBATCH=$(realpath "$3")
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

[ "$(id -u)" -eq 0 ] || skip_all "needs root (creates system users)"
for t in qemu-img useradd runuser ip; do
  command -v "$t" >/dev/null || skip_all "$t not installed"
done

T=$(mktemp -d /tmp/vmbatch-completion-XXXXXX)
chmod 0755 "$T"
NS=vmb-compl-$$
cleanup() {
  [ -n "${VMB_PID:-}" ] && kill -CONT "$VMB_PID" 2>/dev/null
  stop_vmbatchd
  ip netns del "$NS" 2>/dev/null
  remove_created_users
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the daemon's network namespace (it opens no network port; nothing it does reaches the host's)
ip netns add "$NS" && ip -n "$NS" link set lo up || skip_all "cannot create a network namespace"
VMB_PREFIX="ip netns exec $NS"
for u in cpadmin cpstud cpother; do ensure_user "$u" || skip_all "cannot create user $u"; done
mkdir -p "$T/templates" "$T/home" && chown cpadmin: "$T/templates" && chmod 0755 "$T/templates" "$T/home"
for u in cpstud cpother; do install -d -o "$u" -m 0755 "$T/home/$u"; done
# the programs as a user's PATH has them: vmapp is vmbatch under the paper's name
mkdir -p "$T/bin" && ln -s "$VMBATCH" "$T/bin/vmbatch" && ln -s "$VMBATCH" "$T/bin/vmapp" && chmod 0755 "$T/bin"
VMAPP=$T/bin/vmapp
VMB_SOCK=$T/vmbatchd.sock # start_vmbatchd's; nobody listens there before it
# the script itself, unless a test user cannot read it where it is (a build under /root)
if ! runuser -u cpstud -- bash -c '[ -r "$1" ]' _ "$COMPLETION"; then
  cp "$COMPLETION" "$T/completion" && chmod 0644 "$T/completion"
  diag "$COMPLETION is not readable by cpstud: sourcing a copy, $T/completion"
  COMPLETION=$T/completion
fi

# $T/tab.sh COMPLETION WORD... : what TAB offers when the last WORD is being
# completed (words as bash splits them: "--vm=x" is "--vm" "=" "x"). Prints
# COMPREPLY one a line; fails when the script registers no function for the
# command or the function fails.
cat >"$T/tab.sh" <<'EOF'
set -u
. "$1" || exit 90
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=
for w in "${COMP_WORDS[@]}"; do
  if [[ $w == = || $COMP_LINE == *= || -z $COMP_LINE ]]; then COMP_LINE+=$w; else COMP_LINE+=" $w"; fi
done
COMP_POINT=${#COMP_LINE}
fn=$(complete -p "${COMP_WORDS[0]##*/}" 2>/dev/null | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || exit 91
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 92
printf '%s\n' "${COMPREPLY[@]}"
EOF
chmod 0644 "$T/tab.sh"

# tab USER WORD... : $OUT (the offers, sorted), $RC, $MS (how long it took)
tab() {
  local u=$1 t0; shift
  t0=$(date +%s%N)
  OUT=$(as "$u" env PATH="$T/bin:$PATH" bash --norc --noprofile "$T/tab.sh" "$COMPLETION" "$@" | sort)
  RC=${PIPESTATUS[0]}
  MS=$((($(date +%s%N) - t0) / 1000000))
}
# offers WORD...: each WORD is among $OUT
offers() { local w; for w in "$@"; do printf '%s\n' "$OUT" | grep -qxF -- "$w" || return 1; done; }
# offers_none WORD...: no WORD is among $OUT
offers_none() { local w; for w in "$@"; do printf '%s\n' "$OUT" | grep -qxF -- "$w" && return 1; done; return 0; }
# offers_exactly WORD...: $OUT is these words, no more
offers_exactly() { [ "$OUT" = "$(printf '%s\n' "$@" | sort)" ]; }
why() { diag "rc $RC, ${MS} ms, offered:" "${OUT:-(nothing)}"; }
# check "name": a test point from the status of the command before it, with what TAB offered when it failed
check() { local r=$?; ok $r "$1"; [ $r -eq 0 ] || why; }

# ---- the words of the CLI's own tables (no daemon yet)
tab cpstud vmbatch ""
[ "$RC" -eq 0 ] && offers vm user vmgroup instance perm doctor && offers_none run --vmrun
check "vmbatch <TAB>: the subcommands (vm, user, vmgroup, instance, perm, doctor)"
tab cpstud vmbatch vm ""
[ "$RC" -eq 0 ] && offers run list add del mod show stop suspend resume && offers_none vm user --vmrun
check "vmbatch vm <TAB>: the vm verbs (run, list, add, del, mod, show, stop, suspend, resume)"
tab cpstud vmbatch vm r
[ "$RC" -eq 0 ] && offers_exactly run resume
check "vmbatch vm r<TAB>: run and resume only"
tab cpstud vmbatch vm run myvm --
[ "$RC" -eq 0 ] && offers --isolate --no-start --walltime && offers_none --keep-discs --vmrun
check "vmbatch vm run VM --<TAB>: vm run's options"
tab cpstud vmapp --vm
[ "$RC" -eq 0 ] && offers --vmrun --vmadd --vmlist --vmdel --vmstop --vm --vmg && offers_none --ulist --uadd --isolate &&
  ! printf '%s\n' "$OUT" | grep -qv '^--vm'
check "vmapp --vm<TAB>: the paper's options from --vm (--vmrun, --vmadd, --vmlist, --vm ...), no --ulist"
tab cpstud vmapp --vmrun --
[ "$RC" -eq 0 ] && offers --vm --isolate --nostart && offers_none --vmrun --vmadd
check "vmapp --vmrun --<TAB>: its options, no second action"
echo x >"$T/kernel-file" && chmod 0644 "$T/kernel-file"
tab cpstud vmbatch vm add x --kernel "$T/kernel-f"
[ "$RC" -eq 0 ] && offers_exactly "$T/kernel-file"
check "vmbatch vm add x --kernel PATH<TAB>: file names"

# ---- a daemon, its users and VMs
start_vmbatchd "$T" "admin_user = cpadmin" "admin_stordir = $T/templates" "node = no" ||
  { echo "Bail out! vmbatchd did not start"; exit 1; }
v() { local u=$1; shift; as "$u" "$VMAPP" "$@" >/dev/null 2>>"$T/setup.log"; }
v cpadmin --init --dbpath "$T/db/vmbatch.db" && v cpadmin --ugadd --name studs --ugid 10 &&
  v cpadmin --uadd --name cpstud --uid "$(id -u cpstud)" --ug studs --stordir "$T/home/cpstud" &&
  v cpadmin --uadd --name cpother --uid "$(id -u cpother)" --ug studs --stordir "$T/home/cpother" &&
  v cpadmin --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254 &&
  v cpstud --vmadd --name cpvm-one --stor 64M && v cpstud --vmadd --name cpvm-two --stor 64M &&
  v cpother --vmadd --name cpvm-other --stor 64M && v cpother --permset +r --u cpstud --vm cpvm-other
r=$?; ok $r "setup: users, groups, 2 VMs of cpstud, 1 of cpother that cpstud may run"; [ $r -eq 0 ] || diag "$(cat "$T/setup.log")"
# what makes the next checks able to fail: the daemon lists cpvm-other to cpstud
as cpstud "$VMAPP" --vmlist 2>&1 | grep -qw cpvm-other
ok $? "cpstud's --vmlist shows cpvm-other (her grant), which she cannot name"

tab cpstud vmbatch vm run ""
[ "$RC" -eq 0 ] && offers_exactly cpvm-one cpvm-two
check "vmbatch vm run <TAB>: exactly cpstud's VMs (cpvm-one, cpvm-two), not cpvm-other"
tab cpstud vmapp --vmrun --vm ""
[ "$RC" -eq 0 ] && offers_exactly cpvm-one cpvm-two
check "vmapp --vmrun --vm <TAB>: exactly cpstud's VMs"
tab cpstud vmapp --vmrun --vm = cpvm-t
[ "$RC" -eq 0 ] && offers_exactly cpvm-two
check "vmapp --vmrun --vm=cpvm-t<TAB>: cpvm-two (the value after '=')"
tab cpstud vmbatch vm del cpvm-o
[ "$RC" -eq 0 ] && offers_exactly cpvm-one
check "vmbatch vm del cpvm-o<TAB>: cpvm-one only"
tab cpother vmbatch vm show ""
[ "$RC" -eq 0 ] && offers_exactly cpvm-other
check "as cpother, vmbatch vm show <TAB>: exactly cpvm-other"

tab cpstud vmapp --vmadd --name x --vmg ""
[ "$RC" -eq 0 ] && offers_exactly all_vms lab1
check "vmapp --vmadd --vmg <TAB>: the VM groups (all_vms, lab1)"
tab cpadmin vmapp --umod --name cpstud --ug ""
[ "$RC" -eq 0 ] && offers admin all_users studs
check "as the admin, vmapp --umod --ug <TAB>: the user groups"
tab cpadmin vmbatch perm set +r --user cp
[ "$RC" -eq 0 ] && offers cpstud cpother cpadmin && offers_none root
check "as the admin, vmbatch perm set --user cp<TAB>: the users"

v cpadmin --vmadd --name cptmpl --stor 64M --derivable && v cpadmin --permset +d --ug studs --vm cptmpl
r=$?; ok $r "setup: cpadmin's template cptmpl, derivable by studs"; [ $r -eq 0 ] || diag "$(cat "$T/setup.log")"
tab cpstud vmapp --vmadd --name mine --base ""
[ "$RC" -eq 0 ] && offers_exactly cptmpl cpvm-one cpvm-two
check "vmapp --vmadd --base <TAB>: the admin's template (its name resolves for her) and her own, not cpvm-other"

# ---- controls: the daemon stopped, then gone
kill -STOP "$VMB_PID"
tab cpstud vmbatch vm run ""
[ "$RC" -eq 0 ] && [ -z "$OUT" ] && [ "$MS" -lt 2000 ]
check "a stopped daemon: vmbatch vm run <TAB> offers nothing, no error, in ${MS} ms (< 2 s)"
tab cpstud vmbatch vm ""
[ "$RC" -eq 0 ] && offers run list add
check "a stopped daemon: the verbs still come"
kill -CONT "$VMB_PID"
stop_vmbatchd
tab cpstud vmapp --vmrun --vm ""
[ "$RC" -eq 0 ] && [ -z "$OUT" ] && [ "$MS" -lt 2000 ]
check "no daemon: vmapp --vmrun --vm <TAB> offers nothing, no error, in ${MS} ms"

tap_done
