#!/usr/bin/env bash
# slate's main job, end to end, on a fresh Debian 12 machine: install, build,
# then resolve and lock every starter image under images/ for all its
# architectures, from Debian's signed archive (the mirror comes from the
# host's apt sources unless SLATE_MIRROR is set).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/slate lock images/*.yaml
echo
echo "Locked: $(ls images/*.lock.json | tr '\n' ' ')"
