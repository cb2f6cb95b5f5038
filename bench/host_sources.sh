# Sourced by the benchmark scripts that run mmdebstrap: the host's apt sources
# as mmdebstrap MIRROR arguments (each file is pasted into the chroot; deb822
# .sources files are recognised as such), and the host's release codename.
# Sets $sources and $suite, or calls die (which the sourcing script defines).
sources=""
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [ -f "$f" ] && grep -q '^[^#[:space:]]' "$f"; then sources="$sources $f"; fi
done
[ -n "$sources" ] || die "no apt sources on this host (/etc/apt/sources.list*)"
# shellcheck disable=SC1091  # the host's file
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$suite" ] || die "cannot tell the host's release from /etc/os-release (VERSION_CODENAME)"
