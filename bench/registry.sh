#!/bin/sh
# Measures `slate push` and `slate pull` of the python and jre images against
# `skopeo copy` of the same layouts, to and from Debian's docker-registry on
# 127.0.0.1, in the same run.
#
#   bench/registry.sh [BUILD_DIR]       (default: build)
#
# Environment: SLATE_BENCH_ROUNDS (hyperfine runs per command, default 5,
# after one warm-up run), SLATE_BENCH_IMAGES (default "python jre"),
# SLATE_BENCH_CACHE (slate's cache for building the images, default
# BUILD_DIR/bench-cache), SLATE_BENCH_REBUILD=1 (build the images again even
# if BUILD_DIR/bench-registry/images/NAME exists), SLATE_BENCH_REGISTRY_TIMEOUT
# (seconds the registry may live, default 3600).
#
# The setup (see bench/README.md, "Registry push and pull"):
# - The images are OCI layouts made by `slate build images/NAME.yaml`, with
#   both architectures of the spec (amd64 and arm64): a multi-arch index. The
#   mirror comes from the host's apt sources, as for every slate command.
# - One docker-registry (distribution 2.x) on 127.0.0.1 serves both tools,
#   with filesystem storage in a temporary directory. It runs under `timeout`,
#   and the EXIT trap stops it.
# - Every timed push starts from an empty repository: hyperfine's --prepare
#   deletes the repository (repositories/bench/NAME) and the whole blobs
#   directory from the registry's storage. The registry keeps no blob cache
#   of its own in this configuration (no storage.cache section), so a HEAD
#   for a deleted blob answers 404 and both tools upload every blob. Deleting
#   files is much cheaper than starting a fresh registry for each run, and
#   it is not timed.
# - Every timed pull starts from an empty directory (--prepare removes it).
#   Both tools pull the same tag (the one slate pushed).
# - Both tools copy every platform: slate push/pull do by default, skopeo
#   needs --all. slate transfers 4 blobs at a time (--jobs, default 4; the
#   --jobs 1 row shows what that buys). skopeo pulls several layers at a
#   time, but pushes from an oci: layout one blob at a time: containers/image
#   copies in parallel only if the source can serve concurrent reads, and its
#   OCI layout source says it cannot (HasThreadSafeGetBlob is false).
set -eu

build=${1:-build}
slate=$build/slate
cache=${SLATE_BENCH_CACHE:-$build/bench-cache}
work=$build/bench-registry
rounds=${SLATE_BENCH_ROUNDS:-5}
images=${SLATE_BENCH_IMAGES:-python jre}
lifetime=${SLATE_BENCH_REGISTRY_TIMEOUT:-3600}
root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "error: $*" >&2; exit 1; }
for tool in hyperfine /usr/bin/time jq skopeo /usr/bin/docker-registry curl ss pgrep timeout sha256sum; do
    command -v "$tool" >/dev/null ||
        die "$tool is required (apt-get install hyperfine time jq skopeo docker-registry curl iproute2 procps)"
done
[ -x "$slate" ] || die "$slate not found; build it first (ninja -C $build slate)"

mkdir -p "$work/images" "$work/cmd" "$work/pull" "$cache"
work=$(cd "$work" && pwd)    # hyperfine and the scripts run elsewhere: absolute paths
slate=$(cd "$(dirname "$slate")" && pwd)/slate
cache=$(cd "$cache" && pwd)
log=$work/log
: > "$log"

echo "== slate push/pull against skopeo copy, docker-registry on 127.0.0.1"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
     "$(skopeo --version); docker-registry $(/usr/bin/docker-registry --version | awk '{ print $NF }'); $(hyperfine --version)"

# 1. The images, as OCI layouts (reused if present).
for name in $images; do
    layout=$work/images/$name
    if [ -f "$layout/index.json" ] && [ "${SLATE_BENCH_REBUILD:-0}" != 1 ]; then continue; fi
    spec=$root/images/$name.yaml
    [ -f "$spec" ] || die "no image spec $spec"
    rm -rf "$layout"
    "$slate" --cache-dir "$cache" build "$spec" -o "$layout" >>"$log" 2>&1 ||
        die "slate build $spec failed; see $log"
done

# The digest the layout's "latest" names: slate build writes the multi-arch
# index there (plus one entry per architecture), and that is what both tools push.
layout_digest() {
    jq -r '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest")][0].digest // empty' \
        "$1/index.json"
}
blob_list() { find "$1/blobs/sha256" -type f -printf '%f\n' | sort; }

# 2. The registry. A free port: the first one ss does not list as listening,
# starting at a port derived from our pid (two runs at once get different ones).
regdir=$(mktemp -d "${TMPDIR:-/tmp}/slate-bench-registry.XXXXXX")
storage=$regdir/storage
reg_pid=""
cleanup() {
    if [ -n "$reg_pid" ]; then
        kill "$reg_pid" 2>/dev/null || true
        wait "$reg_pid" 2>/dev/null || true
    fi
    rm -rf "$regdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
port=$((20000 + $$ % 20000))
tries=0
while [ -n "$(ss -Htln "sport = :$port")" ]; do
    port=$((port + 1))
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || die "no free port found between $((port - 100)) and $port"
done
addr=127.0.0.1:$port
# log.level error silences the application log; the access log (one line per
# request) is separate and switched off too.
cat > "$regdir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: $addr
EOF
timeout "$lifetime" /usr/bin/docker-registry serve "$regdir/config.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
waited=0
until curl -sf "http://$addr/v2/" >/dev/null 2>&1; do
    kill -0 "$reg_pid" 2>/dev/null || die "docker-registry exited at start; see $work/registry.log"
    waited=$((waited + 1))
    [ "$waited" -lt 100 ] || die "docker-registry does not answer on $addr after 10 s; see $work/registry.log"
    sleep 0.1
done
# The registry's own process (timeout's child): its CPU time is read around
# the GNU time runs, since on a small machine the registry's work (finishing
# every uploaded blob) competes with the client's for the same cores.
registry=$(pgrep -P "$reg_pid" docker-registry) || die "cannot find docker-registry's process"
ticks=$(getconf CLK_TCK)
registry_cpu() { awk -v t="$ticks" '{ printf "%.3f\n", ($14 + $15) / t }' "/proc/$registry/stat"; }
echo "registry: $addr, storage $storage"

# 3. The timed commands, as scripts (hyperfine -N runs them without a shell
# of its own; `exec` keeps the script's shell out of the way, and makes GNU
# time measure the tool itself).
v2=$storage/docker/registry/v2
for name in $images; do
    layout=$work/images/$name
    repo=$addr/bench/$name
    cat > "$work/cmd/wipe-$name.sh" <<EOF
rm -rf "$v2/repositories/bench/$name" "$v2/blobs"
EOF
    cat > "$work/cmd/push-slate-$name.sh" <<EOF
exec "$slate" push "oci:$layout" "$repo:slate"
EOF
    cat > "$work/cmd/push-slate-j1-$name.sh" <<EOF
exec "$slate" push --jobs 1 "oci:$layout" "$repo:slate"
EOF
    cat > "$work/cmd/push-skopeo-$name.sh" <<EOF
exec skopeo copy --all --dest-tls-verify=false "oci:$layout:latest" "docker://$repo:skopeo"
EOF
    cat > "$work/cmd/clean-pull-$name.sh" <<EOF
rm -rf "$work/pull/slate-$name" "$work/pull/skopeo-$name"
EOF
    for tool in slate skopeo; do
        echo "rm -rf \"$work/pull/$tool-$name\"" > "$work/cmd/clean-pull-$tool-$name.sh"
    done
    cat > "$work/cmd/pull-slate-$name.sh" <<EOF
exec "$slate" pull "$repo:slate" "$work/pull/slate-$name"
EOF
    cat > "$work/cmd/pull-skopeo-$name.sh" <<EOF
exec skopeo copy --all --src-tls-verify=false "docker://$repo:slate" "oci:$work/pull/skopeo-$name:latest"
EOF
done

# compare OUT PREPARE NAME...: one hyperfine run of the given commands
# ($work/cmd/NAME.sh), JSON in $work/OUT.json.
compare() {
    out=$1 prepare=$2
    shift 2
    set -- "$@" --
    while [ "$1" != -- ]; do
        set -- "$@" -n "$1" "sh $work/cmd/$1.sh"
        shift
    done
    shift
    if ! hyperfine -N --warmup 1 --runs "$rounds" --style none --prepare "sh $work/cmd/$prepare.sh" \
            --export-json "$work/$out.json" "$@" >/dev/null 2>"$work/$out.hf.log"; then
        cat "$work/$out.hf.log" >&2
        die "hyperfine $out failed (commands in $work/cmd)"
    fi
}
# peak NAME PREPARE: one more run under GNU time, after PREPARE; writes
# "MAXRSS KB WALL s USER user SYS sys" to $work/NAME.time and the registry's
# CPU seconds during that run to $work/NAME.registry.
peak() {
    sh "$work/cmd/$2.sh"
    before=$(registry_cpu)
    /usr/bin/time -f '%M KB %e s %U user %S sys' -o "$work/$1.time" sh "$work/cmd/$1.sh" >/dev/null 2>>"$log" ||
        die "$1 failed; see $log"
    echo "$before $(registry_cpu)" | awk '{ printf "%.2f\n", $2 - $1 }' > "$work/$1.registry"
}
# table OUT: per command, hyperfine's mean +- sd wall and mean user+sys, then
# from the GNU time run: peak RSS and the registry's CPU time.
table() {
    printf '  %-22s %18s %11s %9s %13s\n' command "wall s (mean+-sd)" "user+sys s" "peak MiB" "registry cpu"
    jq -r '.results[] | "\(.command) \(.mean) \(.stddev) \(.user + .system)"' "$work/$1.json" |
    while read -r cmd mean sd cpu; do
        rss=$(awk '{ printf "%.1f", $1 / 1024 }' "$work/$cmd.time")
        printf '  %-22s %18s %11.3f %9s %11s s\n' "$cmd" "$(printf '%.3f +- %.3f' "$mean" "$sd")" "$cpu" "$rss" \
            "$(cat "$work/$cmd.registry")"
    done
}
# ratio OUT A B: mean(A) / mean(B), wall (with the standard deviation
# propagated from both) and user+sys.
ratio() {
    jq -r --arg a "$2" --arg b "$3" '
        (.results[] | select(.command == $a)) as $x | (.results[] | select(.command == $b)) as $y
        | ($x.mean / $y.mean) as $r
        | ($r * ((($x.stddev / $x.mean) | . * .) + (($y.stddev / $y.mean) | . * .) | sqrt)) as $e
        | "\($r) \($e) \(($x.user + $x.system) / ($y.user + $y.system))"' "$work/$1.json" |
    awk -v a="$2" -v b="$3" '{ printf "  %s / %s: %.2fx +- %.2f wall, %.2fx user+sys\n", a, b, $1, $2, $3 }'
}

# 4. Measure, image by image.
for name in $images; do
    layout=$work/images/$name
    expected=$(layout_digest "$layout")
    [ -n "$expected" ] || die "$layout/index.json names no \"latest\" image"
    nblobs=$(blob_list "$layout" | wc -l)
    bytes=$(du -sb "$layout/blobs" | cut -f1)
    echo
    echo "== $name: $(jq -r '[.manifests[] | .annotations["org.opencontainers.image.ref.name"]] | join(", ")' "$layout/index.json");" \
         "$nblobs blobs, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB ($rounds runs each after 1 warm-up)"

    echo "-- push (each run into an empty registry)"
    compare "push-$name" "wipe-$name" "push-slate-$name" "push-slate-j1-$name" "push-skopeo-$name"
    for cmd in push-slate-$name push-slate-j1-$name push-skopeo-$name; do peak "$cmd" "wipe-$name"; done
    table "push-$name"
    ratio "push-$name" "push-skopeo-$name" "push-slate-$name"
    ratio "push-$name" "push-slate-j1-$name" "push-slate-$name"
    # skopeo uploads from an oci: source one blob at a time, so this is the
    # like-for-like pair for the per-blob cost.
    ratio "push-$name" "push-skopeo-$name" "push-slate-j1-$name"

    # Correctness, once: what slate pushed is what the layout holds, and what
    # skopeo pushed of the same layout has the same digest.
    sh "$work/cmd/wipe-$name.sh"
    pushed=$("$slate" push --json "oci:$layout" "$addr/bench/$name:slate" 2>>"$log" | jq -r .digest)
    sh "$work/cmd/push-skopeo-$name.sh" >>"$log" 2>&1 || die "skopeo push failed; see $log"
    raw_slate=sha256:$(skopeo inspect --raw --tls-verify=false "docker://$addr/bench/$name:slate" | sha256sum | cut -d' ' -f1)
    raw_skopeo=sha256:$(skopeo inspect --raw --tls-verify=false "docker://$addr/bench/$name:skopeo" | sha256sum | cut -d' ' -f1)
    if [ "$pushed" != "$expected" ] || [ "$raw_slate" != "$expected" ] || [ "$raw_skopeo" != "$expected" ]; then
        die "digests differ: layout $expected, slate push reported $pushed, registry :slate $raw_slate, :skopeo $raw_skopeo"
    fi
    echo "  digest check: layout = slate push = skopeo inspect --raw of :slate and :skopeo = $expected"

    echo "-- pull (each run into an empty directory)"
    compare "pull-$name" "clean-pull-$name" "pull-slate-$name" "pull-skopeo-$name"
    # (each removes only its own directory: both are checked below)
    for tool in slate skopeo; do peak "pull-$tool-$name" "clean-pull-$tool-$name"; done
    table "pull-$name"
    ratio "pull-$name" "pull-skopeo-$name" "pull-slate-$name"
    # Both pulled layouts name the pushed index and hold the same blobs as the source.
    for tool in slate skopeo; do
        dir=$work/pull/$tool-$name
        got=$(jq -r '.manifests[0].digest' "$dir/index.json")
        [ "$got" = "$expected" ] || die "$tool pull: $dir/index.json names $got, not $expected"
        blob_list "$layout" > "$work/blobs-source.txt"
        blob_list "$dir" > "$work/blobs-pulled.txt"
        cmp -s "$work/blobs-source.txt" "$work/blobs-pulled.txt" ||
            die "$tool pull: $dir does not hold the same blobs as $layout (diff $work/blobs-source.txt $work/blobs-pulled.txt)"
    done
    echo "  pull check: both layouts name $expected and hold the source's $nblobs blobs"
done

echo
echo "(hyperfine JSON in $work/{push,pull}-NAME.json; GNU time of one run each in $work/*.time)"
