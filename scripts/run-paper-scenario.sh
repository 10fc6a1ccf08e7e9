#!/bin/bash
# run-paper-scenario.sh - the paper's section 5.1 on the embedded default
# (one host, local backend, dnsmasq): builds vmbatch and the tiny test guest,
# creates the paper's users (badadmin, doraz, alex) if missing, and
#  1. runs every vmapp command of the scenario against a private vmbatchd,
#     printing commands and tables;
#  2. in a network namespace of its own, makes a template from the test
#     guest, lets doraz and alex derive it, runs both VMs isolated, shows
#     the mapping table and that each guest obtained exactly its mapped IP,
#     connects to their VNC consoles, and stops them.
# Users it created are removed again at the end. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build >/dev/null
echo "== 1. section 5.1: users, groups, templates, permissions"
VMBATCH_DEMO=1 VMBATCH_SKIP_EXIT=0 bash tests/integration/test-paper-scenario.sh \
  build/src/daemon/vmbatchd build/src/cli/vmbatch
echo
echo "== 2. running the derived VMs (TCG guests, dnsmasq fixed leases, VNC)"
VMBATCH_DEMO=1 VMBATCH_SKIP_EXIT=0 VMBATCH_GUEST_DIR=build/guest bash tests/integration/test-run-vms.sh \
  build/src/daemon/vmbatchd build/src/cli/vmbatch build/src/starter/vmbatch-starter scripts
