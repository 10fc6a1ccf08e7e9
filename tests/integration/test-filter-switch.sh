#!/bin/bash
# test-filter-switch.sh VMBATCHD VMBATCH STARTER SCRIPTS
# filter_backend changes across daemon restarts (nft -> none -> ebtables ->
# nft), in a network namespace this test makes, with a real guest booted
# after each switch: each guest gets its mapped lease, and after each start
# nothing of the previous backend is left (no `table bridge vmbatch`, no
# vmb-*/vm-* ebtables chain or jump to one), and the daemon's log says what
# it removed. The control: the nft table of the first run, loaded again
# while filter_backend = none, drops a new guest's DHCP (VMB-NOLEASE), which
# is the defect a restart's purge removes. Also: filter_backend = ebtables
# without ebtables-nft refuses to start with one line naming the package.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
begin_node_test fsw nft ebtables-nft
nsx() { ip netns exec "$NS" "$@"; }

# start BACKEND: vmbatchd with that filter backend (state and database kept across restarts)
start() {
  stop_vmbatchd
  : >"$T/vmbatchd.log"
  start_node_vmbatchd "filter_backend = $1"
}
nft_table() { nsx nft list table bridge vmbatch >/dev/null 2>&1; }
ebt_ours() { { nsx ebtables-nft -t nat -L; nsx ebtables-nft -t filter -L; } 2>/dev/null | grep -Eq 'vmb-|vm-vmb'; }
# boot VM and wait for its lease line; prints the serial log's verdict
boot() { # boot VM -> sets ID, LEASE ("ip" or "none")
  local vm=$1 out
  out=$(VMBATCH_RUN_WAIT=120 v doraz --json --vmrun --vm "$vm" 2>&1) || { diag "$out"; ID=; LEASE=error; return 1; }
  # doraz runs one instance at a time here
  read -r ID IP < <(v doraz --json --maplist | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[0]['id'], m[0]['ip'])" 2>/dev/null)
  local serial=$T/state/jobs/instance-$ID.serial
  wait_for 90 grep -Eq "VMB-(NO)?LEASE" "$serial"
  if grep -q "VMB-LEASE ip=$IP " "$serial"; then LEASE=$IP; else LEASE=none; fi
}
halt() { # halt: stop instance $ID and wait until its mapping is gone
  [ -n "${ID:-}" ] || return 0
  v doraz --vmstop --force --instance "$ID" >/dev/null 2>&1
  wait_for 60 eval "! v badadmin --json --maplist | grep -q '\"id\": $ID,'"
}
restart() { # restart BACKEND "label": the daemon with filter_backend = BACKEND, or bail out
  start "$1" || { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
  ok 0 "$2: vmbatchd restarted with filter_backend = $1"
}
leased() { # leased "label": a guest booted now gets its mapped lease
  boot g1; [ "$LEASE" = "$IP" ]; ok $? "$1: the guest got its mapped lease ($LEASE)"
  halt
}
removed_line() { grep -o 'removed the.*' "$T/vmbatchd.log" | head -1; }

# ---- a backend that cannot work refuses to start (one line, what to install)
{ echo "socket = $T/refused.sock"; echo "database = $T/refused.db"; echo "state_dir = $T/refused";
  echo "bridge = vbr0"; echo "bridge_address = 192.168.100.1/24"; echo "dhcp_backend = none";
  echo "filter_backend = ebtables"; } >"$T/refused.conf"
out=$(env PATH=/usr/bin:/bin ip netns exec "$NS" "$VMBATCHD" -c "$T/refused.conf" 2>&1 </dev/null); rc=$?
line=$(printf '%s\n' "$out" | grep -c .)
[ $rc -ne 0 ] && [ "$line" -eq 1 ] && printf '%s' "$out" | grep -q "ebtables-nft, which is not installed (Debian package: iptables)"
ok $? "filter_backend = ebtables without ebtables-nft (not on PATH): refused in one line: $out"
! nsx ip link show vbr0 >/dev/null 2>&1 && [ ! -S "$T/refused.sock" ]
ok $? "... before it made the bridge or the socket"

# ---- 1. nft
restart nft "1"
guest_template doraz "$D" "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.tries=6 vmb.hold=-1" &&
  v doraz --vmadd --name g1 --base tmpl >/dev/null
ok $? "setup: a template and doraz's derived vm g1"
nft_table; ok $? "1. table bridge vmbatch is there"
boot g1; [ "$LEASE" = "$IP" ]; ok $? "1. nft: the guest got its mapped lease ($LEASE)"
nsx nft list table bridge vmbatch >"$T/nft-table.txt" 2>/dev/null
grep -q '"vmb' "$T/nft-table.txt"; ok $? "1. the running guest's tap is in the table's sets (saved for the control)"
halt

# ---- 2. none: the nft table goes
restart none "2"
! nft_table; ok $? "2. no table bridge vmbatch left"
grep -q "removed the nft table bridge vmbatch: filter_backend is none now" "$T/vmbatchd.log"
ok $? "2. the log says so: $(removed_line)"
leased "2. none"
# control: the first run's table, back while filter_backend = none, drops a new tap's DHCP
sed -n '/^table/,$p' "$T/nft-table.txt" | nsx nft -f - 2>"$T/nft-load.err"
nft_table; ok $? "control: the nft run's table loaded again $(cat "$T/nft-load.err")"
boot g1; [ "$LEASE" = none ]
ok $? "control: with that leftover table a new guest gets no lease (VMB-NOLEASE): the defect is real"
halt
restart none "2 again"
! nft_table && grep -q "removed the nft table" "$T/vmbatchd.log"; ok $? "2. a restart removes it again"
leased "2. the next guest"

# ---- 3. ebtables
restart ebtables "3"
! nft_table; ok $? "3. still no table bridge vmbatch"
! grep -q "removed the" "$T/vmbatchd.log"; ok $? "3. nothing to remove after none (log)"
ebt_ours; ok $? "3. the ebtables chains are there"
leased "3. ebtables"

# ---- 4. back to nft: the ebtables chains and jumps go
restart nft "4"
! ebt_ours; ok $? "4. no vmb-*/vm-* ebtables chain and no jump to one left"
grep -q "removed the ebtables chains of vmbatch" "$T/vmbatchd.log"; ok $? "4. the log says so: $(removed_line)"
! nsx nft list tables 2>/dev/null | grep -Eq 'table bridge (nat|filter)$'
ok $? "4. ebtables-nft's nat and filter tables, empty now, are gone too"
nft_table; ok $? "4. table bridge vmbatch is back"
leased "4. nft"
stop_vmbatchd
nsx nft list tables 2>/dev/null | sed 's/^/# tables at the end: /'
tap_done
