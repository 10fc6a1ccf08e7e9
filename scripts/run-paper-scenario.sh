#!/bin/bash
# run-paper-scenario.sh - the paper's section 5.1 on the embedded default
# (one host, local backend): builds vmbatch, creates the paper's users
# (badadmin, doraz, alex) if missing, starts a private vmbatchd and runs
# every vmapp command of the scenario, printing commands and tables.
# Users it created are removed again at the end. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build >/dev/null
VMBATCH_DEMO=1 VMBATCH_SKIP_EXIT=0 bash tests/integration/test-paper-scenario.sh \
  build/src/daemon/vmbatchd build/src/cli/vmbatch
