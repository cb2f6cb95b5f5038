#!/bin/sh
# Measures `slate verify` of a signed image in Debian's docker-registry on
# 127.0.0.1: from the verification cache and without it (--no-cache), for a
# digest reference (no registry request when cached) and a tag (one HEAD).
#
#   bench/verify.sh [BUILD_DIR]       (default: build)
#
# Environment: SLATE_BENCH_ROUNDS (hyperfine runs per command, default 30,
# after 3 warm-up runs), SLATE_BENCH_REGISTRY_TIMEOUT (seconds the registry
# may live, default 600).
#
# The setup (see bench/README.md, "slate verify"):
# - A one-layer image made here (a small tar, gzip; what verification costs
#   does not depend on the layers: it downloads none), pushed with
#   `slate push`, signed with `slate sign` and attested with `slate attest`
#   (a key made by `slate keygen`). distribution 2.8 has no referrers API, so
#   an uncached verification asks for the referrers (404), the referrers tag
#   schema index (HEAD + GET), the referrer manifest and its bundle, and the
#   .sig image and its payload.
# - The cache is slate's own, in a private XDG_CACHE_HOME; the warm-up runs
#   fill it for the cached rows.
# - Targets (issue 7): under 20 ms cached, under 100 ms uncached.
set -eu

build=${1:-build}
slate=$build/slate
rounds=${SLATE_BENCH_ROUNDS:-30}
lifetime=${SLATE_BENCH_REGISTRY_TIMEOUT:-600}

die() { echo "error: $*" >&2; exit 1; }
for tool in hyperfine jq python3 /usr/bin/docker-registry curl ss pgrep timeout; do
    command -v "$tool" >/dev/null ||
        die "$tool is required (apt-get install hyperfine jq python3 docker-registry curl iproute2 procps)"
done
[ -x "$slate" ] || die "$slate not found; build it first (ninja -C $build slate)"
slate=$(cd "$(dirname "$slate")" && pwd)/slate

work=$(mktemp -d "${TMPDIR:-/tmp}/slate-bench-verify.XXXXXX")
reg_pid=""
cleanup() {
    if [ -n "$reg_pid" ]; then
        kill "$reg_pid" 2>/dev/null || true
        wait "$reg_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export XDG_CACHE_HOME="$work/cache" SLATE_PASSWORD=bench HOME="$work"
log=$work/log

echo "== slate verify, docker-registry on 127.0.0.1"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "docker-registry $(/usr/bin/docker-registry --version | awk '{ print $NF }'); $(hyperfine --version)"

# 1. The registry, on a free port.
port=$((20000 + $$ % 20000))
tries=0
while [ -n "$(ss -Htln "sport = :$port")" ]; do
    port=$((port + 1))
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || die "no free port found"
done
addr=127.0.0.1:$port
cat > "$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $addr
EOF
timeout "$lifetime" /usr/bin/docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
waited=0
until curl -sf "http://$addr/v2/" >/dev/null 2>&1; do
    kill -0 "$reg_pid" 2>/dev/null || die "docker-registry exited at start; see $work/registry.log"
    waited=$((waited + 1))
    [ "$waited" -lt 100 ] || die "docker-registry does not answer on $addr after 10 s"
    sleep 0.1
done

# 2. A small image as an OCI layout.
python3 - "$work/layout" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
os.makedirs(root + "/blobs/sha256")
def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{digest}", "wb").write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
    content = b"verify bench\n" * 1000
    info = tarfile.TarInfo("etc/bench.txt"); info.size = len(content); info.mtime = 1700000000
    tar.addfile(info, io.BytesIO(content))
tar_bytes = buffer.getvalue()
layer = blob(gzip.compress(tar_bytes, mtime=0))
config = blob(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]}}).encode())
manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **config),
                            "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **layer)]}).encode())
open(root + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json",
           annotations={"org.opencontainers.image.ref.name": "latest"}, **manifest)]}, open(root + "/index.json", "w"))
EOF

# 3. Push, sign, attest.
repo=$addr/bench/verify
"$slate" keygen --output-prefix "$work/signer" >>"$log" 2>&1 || die "keygen failed; see $log"
digest=$("$slate" push --json "oci:$work/layout:latest" "$repo:1" 2>>"$log" | jq -r .digest)
[ -n "$digest" ] || die "push failed; see $log"
"$slate" sign "$repo@$digest" --key "$work/signer.key" >>"$log" 2>&1 || die "sign failed; see $log"
echo '{"builder":{"id":"bench"}}' > "$work/predicate.json"
"$slate" attest "$repo@$digest" --key "$work/signer.key" --type slsaprovenance1 \
    --predicate "$work/predicate.json" >>"$log" 2>&1 || die "attest failed; see $log"
"$slate" verify "$repo@$digest" --key "$work/signer.pub" --no-cache >>"$log" 2>&1 ||
    die "verify failed; see $log"
echo "image: $repo@$digest (signed once, attested once; $rounds runs each after 3 warm-up runs)"

pub=$work/signer.pub
hyperfine -N --warmup 3 --runs "$rounds" --style none --export-json "$work/verify.json" \
    -n "version (process start)" "$slate --version" \
    -n "cached, digest" "$slate verify $repo@$digest --key $pub" \
    -n "cached, tag" "$slate verify $repo:1 --key $pub" \
    -n "uncached, digest" "$slate verify $repo@$digest --key $pub --no-cache" \
    -n "uncached, tag" "$slate verify $repo:1 --key $pub --no-cache" \
    -n "uncached, attestation" "$slate verify $repo@$digest --key $pub --attestation slsaprovenance1 --no-cache" \
    >/dev/null 2>"$work/hf.log" || { cat "$work/hf.log" >&2; die "hyperfine failed"; }

printf '  %-26s %22s %12s %8s\n' command "wall ms (mean+-sd)" "min..max ms" target
jq -r '.results[] | "\(.command)\t\(.mean * 1000)\t\(.stddev * 1000)\t\(.min * 1000)\t\(.max * 1000)"' \
    "$work/verify.json" |
while IFS="$(printf '\t')" read -r cmd mean sd min max; do
    case $cmd in
        cached*) target=20 ;;
        uncached*) target=100 ;;
        *) target="" ;;
    esac
    verdict=""
    if [ -n "$target" ]; then
        verdict=$(awk -v m="$mean" -v t="$target" 'BEGIN { print (m < t) ? "< " t " ok" : ">= " t " MISSED" }')
    fi
    printf '  %-26s %22s %12s %8s\n' "$cmd" "$(printf '%.1f +- %.1f' "$mean" "$sd")" \
        "$(printf '%.1f..%.1f' "$min" "$max")" "$verdict"
done
