#!/bin/bash
# build.sh [DIR] - configure (once) and build vmbatch into DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir"
