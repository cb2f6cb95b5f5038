#!/bin/sh
# Measures the vulnerability database and scanner against a generated feed of
# the real Debian Security Tracker's size and shape (bench/gen_tracker.py).
#
#   bench/scan.sh [BUILD_DIR]           (default: build; needs slate and bench_scan built)
#
# Environment: SLATE_BENCH_ROUNDS (hyperfine runs per command, default 10,
# after 3 warm-up runs), SLATE_BENCH_CACHE (slate's cache for building the
# python image, default BUILD_DIR/bench-cache).
# Targets (the scanner issue): import under 10 s; `slate scan` of the python
# image under 50 ms of process time (user+sys) including opening the
# database; peak memory under 100 MB; 1,000 SBOMs scanned in one process in
# under 5 s. Exit status: 1 on an error, 3 if a target was missed.
#
# - The python image: BUILD_DIR/bench-registry/images/python (bench/registry.sh
#   builds it) or `slate build images/python.yaml`; its linux/amd64 image.
# - The feed: 36,000 CVEs in 115,000 (package, CVE) pairs, about 365,000
#   release entries (~75 MB); the python image's source packages get a share
#   of them at their installed versions (see gen_tracker.py). Made once.
# - Import: `slate db import` into a new database, timed once per round by
#   GNU time (wall, user+sys, peak RSS).
# - Scan: cold is `--no-cache` (the layers are read and cataloged); warm uses
#   the catalog slate cached under the image's manifest digest, as every scan
#   after the first does. Output goes to /dev/null.
# - 1,000 SBOMs: 500 copies of the image's SPDX (amd64) and 500 of its
#   CycloneDX (arm64), scanned by bench_scan in one process: the database is
#   opened once, each SBOM read and matched; a second run also renders each
#   report as JSON.
set -eu

build=${1:-build}
slate=$build/slate
bench_scan=$build/bench/bench_scan
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
work=$build/bench-scan
rounds=${SLATE_BENCH_ROUNDS:-10}
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "error: $*" >&2; exit 1; }
for tool in hyperfine /usr/bin/time jq python3; do
    command -v "$tool" >/dev/null || die "$tool is required (apt-get install hyperfine time jq python3)"
done
[ -x "$slate" ] || die "$slate not found; build it first (ninja -C $build slate bench_scan)"
[ -x "$bench_scan" ] || die "$bench_scan not found; build it first (ninja -C $build bench_scan)"
mkdir -p "$work/sboms" "$cache"
work=$(cd "$work" && pwd)
slate=$(cd "$(dirname "$slate")" && pwd)/slate
bench_scan=$(cd "$(dirname "$bench_scan")" && pwd)/bench_scan
cache=$(cd "$cache" && pwd)
log=$work/log
: > "$log"

echo "== slate db import / slate scan against a generated tracker-sized feed"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(hyperfine --version)"

# 1. The python image and its SBOMs.
image=$build/bench-registry/images/python
if [ ! -f "$image/index.json" ]; then
    image=$work/python
    if [ ! -f "$image/index.json" ]; then
        "$slate" --cache-dir "$cache" build "$root/images/python.yaml" -o "$image" >>"$log" 2>&1 ||
            die "slate build images/python.yaml failed; see $log"
    fi
fi
image=$(cd "$image" && pwd)
"$slate" sbom "$image" --platform linux/amd64 > "$work/python-amd64.spdx.json" 2>>"$log"
"$slate" sbom "$image" --platform linux/arm64 --format cyclonedx-json > "$work/python-arm64.cdx.json" 2>>"$log"

# 2. The feed, seeded with the image's source packages at their versions.
python3 - "$work/python-amd64.spdx.json" > "$work/sources.txt" <<'PY'
import json, sys, urllib.parse
seen = {}
for p in json.load(open(sys.argv[1]))["packages"]:
    for ref in p.get("externalRefs", []):
        purl = ref.get("referenceLocator", "")
        if ref.get("referenceType") != "purl" or not purl.startswith("pkg:deb/"):
            continue
        path, _, query = purl.partition("?")
        name, _, version = path.rsplit("/", 1)[1].partition("@")
        qualifiers = dict(q.split("=", 1) for q in query.split("&") if "=" in q)
        source, _, source_version = urllib.parse.unquote(qualifiers.get("upstream", name)).partition("@")
        seen[source] = source_version or urllib.parse.unquote(version)
print("\n".join(f"{k} {v}" for k, v in sorted(seen.items())))
PY
feed=$work/tracker.json
if [ ! -s "$feed" ] || [ "$work/sources.txt" -nt "$feed" ]; then
    python3 "$root/bench/gen_tracker.py" --sources "$work/sources.txt" > "$feed.tmp" && mv "$feed.tmp" "$feed"
fi
echo "feed: $(wc -c < "$feed" | awk '{ printf "%.1f MB", $1 / 1e6 }'), $(wc -l < "$work/sources.txt") source packages of the image seeded"

# 3. Import (a new database each time).
echo
echo "== import ($rounds runs, GNU time)"
: > "$work/import.times"
i=0
while [ "$i" -lt "$rounds" ]; do
    rm -f "$work/vuln.db"
    /usr/bin/time -f '%e %U %S %M' -a -o "$work/import.times" "$slate" db import "$feed" --db "$work/vuln.db" >>"$log" 2>&1 ||
        die "slate db import failed; see $log"
    i=$((i + 1))
done
awk '{ w += $1; c += $2 + $3; if ($1 > wmax) wmax = $1; if ($4 > m) m = $4 }
     END { printf "  wall mean %.2f s (max %.2f s), user+sys mean %.2f s, peak RSS %.1f MiB\n", w / NR, wmax, c / NR, m / 1024 }' \
    "$work/import.times"
"$slate" db status --db "$work/vuln.db" | sed 's/^/  /'

# 4. Scans of the python image.
echo
echo "== slate scan of the python image (linux/amd64), $rounds runs each after 3 warm-up runs"
cold="$slate --cache-dir $work/cache scan $image --platform linux/amd64 --db $work/vuln.db --no-cache"
warm="$slate --cache-dir $work/cache scan $image --platform linux/amd64 --db $work/vuln.db"
$warm > /dev/null 2>>"$log" || die "slate scan failed; see $log"   # fills the catalog cache
hyperfine -N --warmup 3 --runs "$rounds" --style none --export-json "$work/scan.json" \
    -n cold "$cold" -n warm "$warm" >/dev/null 2>"$work/scan.hf.log" || { cat "$work/scan.hf.log" >&2; die "hyperfine failed"; }
for name in cold warm; do
    cmd=$cold; [ "$name" = warm ] && cmd=$warm
    # shellcheck disable=SC2086  # split on spaces on purpose
    /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" $cmd >/dev/null 2>>"$log"
    jq -r --arg n "$name" '.results[] | select(.command == $n) | "\(.mean) \(.stddev) \(.user + .system)"' "$work/scan.json" |
        { read -r mean sd cpu
          awk -v n="$name" -v m="$mean" -v sd="$sd" -v c="$cpu" \
              '{ printf "  %-5s wall %.1f +- %.1f ms, user+sys %.1f ms (mean), peak RSS %.1f MiB\n", n, m * 1000, sd * 1000, c * 1000, $4 / 1024 }' \
              "$work/$name.time"; }
done
$warm --format json 2>/dev/null | jq -r '"  findings: \(.summary.matches) shown, \(.summary.hidden) hidden, in \(.summary.packages) packages"'

# 5. 1,000 SBOMs in one process.
echo
echo "== 1,000 SBOMs in one process (bench_scan)"
i=1
while [ "$i" -le 500 ]; do
    cp "$work/python-amd64.spdx.json" "$work/sboms/a$i.spdx.json"
    cp "$work/python-arm64.cdx.json" "$work/sboms/b$i.cdx.json"
    i=$((i + 1))
done
/usr/bin/time -f '%M' -o "$work/fleet.time" "$bench_scan" "$work/vuln.db" "$work"/sboms/* > "$work/fleet.out"
echo "  match only:       $(cat "$work/fleet.out"), peak RSS $(awk '{ printf "%.1f MiB", $1 / 1024 }' "$work/fleet.time")"
/usr/bin/time -f '%M' -o "$work/fleet-json.time" "$bench_scan" --json "$work/vuln.db" "$work"/sboms/* > "$work/fleet-json.out"
echo "  with JSON output: $(cat "$work/fleet-json.out"), peak RSS $(awk '{ printf "%.1f MiB", $1 / 1024 }' "$work/fleet-json.time")"

# 6. The targets.
echo
status=0
check() {  # check LABEL ACTUAL TARGET UNIT
    verdict=$(awk -v a="$2" -v t="$3" 'BEGIN { print (a < t) ? "PASS" : "FAIL" }')
    [ "$verdict" = PASS ] || status=3
    printf '  %-44s %10s %-3s (target < %s %s)  %s\n' "$1" "$2" "$4" "$3" "$4" "$verdict"
}
echo "== targets"
check "import, wall (max of $rounds)" "$(awk '$1 > m { m = $1 } END { print m }' "$work/import.times")" 10 s
check "scan python (warm), user+sys mean" "$(jq -r '.results[] | select(.command == "warm") | (.user + .system) * 1000 | floor' "$work/scan.json")" 50 ms
check "peak RSS, import" "$(awk '$4 > m { m = $4 } END { printf "%.0f", m / 1024 }' "$work/import.times")" 100 MiB
check "peak RSS, scan (cold)" "$(awk '{ printf "%.0f", $4 / 1024 }' "$work/cold.time")" 100 MiB
check "1,000 SBOMs, match only" "$(sed -n 's/.* in \([0-9.]*\) s .*/\1/p' "$work/fleet.out")" 5 s
exit $status
