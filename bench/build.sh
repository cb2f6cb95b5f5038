#!/bin/sh
# Measures `slate build` of the python image against mmdebstrap --variant=extract
# of exactly the same packages, then cold builds, then a CPU profile.
#
#   bench/build.sh [BUILD_DIR]          (default: build; run as root for mmdebstrap)
#
# Environment: SLATE_BENCH_ROUNDS (warm rounds, default 5: each runs slate
# three ways and mmdebstrap once), SLATE_BENCH_COLD_ROUNDS (default 3),
# SLATE_BENCH_ARCH (default amd64), SLATE_BENCH_SPEC (default
# images/python.yaml, or images/python3.yaml in older trees),
# SLATE_BENCH_CACHE (slate's cache, default BUILD_DIR/bench-cache),
# SLATE_BENCH_NICE (e.g. -19: run the timed commands under nice -n N, which
# approximates an idle machine on a shared one; needs root).
#
# The fair setup (see bench/README.md, "slate build"):
# - Both tools start with every .deb and every package index on local disk
#   and touch no network in the timed runs. slate: a warm cache and --offline.
#   mmdebstrap: apt's lists and .debs from one warm-up run are hard-linked
#   into its chroot by a setup hook (the sync-in approach of its manual, made
#   free with cp -al), and --skip=update; apt still parses the lists and
#   resolves, as slate does.
# - The same package set: the names=versions of `slate resolve SPEC --json`.
#   slate leaves some dependencies out on purpose (the spec's exclude: awk,
#   debconf, dpkg, ... are only used by maintainer scripts); apt would pull
#   them in, so they are declared installed in the chroot's dpkg status (a
#   placeholder stanza each) and apt downloads and extracts nothing more. The
#   warm-up run checks that mmdebstrap extracted exactly slate's .debs.
# - Both write gzip level 6 (mmdebstrap pipes its tar through gzip, whose
#   default is 6; slate's layers use libdeflate level 6).
# - The mirror comes from the host's apt sources: the files under
#   /etc/apt/sources.list.d/ (and /etc/apt/sources.list) are handed to
#   mmdebstrap, which pastes them into its chroot; slate reads the same files.
set -eu

build=${1:-build}
slate=$build/slate
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
work=$build/bench-build
rounds=${SLATE_BENCH_ROUNDS:-5}
cold_rounds=${SLATE_BENCH_COLD_ROUNDS:-3}
arch=${SLATE_BENCH_ARCH:-amd64}
prio=${SLATE_BENCH_NICE:+nice -n $SLATE_BENCH_NICE}
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "error: $*" >&2; exit 1; }
for tool in hyperfine /usr/bin/time jq mmdebstrap dpkg-deb; do
    command -v "$tool" >/dev/null || die "$tool is required (apt-get install hyperfine time jq mmdebstrap)"
done
[ -x "$slate" ] || die "$slate not found; build it first (ninja -C $build slate)"
[ "$(id -u)" = 0 ] || echo "note: not root: mmdebstrap picks another mode than root; bench/README.md's figures are --mode=root" >&2

spec=${SLATE_BENCH_SPEC:-}
if [ -z "$spec" ]; then
    for candidate in "$root/images/python.yaml" "$root/images/python3.yaml"; do
        if [ -f "$candidate" ]; then spec=$candidate; break; fi
    done
fi
if [ -z "$spec" ] || [ ! -f "$spec" ]; then die "no python image spec in $root/images (set SLATE_BENCH_SPEC)"; fi
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")

# The host's apt sources as mmdebstrap MIRROR arguments, and its release.
# shellcheck source=bench/host_sources.sh
. "$root/bench/host_sources.sh"

mkdir -p "$work/tmp" "$work/apt/lists" "$work/apt/archives" "$cache"
work=$(cd "$work" && pwd)    # hooks and hyperfine run elsewhere: absolute paths
slate=$(cd "$(dirname "$slate")" && pwd)/slate
cache=$(cd "$cache" && pwd)
rm -rf "$work/tmp"/* "$work/out-slate" "$work/out-mm.tar.gz" "$work/cold"
log=$work/log
: > "$log"

echo "== $(basename "$spec") for $arch; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)${prio:+; timed commands under $prio}"

# 1. The package set, and a lock of it (for the build-from-lock variant). The
# spec is copied so that the lock is written here, not into images/.
"$slate" --cache-dir "$cache" resolve "$spec" --arch "$arch" --json > "$work/resolve.json" 2>>"$log" ||
    die "slate resolve failed; see $log"
mkdir -p "$work/spec"
cp "$spec" "$work/spec/image.yaml"
"$slate" --cache-dir "$cache" lock "$work/spec/image.yaml" >>"$log" 2>&1 || die "slate lock failed; see $log"
lock=$work/spec/image.lock.json
count=$(jq '.packages | length' "$work/resolve.json")
bytes=$(jq '[.packages[].size] | add' "$work/resolve.json")
[ "$(jq -r '.packages[] | "\(.name)=\(.version)"' "$work/resolve.json" | sort)" = \
  "$(jq -r --arg a "$arch" '.archs[$a].packages[] | "\(.name)=\(.version)"' "$lock" | sort)" ] ||
    die "the lock and the resolve disagree (did the archive change in between?); run again"
include=$(jq -r '[.packages[] | "\(.name)=\(.version)"] | join(",")' "$work/resolve.json")
echo "$count packages, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of .debs"

# 2. Warm slate's cache (fetches every .deb once).
"$slate" --cache-dir "$cache" build "$spec" --arch "$arch" -o "$work/out-slate" >>"$log" 2>&1 ||
    die "slate build failed; see $log"

# 3. The placeholder dpkg status: the first alternative of every dependency
# that no package of the set satisfies (by name or Provides).
for sha in $(jq -r '.packages[].sha256' "$work/resolve.json"); do
    dpkg-deb -f "$cache/blobs/sha256/$sha" Package Provides Depends Pre-Depends
    echo
done | awk '
    function bare(s) { sub(/\(.*/, "", s); sub(/:.*/, "", s); gsub(/[ \t]/, "", s); return s }
    /^Package:/  { have[$2] = 1 }
    /^Provides:/ { sub(/^Provides:/, ""); n = split($0, p, ","); for (i = 1; i <= n; i++) have[bare(p[i])] = 1 }
    /^(Pre-)?Depends:/ { sub(/^[^:]*:/, ""); deps[++nd] = $0 }
    END {
        for (d = 1; d <= nd; d++) {
            ng = split(deps[d], groups, ",")
            for (g = 1; g <= ng; g++) {
                na = split(groups[g], alts, "|"); ok = 0; first = ""
                for (a = 1; a <= na; a++) { alt = bare(alts[a]); if (first == "") first = alt; if (alt in have) ok = 1 }
                if (!ok && first != "" && !(first in missing)) { missing[first] = 1; print first }
            }
        }
    }' > "$work/left-out.txt"
while read -r name; do
    printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nSection: misc\n' "$name"
    printf 'Maintainer: slate bench <bench@localhost>\nArchitecture: all\nVersion: 99:0\n'
    printf 'Description: left out of the image on purpose (see bench/build.sh)\n\n'
done < "$work/left-out.txt" > "$work/status"
echo "declared installed for apt (slate leaves them out): $(tr '\n' ' ' < "$work/left-out.txt")"

# 4. Warm mmdebstrap's apt cache: one run that updates the lists from the
# mirror, downloads what is missing, and copies lists and .debs out. Its
# extract hook also records the .debs it extracted, to compare with slate's.
# Hooks are scripts that mmdebstrap runs with the chroot's path as $1.
cat > "$work/hook-setup.sh" <<EOF
#!/bin/sh
set -e
cp "$work/status" "\$1/var/lib/dpkg/status"
cp -al "$work/apt/lists/." "\$1/var/lib/apt/lists/"
cp -al "$work/apt/archives/." "\$1/var/cache/apt/archives/"
EOF
cat > "$work/hook-warm-up.sh" <<EOF
#!/bin/sh
set -e
for deb in \$MMDEBSTRAP_ESSENTIAL; do basename "\$deb"; done | sort > "$work/mm-extracted.txt"
rm -rf "$work/apt/lists.new"
cp -al "\$1/var/lib/apt/lists" "$work/apt/lists.new"
for deb in "\$1"/var/cache/apt/archives/*.deb; do
    [ -e "$work/apt/archives/\${deb##*/}" ] || cp -a "\$deb" "$work/apt/archives/"
done
EOF
chmod +x "$work/hook-setup.sh" "$work/hook-warm-up.sh"
# shellcheck disable=SC2086  # $sources: paths without spaces
TMPDIR=$work/tmp mmdebstrap --variant=extract --architectures="$arch" --include="$include" \
    --setup-hook="$work/hook-setup.sh" --extract-hook="$work/hook-warm-up.sh" \
    "$suite" "$work/out-mm.tar.gz" $sources >>"$log" 2>&1 || die "mmdebstrap warm-up failed; see $log"
rm -rf "$work/apt/lists" && mv "$work/apt/lists.new" "$work/apt/lists"
rm -rf "$work/apt/lists/partial" "$work/apt/lists/lock"
# apt names its files NAME_VERSION_ARCH.deb with an epoch's ':' written %3a;
# slate's list comes from the lock's versions.
jq -r '.packages[] | "\(.name)_\(.version | sub(":"; "%3a"))_\(.arch).deb"' "$work/resolve.json" | sort > "$work/slate-debs.txt"
if ! cmp -s "$work/slate-debs.txt" "$work/mm-extracted.txt"; then
    diff "$work/slate-debs.txt" "$work/mm-extracted.txt" >&2 || true
    die "mmdebstrap did not extract exactly slate's package set (diff above: < slate, > mmdebstrap)"
fi
echo "mmdebstrap extracts the same $count .debs"

# 5. The timed commands, as scripts (hyperfine -N runs them without a shell
# of its own; `exec` keeps the script's shell out of the way).
cat > "$work/slate-offline.sh" <<EOF
exec $prio "$slate" --cache-dir "$cache" --offline build "$spec" --arch $arch -o "$work/out-slate"
EOF
cat > "$work/slate-online.sh" <<EOF
exec $prio "$slate" --cache-dir "$cache" build "$spec" --arch $arch -o "$work/out-slate"
EOF
cat > "$work/slate-lock.sh" <<EOF
exec $prio "$slate" --cache-dir "$cache" --offline build "$work/spec/image.yaml" --lock "$lock" --arch $arch -o "$work/out-slate"
EOF
cat > "$work/mmdebstrap.sh" <<EOF
TMPDIR="$work/tmp" exec $prio mmdebstrap --quiet --variant=extract --architectures=$arch --include="$include" \\
    --skip=update --setup-hook="$work/hook-setup.sh" $suite "$work/out-mm.tar.gz" $sources
EOF
# Cold: a copy of the warm cache without the .debs (indices stay), or no cache at all.
cat > "$work/cold-prepare.sh" <<EOF
rm -rf "$work/cold" && cp -a "$cache" "$work/cold"
cd "$work/cold/blobs/sha256" && rm -f $(jq -r '[.packages[].sha256] | join(" ")' "$work/resolve.json")
EOF
echo "rm -rf \"$work/cold\"" > "$work/empty-prepare.sh"
for jobs in 8 1; do
    cat > "$work/cold-debs-j$jobs.sh" <<EOF
exec $prio "$slate" --cache-dir "$work/cold" build "$work/spec/image.yaml" --lock "$lock" --arch $arch -o "$work/out-slate" --jobs $jobs
EOF
done
cat > "$work/cold-empty.sh" <<EOF
exec $prio "$slate" --cache-dir "$work/cold" build "$spec" --arch $arch -o "$work/out-slate"
EOF

# Measuring. The machine is shared and its load drifts during a run, so the
# commands are interleaved: each round runs every command once (one
# hyperfine run each), and ratios are taken within a round, then the median
# over rounds ("paired"). Peak RSS comes from one more run under GNU time
# (for mmdebstrap: the largest single process of its tree).
samples=$work/samples.txt
: > "$samples"
run_once() {  # run_once ROUND NAME [PREPARE]: one timed run of $work/NAME.sh
    round=$1 name=$2 prepare=${3:-}
    set -- --runs 1
    [ -z "$prepare" ] || set -- "$@" --prepare "sh $work/$prepare.sh"
    if ! hyperfine -N --style none "$@" --export-json "$work/one.json" -- "sh $work/$name.sh" \
        >/dev/null 2>"$work/$name.hf.log"; then
        cat "$work/$name.hf.log" >&2
        die "$name failed"
    fi
    jq -r --arg r "$round" --arg n "$name" '.results[0] | "\($r) \($n) \(.mean) \(.user + .system)"' "$work/one.json" >> "$samples"
}
peak_rss() {  # peak_rss NAME [PREPARE]: writes $work/NAME.rss (MiB)
    [ -z "${2:-}" ] || sh "$work/$2.sh"
    /usr/bin/time -v sh "$work/$1.sh" >/dev/null 2>"$work/$1.time" || die "$1 failed; see $work/$1.time"
    awk -F': ' '/Maximum resident/ { printf "%.1f\n", $2 / 1024 }' "$work/$1.time" > "$work/$1.rss"
}
stats_awk='
    function median(a, k,   i, j, t) {
        for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }'
summarise() {  # summarise NAME...: one table row per command
    printf '%-14s %4s %8s %8s %7s %8s %11s %9s\n' command runs "median s" "mean s" "+-sd" "min s" "user+sys s" "peak MiB"
    for name in "$@"; do
        awk -v n="$name" -v rss="$(cat "$work/$name.rss")" "$stats_awk"'
            $2 == n { k++; w[k] = $3; s += $3; ss += $3 * $3; c += $4; if (k == 1 || $3 < min) min = $3 }
            END {
                mean = s / k; v = k > 1 ? (ss - k * mean * mean) / (k - 1) : 0
                printf "%-14s %4d %8.3f %8.3f %7.3f %8.3f %11.3f %9s\n", n, k, median(w, k), mean, sqrt(v > 0 ? v : 0), min, c / k, rss
            }' "$samples"
    done
}
paired() {  # paired A B: medians over rounds of A/B (wall), A/B (user+sys) and A-B (wall)
    awk -v a="$1" -v b="$2" "$stats_awk"'
        $2 == a { wa[$1] = $3; ca[$1] = $4 }
        $2 == b { wb[$1] = $3; cb[$1] = $4 }
        END {
            for (r in wa) if (r in wb) { k++; rw[k] = wa[r] / wb[r]; rc[k] = ca[r] / cb[r]; d[k] = wa[r] - wb[r] }
            printf "%.2f %.2f %.3f\n", median(rw, k), median(rc, k), median(d, k)
        }' "$samples"
}

echo
echo "== warm: every .deb and index on local disk, no layer cache ($rounds rounds, interleaved)"
warm="slate-offline slate-lock slate-online mmdebstrap"
for name in $warm; do sh "$work/$name.sh" >/dev/null 2>&1 || die "$name failed; run $work/$name.sh"; done  # page cache
r=1
while [ "$r" -le "$rounds" ]; do
    for name in $warm; do run_once "$r" "$name"; done
    r=$((r + 1))
done
for name in $warm; do peak_rss "$name"; done
# shellcheck disable=SC2086  # word lists of command names
summarise $warm
paired mmdebstrap slate-offline | awk '{ printf "mmdebstrap / slate --offline build SPEC: %.1fx wall, %.1fx user+sys (paired medians)\n", $1, $2 }'
paired mmdebstrap slate-lock | awk '{ printf "mmdebstrap / slate --offline build --lock: %.1fx wall, %.1fx user+sys\n", $1, $2 }'
echo "outputs: slate $(du -sk "$work/out-slate/blobs" | cut -f1) KiB of blobs;" \
     "mmdebstrap $(du -k "$work/out-mm.tar.gz" | cut -f1) KiB, $(tar tzf "$work/out-mm.tar.gz" | wc -l) entries" \
     "(slate drops docs, man pages and locales; mmdebstrap --variant=extract keeps them)"

echo
echo "== cold: the .debs (or the whole cache) missing, fetched from the mirror ($cold_rounds rounds)"
cold="slate-lock cold-debs-j8 cold-debs-j1 cold-empty"
: > "$samples"
r=1
while [ "$r" -le "$cold_rounds" ]; do
    run_once "$r" slate-lock
    run_once "$r" cold-debs-j8 cold-prepare
    run_once "$r" cold-debs-j1 cold-prepare
    run_once "$r" cold-empty empty-prepare
    r=$((r + 1))
done
peak_rss cold-debs-j8 cold-prepare
peak_rss cold-debs-j1 cold-prepare
peak_rss cold-empty empty-prepare
# shellcheck disable=SC2086
summarise $cold
f8=$(paired cold-debs-j8 slate-lock | cut -d' ' -f3)
f1=$(paired cold-debs-j1 slate-lock | cut -d' ' -f3)
awk -v b="$bytes" -v f8="$f8" -v f1="$f1" 'BEGIN {
    mib = b / 1048576
    printf "fetching %.1f MiB of .debs adds %.2f s with --jobs 8 (the default), %.2f s with --jobs 1 (paired medians)\n", mib, f8, f1 }'

echo
echo "== profile of the warm build from the lock (where the CPU time goes)"
# cpu-clock: the software event works in VMs without hardware counters;
# DWARF call graphs because neither slate (-O2) nor Debian's libraries keep
# frame pointers.
freq=499
if command -v perf >/dev/null && perf record -q -e cpu-clock -F "$freq" --call-graph dwarf,16384 -o "$work/perf.data" \
        sh "$work/slate-lock.sh" >/dev/null 2>"$work/perf.log"; then
    echo "-- self time by library (Debian's libraries have no symbols without their -dbgsym packages)"
    perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep '%' | head -n 8
    # Each sample is put in the first phase (below) whose function is on its
    # call stack; CPU is samples / frequency, the span is the first and last
    # sample's time after the process started.
    echo "-- phases: CPU time and when they ran (wall clock from the start)"
    perf script -i "$work/perf.data" -F tid,time,ip,sym 2>/dev/null | awk -v freq="$freq" '
        function phase(st) {
            if (st ~ /slate::deb::read_deb/) return "unpack .debs (xz, one thread per core)"
            if (st ~ /LayerCompressor::finish|deflate_whole/) return "compress layers (gzip)"
            if (st ~ /TarWriter|tar_entries/) return "write layer tars (+ SHA-256)"
            if (st ~ /write_system_files|write_ca_certificates/) return "system files (accounts, CA bundle, dpkg db)"
            if (st ~ /RootFs::|plan_layers|apply_paths_exclude/) return "assemble the root fs, plan layers"
            if (st ~ /fetch_all/) return "check the cached .debs"
            if (st ~ /PackageIndex|load_packages|LoadedIndex/) return "load package indices"
            if (st ~ /resolve_lock|resolve_arch|Resolver/) return "resolve"
            if (st ~ /write_image|write_index|LayoutWriter|BlobWriter|move_into_place/) return "OCI layout (config, manifest, index)"
            if (st ~ /image_spec|lock_from_json/) return "read spec and lock"
            if (st ~ /_dl_start|dl_main|_dl_relocate|_dl_map/) return "process start (dynamic loading)"
            return "other (exit, kernel, unattributed)"
        }
        function flush() {
            if (stack == "") return
            p = phase(stack); n[p]++; total++
            if (!(p in first)) { first[p] = t; order[++np] = p }
            last[p] = t; stack = ""
        }
        /^ *[0-9]+ +[0-9.]+: *$/ { flush(); t = $2; sub(/:/, "", t); t += 0; if (t0 == "" || t < t0) t0 = t; stack = " "; next }
        /^$/ { flush(); next }
        { stack = stack $0 }
        END {
            flush()
            for (i = 1; i <= np; i++) {
                p = order[i]
                printf "%-46s %6.0f ms CPU %5.1f%%   %6.3f .. %6.3f s\n", p, n[p] * 1000 / freq, 100 * n[p] / total, first[p] - t0, last[p] - t0
            }
        }'
    echo "-- for comparison, mmdebstrap's CPU time by program"
    perf record -q -e cpu-clock -F "$freq" -o "$work/perf-mm.data" sh "$work/mmdebstrap.sh" >/dev/null 2>>"$work/perf.log" &&
        perf report -i "$work/perf-mm.data" --sort comm --stdio 2>/dev/null | grep '%' | head -n 6
else
    echo "perf is not usable here (apt-get install linux-perf; it needs perf_event_paranoid <= 2); skipped"
fi
echo
echo "details: $work (hyperfine JSON, GNU time output, log)"
