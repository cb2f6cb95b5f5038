#pragma once
// What maintainer scripts would have made, done declaratively over the image's
// RootFs: accounts, /tmp and /root, the CA bundle, the time zone, the package
// database scanners read, the spec's `paths` and `paths-exclude`. Nothing here
// runs code from a package or touches the host.
//
// Each function can be called on its own; write_system_files() runs them all in
// the order the build uses (see there).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "slate/build/image_spec.hpp"
#include "slate/build/rootfs.hpp"
#include "slate/deb/deb_file.hpp"

namespace slate::build {

// The built-in accounts (distroless's): root 0:0, nobody 65534:65534 (group
// "nogroup", as Debian names it), nonroot 65532:65532 with home /home/nonroot.
inline constexpr std::uint32_t NobodyId = 65534;
inline constexpr std::uint32_t NonrootId = 65532;

// Where the CA bundle goes; the build sets SSL_CERT_FILE to it when generated.
inline constexpr std::string_view CaBundlePath = "/etc/ssl/certs/ca-certificates.crt";

// ---------------------------------------------------------------------------
// 1. Accounts

// Who the container runs as, resolved against the generated /etc/passwd.
struct RunAs {
    std::string user;       // the OCI config's User: the spec's run-as as written ("" = root)
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;  // "uid:gid" as given, else the user's primary group (0 for an unknown uid)
};

// Writes /etc/passwd, /etc/group and /etc/nsswitch.conf (no /etc/shadow: no
// account has a password), replacing whatever a package shipped there, and
// creates missing home directories (/root 0700; others 0755 owned by the user;
// "/" and "/nonexistent" are never created; an existing directory is left as it
// is, as useradd -m does). Order: root, nobody, nonroot, then the spec's users;
// groups: root, nogroup, nonroot, the spec's groups, then a group named after
// each spec user whose primary gid has no group yet (useradd's user groups).
// The spec's own `nonroot` user or group replaces the built-in one. Throws
// slate::Error (Config) for a name or id colliding with a built-in account, a
// group member that is not a user, or a run-as that names no user.
RunAs write_accounts(RootFs& root, const AccountsSpec& accounts);

// ---------------------------------------------------------------------------
// 2. Base layout

struct BaseLayout {
    bool os_release = false;  // /etc/os-release leads to a file
};

// /tmp 01777 and /root 0700, owned by root. /etc/os-release is base-files's
// (a symlink to ../usr/lib/os-release); nothing is generated for it. Throws
// slate::Error (Integrity) when base-files is installed but /etc/os-release does
// not lead to a file.
BaseLayout write_base_layout(RootFs& root);

// ---------------------------------------------------------------------------
// 3. CA certificates

struct CaCertificates {
    bool generated = false;          // false when ca-certificates is not installed
    std::size_t certificates = 0;    // files concatenated into the bundle
    std::vector<std::string> notes;  // e.g. a file OpenSSL cannot read (no hash link)
};

// When ca-certificates is installed, makes what its postinst and
// update-ca-certificates make on a fresh install: /etc/ca-certificates.conf
// listing every *.crt under /usr/share/ca-certificates (byte order), the bundle
// at CaBundlePath (those files, then every *.crt under
// /usr/local/share/ca-certificates, each ending with a newline), the
// /etc/ssl/certs/<name>.pem links and OpenSSL's <subject hash>.<n> links (what
// `openssl rehash` makes, so CApath lookups work).
CaCertificates write_ca_certificates(RootFs& root);

// ---------------------------------------------------------------------------
// 4. Time zone

struct TimeZone {
    bool configured = false;  // false when tzdata is not installed
    std::string zone;         // e.g. "Etc/UTC"
};

// When tzdata is installed: /etc/localtime -> /usr/share/zoneinfo/<zone> and
// /etc/timezone, as tzdata's postinst makes them. The zone is the spec
// environment's TZ (a leading ':' or /usr/share/zoneinfo/ prefix is dropped),
// else Etc/UTC (Debian's default). A POSIX rule such as "UTC0" or
// "CET-1CEST,M3.5.0,M10.5.0/3" needs no zone file: /etc/localtime stays Etc/UTC.
// Throws slate::Error (Config) for an unknown zone (with a suggestion), or a
// zone other than UTC when tzdata is not installed.
TimeZone write_time_zone(RootFs& root, const std::map<std::string, std::string>& environment);

// ---------------------------------------------------------------------------
// 5. Package database

struct InstalledPackage {
    std::string control;  // the control file's text
    std::string md5sums;  // the md5sums control member; empty when the package has none
};

InstalledPackage installed_package(const deb::DebFile& deb);

// As distroless does (and Trivy, Grype and Syft read): for each package,
// /var/lib/dpkg/status.d/<name> holds its control file with
// "Status: install ok installed" after the Package line, and
// /var/lib/dpkg/status.d/<name>.md5sums its md5sums when it has one. <name> is
// the plain package name, also for Multi-Arch: same packages (an image has one
// architecture). Throws slate::Error (Parse) for a control text without a valid
// Package field, (Internal) for a package given twice.
void write_package_database(RootFs& root, const std::vector<InstalledPackage>& packages);

// ---------------------------------------------------------------------------
// 6 and 7. The spec's paths and paths-exclude

// Applies `paths` entries in order. Throws slate::Error (Config) naming the entry
// for a directory or file over something of another kind, a symlink over a
// directory, or permissions on a path that does not exist.
void apply_paths(RootFs& root, const std::vector<PathSpec>& paths);

// Removes what `paths-exclude` selects (docs/image-spec.md: a pattern matches a
// path or one of its parent directories; the last matching pattern decides;
// "!" keeps). Every /usr/share/doc/*/copyright and the C.UTF-8 locale
// (/usr/lib/locale/C.utf8) are always kept, with their parent directories.
// Returns the number of entries removed. Throws slate::Error (Config) for a
// pattern that does not start with '/'.
std::size_t apply_paths_exclude(RootFs& root, const std::vector<std::string>& patterns);

// ---------------------------------------------------------------------------
// Everything, in the build's order

struct SystemFiles {
    RunAs run_as;
    CaCertificates ca_certificates;  // .generated: set SSL_CERT_FILE=CaBundlePath
    TimeZone time_zone;
    BaseLayout base_layout;
    std::size_t excluded = 0;        // entries removed by paths-exclude
};

// Runs, in order: the package database, the base layout, accounts, time zone,
// the spec's paths (so they can change generated files and add certificates
// under /usr/local/share/ca-certificates), CA certificates, then paths-exclude.
SystemFiles write_system_files(RootFs& root, const ImageSpec& spec, const std::vector<InstalledPackage>& packages);

}  // namespace slate::build
