#!/usr/bin/env bash
# Installs everything slate needs on a fresh Debian 12 machine (idempotent),
# then configures and builds slate into build/.
#   scripts/setup.sh            install + build
#   scripts/setup.sh --deps     install only
set -euo pipefail
cd "$(dirname "$0")/.."

# Build toolchain and libraries (Debian -dev packages only; nothing vendored).
BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libcurl4-openssl-dev libssl-dev libarchive-dev liblzma-dev libzstd-dev zlib1g-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libdeflate-dev libsqlite3-dev libsodium-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# What slate runs or reads at run time.
RUNTIME_PACKAGES=(gpgv debian-archive-keyring ca-certificates bubblewrap)
# What the tests and benchmarks use: dpkg-deb/apt-ftparchive/gpg build the
# fixture archive; dpkg, apt, skopeo, umoci, GNU tar and python3-jsonschema are
# independent implementations to check against; busybox-static is a program
# to run in sandboxes; docker-registry (the reference OCI registry), htpasswd
# (apache2-utils) and curl serve and probe the registry tests; hyperfine and
# mmdebstrap are for the benchmarks.
TEST_PACKAGES=(dpkg-dev apt-utils gnupg xz-utils zstd skopeo umoci python3-jsonschema busybox-static
  docker-registry apache2-utils curl hyperfine time mmdebstrap jq)

ALL=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}")

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for pkg in "${ALL[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present"
fi
# The live tests compare against apt's own view of the archive: make sure the
# host's package lists exist.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi

# Node.js runs sigstore-js, an independent Sigstore verifier the tests check
# slate's bundles with. Debian's nodejs is used when the machine has none.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm ci --prefix tests/interop/sigstore-js --no-audit --no-fund --loglevel=error >/dev/null

[ "${1:-}" = "--deps" ] && exit 0

CMAKE_ARGS=(-S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${CI:-}" = "true" ]; then CMAKE_ARGS+=(-DSLATE_WERROR=ON); fi
cmake "${CMAKE_ARGS[@]}" >/dev/null
cmake --build build --parallel "$(nproc)"
