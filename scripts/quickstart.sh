#!/usr/bin/env bash
# slate's main job, end to end, on a fresh Debian 12 machine: install, build,
# resolve and lock every starter image under images/ for all its
# architectures from Debian's signed archive (the mirror comes from the host's
# apt sources unless SLATE_MIRROR is set), then build the python image for
# amd64 and arm64, run its tests on this machine's architecture, publish it to
# a throwaway registry on loopback (Debian's docker-registry) and run its
# tests again on the image pulled back from there; scan it there, then sign
# it and attach its SBOM with the signatures recorded in slate's own
# transparency log, and verify both offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build/slate lock images/*.yaml
build/slate build images/python.yaml --lock images/python.lock.json -o out/python --test

registry_dir=$(mktemp -d)
registry_pid=""
tlog_pid=""
cleanup() {
    if [ -n "$tlog_pid" ]; then kill "$tlog_pid" 2>/dev/null || true; wait "$tlog_pid" 2>/dev/null || true; fi
    if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
    rm -rf "$registry_dir"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$registry_dir/config.yml" <<CONFIG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $registry_dir/storage
http:
  addr: 127.0.0.1:$port
CONFIG
timeout 1800 docker-registry serve "$registry_dir/config.yml" >"$registry_dir/log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
    if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
ref=127.0.0.1:$port/slate/python:latest
build/slate push out/python "$ref"
build/slate inspect "$ref"
build/slate test images/python.yaml "$ref"

# Scan it: advisories mined from the changelogs of the packages it is built
# from (real "fixed in" data from the archive alone), imported into the local
# vulnerability database, then the image scanned straight from the registry.
build/slate advisories mine --suite "$(. /etc/os-release && echo "$VERSION_CODENAME")" --image images/python.yaml -o out/advisories
build/slate db import out/advisories --db out/vuln.db
build/slate scan "$ref" --db out/vuln.db --platform linux/amd64

# Sign it. The keys are throwaway ones for this run (the password is only
# read from the environment so the script needs no terminal). Every signature
# is also recorded in an air-gapped transparency log served on loopback, and
# verified offline against the log's key.
export SLATE_PASSWORD=quickstart
build/slate keygen --output-prefix out/signer --force
build/slate keygen --output-prefix out/tlog --force
build/slate tlog serve --data "$registry_dir/tlog" --key out/tlog.key --port-file "$registry_dir/tlog.port" \
    --idle-exit 600 >"$registry_dir/tlog.log" 2>&1 &
tlog_pid=$!
for _ in $(seq 50); do
    if [ -s "$registry_dir/tlog.port" ]; then break; fi
    sleep 0.2
done
tlog_url=http://127.0.0.1:$(cat "$registry_dir/tlog.port")
build/slate sign "$ref" --key out/signer.key --recursive --tlog "$tlog_url"
build/slate attest "$ref" --key out/signer.key --type spdxjson --predicate out/python.spdx.json --tlog "$tlog_url"
build/slate verify "$ref" --key out/signer.pub --tlog-key out/tlog.pub
build/slate verify "$ref" --key out/signer.pub --tlog-key out/tlog.pub --attestation spdxjson

echo
echo "Locked: $(ls images/*.lock.json | tr '\n' ' ')"
echo "Built and tested: out/python (an OCI image layout; try: build/slate run out/python -- -c 'print(42)')"
echo "Pushed to a local registry, pulled back and tested again (the registry is gone now)."
echo "Scanned against advisories mined from Debian's changelogs (out/advisories, out/vuln.db)."
echo "Signed (cosign v2 and v3 formats), its SBOM attested, both recorded in a transparency log and verified offline."
