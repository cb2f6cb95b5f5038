#!/bin/sh
# Measures `slate sbom` of the python image (an OCI layout) and of a ~1 GB
# root file system (a directory made by mmdebstrap), warm.
#
#   bench/sbom.sh [BUILD_DIR]           (default: build; run as root: mmdebstrap makes the rootfs)
#
# Environment: SLATE_BENCH_ROUNDS (hyperfine runs per command, default 10,
# after 3 warm-up runs), SLATE_BENCH_CACHE (slate's cache for building the
# image, default BUILD_DIR/bench-cache), SLATE_BENCH_REBUILD=1 (make the image
# and the rootfs again even if they exist), SLATE_BENCH_ROOTFS_PACKAGES
# (mmdebstrap's --include list for the rootfs; see below).
# Targets (the SBOM issue): the python image in < 200 ms of process time
# (user+sys); a 1 GB rootfs without file hashes in < 2 s (wall, warm).
# Exit status: 1 on an error or a wrong package count, 3 if a target was missed.
#
# The setup (see bench/README.md, "slate sbom"):
# - The python image: BUILD_DIR/bench-registry/images/python if it exists
#   (bench/registry.sh builds it), else `slate build images/python.yaml` into
#   BUILD_DIR/bench-sbom/python. Both architectures (an image index); the
#   single-platform rows pick linux/amd64.
# - The rootfs: `mmdebstrap --mode=root --variant=minbase` of bookworm (the
#   host's release) plus a large set of real packages (a JDK with Maven's
#   jars, Python with pip and numpy, gcc, Node.js with npm's node-*
#   packages, git, fzf, a Go program): about 1 GB, and every cataloger has
#   work (dpkg, Java archives, Python dist-info, package.json, Go build
#   info). The mirror
#   comes from the host's apt sources (passed as mmdebstrap MIRROR
#   arguments, as bench/build.sh does). It is made once, under
#   BUILD_DIR/bench-sbom/rootfs, and reused.
# - The documents go to stdout, which hyperfine and this script send to
#   /dev/null: the cost of writing them is measured, not that of a disk.
#   (Not `-o /dev/null`: slate writes -o files atomically, by a rename over
#   the target, which as root replaces the device node with a regular file.)
# - Warm: 3 warm-up runs fill the page cache, then hyperfine -N runs each
#   command SLATE_BENCH_ROUNDS times: mean +- sd of wall time and the mean
#   user+sys. One more run under GNU time gives user+sys and the peak RSS.
# - Checks: the number of Debian packages in the rootfs's SBOM (SPDX and
#   CycloneDX) equals dpkg-query's count of installed (ii) packages.
set -eu

build=${1:-build}
slate=$build/slate
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
work=$build/bench-sbom
rounds=${SLATE_BENCH_ROUNDS:-10}
packages=${SLATE_BENCH_ROOTFS_PACKAGES:-default-jdk-headless,maven,python3-pip,python3-numpy,gcc,make,git,curl,nodejs,npm,fzf}
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "error: $*" >&2; exit 1; }
for tool in hyperfine /usr/bin/time jq mmdebstrap dpkg-query du; do
    command -v "$tool" >/dev/null || die "$tool is required (apt-get install hyperfine time jq mmdebstrap)"
done
[ -x "$slate" ] || die "$slate not found; build it first (ninja -C $build slate)"
case $build in *[[:space:]]*) die "BUILD_DIR must not contain spaces (the commands are split on them)" ;; esac
[ -c /dev/null ] || die "/dev/null is not a character device (recreate it: rm /dev/null && mknod -m 666 /dev/null c 1 3)"

mkdir -p "$work/out/multi" "$cache"
work=$(cd "$work" && pwd)    # hyperfine runs elsewhere: absolute paths
slate=$(cd "$(dirname "$slate")" && pwd)/slate
cache=$(cd "$cache" && pwd)
log=$work/log
: > "$log"

echo "== slate sbom: python image and a ~1 GB rootfs"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(hyperfine --version)"

# 1. The python image.
image=$build/bench-registry/images/python
if [ ! -f "$image/index.json" ] || [ "${SLATE_BENCH_REBUILD:-0}" = 1 ]; then
    image=$work/python
    if [ ! -f "$image/index.json" ] || [ "${SLATE_BENCH_REBUILD:-0}" = 1 ]; then
        rm -rf "$image"
        "$slate" --cache-dir "$cache" build "$root/images/python.yaml" -o "$image" >>"$log" 2>&1 ||
            die "slate build images/python.yaml failed; see $log"
    fi
fi
image=$(cd "$image" && pwd)

# 2. The rootfs, made as root by mmdebstrap into rootfs.tmp and renamed when
# complete (a failed attempt is never reused).
rootfs=$work/rootfs
if [ ! -d "$rootfs/var/lib/dpkg" ] || [ "${SLATE_BENCH_REBUILD:-0}" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "making the rootfs needs root (mmdebstrap --mode=root); run as root once"
    # shellcheck source=bench/host_sources.sh
    . "$root/bench/host_sources.sh"
    echo "making the rootfs (mmdebstrap, several minutes): minbase + $packages"
    rm -rf "$rootfs" "$work/rootfs.tmp"
    mkdir -p "$work/tmp"
    # shellcheck disable=SC2086  # $sources: paths without spaces
    TMPDIR=$work/tmp mmdebstrap --mode=root --variant=minbase --architectures=amd64 --include="$packages" \
        "$suite" "$work/rootfs.tmp" $sources >>"$log" 2>&1 || die "mmdebstrap failed; see $log"
    mv "$work/rootfs.tmp" "$rootfs"
fi
fs_bytes=$(du -sb "$rootfs" | cut -f1)
fs_files=$(find "$rootfs" -xdev -type f | wc -l)
dpkg_ii=$(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${db:Status-Abbrev}\n' | grep -c '^ii') ||
    die "dpkg-query found no installed package in $rootfs"

# 3. The commands (one per file; run by hyperfine -N and by GNU time, split
# on spaces, without a shell).
cmd() { name=$1; shift; echo "$*" > "$work/$name.cmd"; }
cmd py-spdx      "$slate" sbom "$image" --platform linux/amd64
cmd py-cdx       "$slate" sbom "$image" --platform linux/amd64 --format cyclonedx-json
cmd py-files     "$slate" sbom "$image" --platform linux/amd64 --files
cmd py-multi     "$slate" sbom "$image" -o "$work/out/multi/python.spdx.json"
cmd fs-spdx      "$slate" sbom "dir:$rootfs"
cmd fs-cdx       "$slate" sbom "dir:$rootfs" --format cyclonedx-json
cmd fs-files     "$slate" sbom "dir:$rootfs" --files

# measure OUT NAME...: hyperfine (-N, 3 warm-up runs, $rounds runs) of the
# commands, JSON in $work/OUT.json; then one GNU time run each, in $work/NAME.time:
# "WALL s USER user SYS sys MAXRSS KB".
measure() {
    out=$1
    shift
    set -- "$@" --
    while [ "$1" != -- ]; do
        set -- "$@" -n "$1" "$(cat "$work/$1.cmd")"
        shift
    done
    shift
    if ! hyperfine -N --warmup 3 --runs "$rounds" --style none --export-json "$work/$out.json" "$@" \
            >/dev/null 2>"$work/$out.hf.log"; then
        cat "$work/$out.hf.log" >&2
        die "hyperfine $out failed (commands in $work/*.cmd)"
    fi
    for name in $(jq -r '.results[].command' "$work/$out.json"); do time_once "$name"; done
}
time_once() {  # time_once NAME: one run under GNU time
    # shellcheck disable=SC2046  # the command is split on spaces on purpose
    /usr/bin/time -f '%e s %U user %S sys %M KB' -o "$work/$1.time" $(cat "$work/$1.cmd") >/dev/null 2>>"$log" ||
        die "$1 failed: $(cat "$work/$1.cmd"); see $log"
}
# table OUT: hyperfine's wall mean +- sd and mean user+sys, GNU time's user+sys and peak RSS.
table() {
    printf '  %-9s %20s %19s %16s %9s\n' command "wall ms (mean+-sd)" "user+sys ms (mean)" "user+sys ms (1)" "peak MiB"
    jq -r '.results[] | "\(.command) \(.mean) \(.stddev) \(.user + .system)"' "$work/$1.json" |
    while read -r name mean sd cpu; do
        awk -v n="$name" -v m="$mean" -v sd="$sd" -v c="$cpu" '
            { printf "  %-9s %20s %19.1f %16.0f %9.1f\n", n, sprintf("%.1f +- %.1f", m * 1000, sd * 1000), c * 1000, ($3 + $5) * 1000, $7 / 1024 }' \
            "$work/$name.time"
    done
}
# counts FILE: packages by purl type, "deb=38 pypi=2 ..." (SPDX: the packages
# that are not SOURCE packages; CycloneDX: the components).
counts() {
    jq -r '[ (if .spdxVersion then
                 [.packages[] | select(.primaryPackagePurpose != "SOURCE") | (.externalRefs // [])[]
                  | select(.referenceType == "purl") | .referenceLocator]
              else [.components[]? | .purl // empty] end)[]
             | capture("^pkg:(?<t>[^/]+)/").t ]
           | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$1"
}
debs() { counts "$1" | tr ' ' '\n' | sed -n 's/^deb=//p'; }
# pass ACTUAL TARGET: PASS if ACTUAL < TARGET (seconds)
pass() { awk -v a="$1" -v t="$2" 'BEGIN { print (a < t) ? "PASS" : "FAIL" }'; }

# 4. The python image.
echo
amd64=$(jq -r '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "amd64")][0].digest // empty' \
    "$image/index.json" | sed 's/^sha256://')
[ -n "$amd64" ] || die "$image/index.json has no \"amd64\" manifest"
layers=$(jq -r '"\(.layers | length) layers, \([.layers[].size] | add / 1048576 * 10 | round / 10) MiB"' "$image/blobs/sha256/$amd64")
echo "== python image ($image): refs $(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(", ")' \
     "$image/index.json"); amd64: $layers compressed; $rounds runs each after 3 warm-up runs"
measure python py-spdx py-cdx py-files py-multi
table python
sh -c "$(cat "$work/py-spdx.cmd")" > "$work/out/python-amd64.spdx.json"
sh -c "$(cat "$work/py-cdx.cmd")" > "$work/out/python-amd64.cdx.json"
echo "  packages (linux/amd64): SPDX $(counts "$work/out/python-amd64.spdx.json"); CycloneDX $(counts "$work/out/python-amd64.cdx.json")"
[ "$(debs "$work/out/python-amd64.spdx.json")" = "$(debs "$work/out/python-amd64.cdx.json")" ] ||
    die "SPDX and CycloneDX disagree on the python image's Debian packages"
echo "  py-multi wrote: $(cd "$work/out/multi" && echo *)"

# 5. The rootfs.
echo
echo "== rootfs ($rootfs): $(awk -v b="$fs_bytes" 'BEGIN { printf "%.2f GB (%.0f MiB)", b / 1e9, b / 1048576 }')," \
     "$fs_files regular files, $dpkg_ii packages installed (dpkg-query ii); $rounds runs each after 3 warm-up runs"
measure rootfs fs-spdx fs-cdx
table rootfs
sh -c "$(cat "$work/fs-spdx.cmd")" > "$work/out/rootfs.spdx.json"
sh -c "$(cat "$work/fs-cdx.cmd")" > "$work/out/rootfs.cdx.json"
echo "  packages: SPDX $(counts "$work/out/rootfs.spdx.json"); CycloneDX $(counts "$work/out/rootfs.cdx.json")"
for f in rootfs.spdx.json rootfs.cdx.json; do
    n=$(debs "$work/out/$f")
    [ "$n" = "$dpkg_ii" ] ||
        die "$f lists ${n:-no} Debian packages, dpkg-query --admindir=$rootfs/var/lib/dpkg lists $dpkg_ii installed (ii)"
done
echo "  check: SPDX and CycloneDX both list the $dpkg_ii packages dpkg-query lists as installed"
# --files hashes every regular file: once, for information (no target).
sh -c "$(cat "$work/fs-files.cmd")" >/dev/null 2>>"$log" || die "fs-files failed; see $log"   # page cache
time_once fs-files
awk '{ printf "  fs-files (--files, once, for information): %.2f s wall, %.2f s user+sys, %.1f MiB peak\n", $1, $3 + $5, $7 / 1024 }' \
    "$work/fs-files.time"
[ -c /dev/null ] || die "/dev/null is no longer a character device"

# 6. The targets.
py_cpu=$(jq -r '.results[] | select(.command == "py-spdx") | .user + .system' "$work/python.json")
py_cdx_cpu=$(jq -r '.results[] | select(.command == "py-cdx") | .user + .system' "$work/python.json")
fs_wall=$(jq -r '.results[] | select(.command == "fs-spdx") | .mean' "$work/rootfs.json")
fs_cdx_wall=$(jq -r '.results[] | select(.command == "fs-cdx") | .mean' "$work/rootfs.json")
echo
echo "== targets (hyperfine means)"
missed=0
line() {  # line LABEL VALUE TARGET UNIT
    verdict=$(pass "$2" "$3")
    [ "$verdict" = PASS ] || missed=1
    awk -v l="$1" -v v="$2" -v t="$3" -v u="$4" -v r="$verdict" \
        'BEGIN { printf "  %-52s %7.0f ms %-8s (target < %4.0f ms)  %s\n", l, v * 1000, u, t * 1000, r }'
}
line "python image, linux/amd64, spdx-json" "$py_cpu" 0.2 user+sys
line "python image, linux/amd64, cyclonedx-json" "$py_cdx_cpu" 0.2 user+sys
line "1 GB rootfs, no --files, spdx-json" "$fs_wall" 2 wall
line "1 GB rootfs, no --files, cyclonedx-json" "$fs_cdx_wall" 2 wall
echo
echo "(hyperfine JSON in $work/{python,rootfs}.json; GNU time of one run each in $work/*.time)"
[ "$missed" = 0 ] || exit 3
