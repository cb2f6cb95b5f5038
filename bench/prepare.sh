#!/bin/sh
# Makes the inputs of bench_packages: the real bookworm main amd64 Packages
# index, as served (Packages.xz) and decompressed (Packages).
#
#   bench/prepare.sh [BUILD_DIR]        (default: build)
#
# It lets slate itself fetch and verify the index: `slate resolve bash` fills a
# cache (BUILD_DIR/bench-cache, or $SLATE_BENCH_CACHE) through the host's apt
# sources. The cache stores downloads by SHA-256 under blobs/sha256/, and the
# largest blob there is then the main Packages.xz (~9 MB; the other suites'
# indices and the InRelease files are far smaller). It is copied and
# decompressed with xz into BUILD_DIR/bench-data/, where bench_packages looks
# by default.
set -eu

build=${1:-build}
slate=$build/slate
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
out=$build/bench-data

if [ ! -x "$slate" ]; then
    echo "error: $slate not found; build it first (ninja -C $build slate)" >&2
    exit 1
fi
mkdir -p "$out"
"$slate" --cache-dir "$cache" resolve --arch amd64 --json bash >/dev/null

largest=$(ls -S "$cache/blobs/sha256" | head -n 1)
blob=$cache/blobs/sha256/$largest
# xz streams start with FD 37 7A 58 5A 00.
if [ "$(head -c 6 "$blob" | od -An -tx1 | tr -d ' \n')" != "fd377a585a00" ]; then
    echo "error: the largest cached blob ($blob) is not xz data; is the cache shared with other suites?" >&2
    exit 1
fi
cp "$blob" "$out/Packages.xz"
xz -dc "$out/Packages.xz" > "$out/Packages.tmp"
mv "$out/Packages.tmp" "$out/Packages"

stanzas=$(grep -c '^Package:' "$out/Packages")
echo "$out/Packages: $(du -m "$out/Packages" | cut -f1) MB, $stanzas stanzas (from $out/Packages.xz)"
echo "run: $build/bench/bench_packages"
