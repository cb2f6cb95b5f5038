#!/bin/sh
# Measures `slate resolve python3` with a warm cache, offline and online.
#
#   bench/resolve.sh [BUILD_DIR]        (default: build)
#
# - Wall time: hyperfine, after warm-up runs (which also fill the cache on a
#   first use), mean ± standard deviation over at least 20 runs.
# - Process time (user+sys) and peak RSS: GNU time (/usr/bin/time -v) of one
#   more run; hyperfine's mean user and system times are shown next to it.
# "online" still asks the mirror whether each suite's InRelease changed (a
# conditional GET per suite), so it includes network round trips; "offline"
# (--offline) touches only the cache.
set -eu

build=${1:-build}
slate=$build/slate
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
runs=${SLATE_BENCH_RUNS:-20}

for tool in hyperfine /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
[ -x "$slate" ] || { echo "error: $slate not found; build it first (ninja -C $build slate)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Fill the cache (and fail early if resolving fails at all).
"$slate" --cache-dir "$cache" resolve python3 >/dev/null

measure() {  # measure NAME COMMAND...
    name=$1
    shift
    # -N: no intermediate shell. Its warnings (outliers on a busy machine) go to
    # $tmp so they do not break the table; they are shown if hyperfine fails.
    if ! hyperfine -N --warmup 3 --min-runs "$runs" --style none --export-csv "$tmp/$name.csv" -- "$*" \
        >/dev/null 2>"$tmp/$name.log"; then
        cat "$tmp/$name.log" >&2
        exit 1
    fi
    /usr/bin/time -v "$@" >/dev/null 2>"$tmp/$name.time"
    # CSV: command,mean,stddev,median,user,system,min,max (seconds)
    wall=$(awk -F, 'NR == 2 { printf "%.1f +- %.1f", $2 * 1000, $3 * 1000 }' "$tmp/$name.csv")
    hf_cpu=$(awk -F, 'NR == 2 { printf "%.1f", ($5 + $6) * 1000 }' "$tmp/$name.csv")
    cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.0f", (u + s) * 1000 }' "$tmp/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$tmp/$name.time")
    printf '%-8s %18s %20s %14s %10s\n' "$name" "$wall" "$hf_cpu" "$cpu" "$rss"
}

echo "slate resolve python3, warm cache ($(nproc) cores)"
printf '%-8s %18s %20s %14s %10s\n' mode "wall ms (mean+-sd)" "user+sys ms (mean)" "user+sys ms" "peak MiB"
printf '%-8s %18s %20s %14s %10s\n' "" "hyperfine" "hyperfine" "time -v" "time -v"
measure offline "$slate" --cache-dir "$cache" --offline resolve python3
measure online "$slate" --cache-dir "$cache" resolve python3
