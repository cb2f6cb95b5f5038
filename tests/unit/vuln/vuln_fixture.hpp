#pragma once
// The hand-written feeds in tests/unit/vuln/data and a catalog of installed
// Debian packages to match them against, shared by the vuln unit tests.

#include <filesystem>
#include <string>

#include "support/paths.hpp"
#include "slate/sbom/catalog.hpp"
#include "slate/sbom/purl.hpp"

namespace slate::test {

inline std::filesystem::path vuln_data() { return source_dir() / "tests" / "unit" / "vuln" / "data"; }

inline sbom::Package deb_package(const std::string& name, const std::string& version, const std::string& source = "",
                                 const std::string& source_version = "") {
    sbom::Package p;
    p.type = sbom::PackageType::Deb;
    p.name = name;
    p.version = version;
    p.arch = "amd64";
    p.source = source;
    p.source_version = source_version;
    std::string upstream = source.empty() ? "" : (source_version.empty() ? source : source + "@" + source_version);
    p.purl = sbom::deb_purl(name, version, "amd64", "debian-12", upstream);
    return p;
}

// A bookworm image: util-linux binaries with an epoch and binNMUs, openssl's
// ~deb12uN backport versions, and one package per triage state in the feeds.
inline sbom::Catalog bookworm_catalog() {
    sbom::Catalog catalog;
    catalog.subject.name = "fixture";
    catalog.subject.digest = "sha256:" + std::string(64, 'a');
    catalog.os = {"debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"};
    catalog.packages = {
        deb_package("bsdutils", "1:2.38.1-5+b1", "util-linux", "2.38.1-5"),
        deb_package("libblkid1", "2.38.1-5+b1", "util-linux", "2.38.1-5"),
        deb_package("libssl3", "3.0.11-1~deb12u1", "openssl"),
        deb_package("openssl", "3.0.11-1~deb12u1"),
        deb_package("libexpat1", "2.5.0-1", "expat"),
        deb_package("libc6", "2.36-9+deb12u4", "glibc"),
        deb_package("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
        deb_package("tar", "1.34+dfsg-1.2"),
        deb_package("libde265-0", "1.0.11-1", "libde265"),
        deb_package("nginx", "1.22.1-9"),
    };
    sbom::Package python;
    python.type = sbom::PackageType::Python;
    python.name = "requests";
    python.version = "2.28.1";
    catalog.packages.push_back(python);
    return catalog;
}

}  // namespace slate::test
