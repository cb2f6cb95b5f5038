#!/usr/bin/env bash
# slate's main job, end to end, on a fresh Debian 12 machine: install, build,
# resolve and lock every starter image under images/ for all its
# architectures from Debian's signed archive (the mirror comes from the host's
# apt sources unless SLATE_MIRROR is set), then build the python image for
# amd64 and arm64 and run its tests on this machine's architecture.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/slate lock images/*.yaml
build/slate build images/python.yaml --lock images/python.lock.json -o out/python --test
echo
echo "Locked: $(ls images/*.lock.json | tr '\n' ' ')"
echo "Built and tested: out/python (an OCI image layout; try: build/slate run out/python -- -c 'print(42)')"
