#!/bin/sh
# Builds every image of the catalog (images/*.yaml) for amd64 and arm64 and
# prints its compressed and uncompressed size, as `slate build --json`
# reports them (the sums of the layers' blobs and of their tars).
#
#   bench/sizes.sh [BUILD_DIR]          (default: build)
#
# Environment: SLATE_BENCH_ARCHS (default amd64,arm64), SLATE_BENCH_COMPRESSION
# (gzip, the default, or zstd), SLATE_BENCH_CACHE (slate's cache, default
# BUILD_DIR/bench-cache; the first run downloads every package).
# Targets (issue 3): static < 2 MiB compressed, python < 20 MB compressed.
# Exit status: 1 if a build failed, 3 if a target was missed.
set -eu

build=${1:-build}
slate=$build/slate
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
work=$build/bench-sizes
archs=${SLATE_BENCH_ARCHS:-amd64,arm64}
compression=${SLATE_BENCH_COMPRESSION:-gzip}
root=$(cd "$(dirname "$0")/.." && pwd)

command -v jq >/dev/null || { echo "error: jq is required (apt-get install jq)" >&2; exit 1; }
[ -x "$slate" ] || { echo "error: $slate not found; build it first (ninja -C $build slate)" >&2; exit 1; }
mkdir -p "$work"

failed=0
missed=0
printf '%-10s %-6s %5s %7s %12s %9s %8s %12s %9s  %s\n' \
    image arch pkgs layers compressed MiB MB uncompressed MiB target
for spec in "$root"/images/*.yaml; do
    name=$(basename "$spec" .yaml)
    if ! "$slate" --cache-dir "$cache" build "$spec" --arch "$archs" --compression "$compression" \
            -o "$work/$name" --json > "$work/$name.json" 2>"$work/$name.log"; then
        printf '%-10s build failed: %s\n' "$name" "$(grep -m1 '^error' "$work/$name.log" || tail -n 1 "$work/$name.log")"
        failed=1
        continue
    fi
    # Targets in bytes: 2 MiB for static, 20 MB for python (python3 in older trees).
    case $name in
        static) limit=2097152 label="< 2 MiB" ;;
        python | python3) limit=20000000 label="< 20 MB" ;;
        *) limit=0 label="" ;;
    esac
    rows=$(jq -r '.images[] | "\(.arch) \(.packages) \(.layers | length) \(.compressed_size) \(.uncompressed_size)"' "$work/$name.json")
    echo "$rows" | while read -r arch pkgs layers csize usize; do
        verdict=""
        if [ "$limit" -gt 0 ]; then
            if [ "$csize" -lt "$limit" ]; then verdict="$label: met"; else verdict="$label: MISSED"; fi
        fi
        printf '%-10s %-6s %5s %7s %12s %9.2f %8.2f %12s %9.2f  %s\n' "$name" "$arch" "$pkgs" "$layers" \
            "$csize" "$(echo "$csize" | awk '{ print $1 / 1048576 }')" "$(echo "$csize" | awk '{ print $1 / 1e6 }')" \
            "$usize" "$(echo "$usize" | awk '{ print $1 / 1048576 }')" "$verdict"
    done
    # The pipe above runs in a subshell: check the targets again here.
    if [ "$limit" -gt 0 ] && echo "$rows" | awk -v l="$limit" '$4 >= l { bad = 1 } END { exit !bad }'; then
        missed=1
    fi
done
echo "($compression layers; sizes in bytes, MiB = 2^20 bytes, MB = 10^6 bytes; outputs in $work)"
[ "$failed" = 0 ] || exit 1
[ "$missed" = 0 ] || exit 3
