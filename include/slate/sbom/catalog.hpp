#pragma once
// What an SBOM says about an image: the software found in it (Debian packages
// and language packages), the OS it claims to be, and how the pieces relate.
// Catalogers fill a Catalog; the SPDX and CycloneDX writers (spdx.hpp,
// cyclonedx.hpp) turn one into a document.
//
// Everything here is plain data, sorted deterministically by the writers, so
// the same image always gives byte-identical documents.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::sbom {

enum class PackageType {
    Deb,     // a Debian binary package (dpkg status)
    Python,  // a *.dist-info / *.egg-info distribution
    Npm,     // node_modules/**/package.json
    Go,      // a Go module, from a binary's embedded build info
    Java,    // a jar (META-INF/MANIFEST.MF, pom.properties)
};

// "deb", "python", "npm", "go-module", "java-archive".
const char* to_string(PackageType type);

// A file SBOMs may list (--files), or the evidence a package was found in.
struct FileEntry {
    std::string path;      // absolute, inside the image: "/usr/bin/python3.11"
    std::string sha256;    // hex; empty when not hashed
    std::uint64_t size = 0;
    // hex; empty when not hashed. SPDX 2.3 requires a SHA1 for every listed
    // file (clause 8.4), and the package verification code is built from them.
    std::string sha1{};
};

// The entry of a file with these contents: SHA-256, SHA-1 and size.
FileEntry file_entry(std::string_view path, std::string_view content);

struct Package {
    PackageType type = PackageType::Deb;
    std::string name;
    std::string version;
    std::string arch;            // Debian architecture ("amd64", "all"); empty for language packages
    std::string source;          // Debian source package; empty when it is the binary's own name
    std::string source_version;  // Debian source version when it differs from `version` (binNMUs)
    std::string maintainer;      // "Name <mail>" (Debian), author (others)
    std::uint64_t installed_size = 0;  // bytes (dpkg's Installed-Size is KiB: multiplied out)
    std::string description;     // the first line (synopsis)
    std::string homepage;
    std::string purl;            // package URL, complete (see purl.hpp)
    // The license as an SPDX expression ("MIT", "GPL-2.0-or-later AND
    // LGPL-2.1-only", "LicenseRef-..."), or "NOASSERTION" when unknown.
    std::string license_concluded = "NOASSERTION";
    std::string license_declared = "NOASSERTION";
    std::vector<std::string> depends;  // names of packages of this catalog it depends on (Depends, Pre-Depends)
    std::vector<FileEntry> evidence;   // where it was found: status file, METADATA, package.json, binary
    // Known checksums of the package itself, e.g. {"SHA256", <.deb's hex>} from a lock.
    std::map<std::string, std::string> checksums;
    std::string download_location = "NOASSERTION";  // the .deb's URL when known
};

// /etc/os-release.
struct OsInfo {
    std::string id;                // "debian"
    std::string version_id;        // "12"
    std::string version_codename;  // "bookworm"
    std::string pretty_name;       // "Debian GNU/Linux 12 (bookworm)"
    bool empty() const { return id.empty() && version_id.empty(); }
};

// What the SBOM describes.
struct Subject {
    std::string name;       // "python", "127.0.0.1:5000/app", a directory
    std::string digest;     // the image manifest's "sha256:<hex>"; empty for a directory
    std::string platform;   // "linux/amd64"; empty when unknown
    std::string version;    // a tag, or the image spec's version; may be empty
};

// A non-fatal problem met while cataloging: reported, never a crash.
struct Warning {
    std::string path;     // the file concerned, inside the image
    std::string message;
};

struct Catalog {
    Subject subject;
    OsInfo os;
    std::vector<Package> packages;
    std::vector<FileEntry> files;    // every regular file, when asked for (--files)
    std::vector<Warning> warnings;
    std::int64_t created = 0;        // seconds since the epoch: SOURCE_DATE_EPOCH or the image's created
};

}  // namespace slate::sbom
