#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: unit, integration
# (fixture archive on 127.0.0.1) and the live suite (the real Debian archive
# through the host's apt sources).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 1500 "$@"
