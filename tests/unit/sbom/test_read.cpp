// Reading SBOMs back (read.hpp): slate's own SPDX and CycloneDX documents
// round-trip to the catalog they were written from; Syft-style documents
// (tests/unit/sbom/data/sbom/, checked against the official schemas) and
// Trivy- and BuildKit-style ones give the packages, OS and subject a scan
// needs; every bad input gives a clear error or, for one bad package, a
// warning with the others kept.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sbom/catalog.hpp"
#include "slate/sbom/cyclonedx.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/sbom/read.hpp"
#include "slate/sbom/spdx.hpp"
#include "slate/util/fs.hpp"
#include "support/expect.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::sbom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string Digest = "sha256:" + std::string(64, 'a');
const std::string SyftDigest = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";
constexpr std::int64_t SyftCreated = 1716282843;  // 2024-05-21T09:14:03Z

fs::path data_dir() { return test::source_dir() / "tests" / "unit" / "sbom" / "data" / "sbom"; }

// One line per package with every field a reader fills, sorted: a readable
// diff when a field is wrong.
std::vector<std::string> describe(const std::vector<Package>& packages, bool with_concluded = true) {
    std::vector<std::string> lines;
    for (const auto& p : packages)
        lines.push_back(std::string(to_string(p.type)) + " " + p.name + " " + p.version + " arch=" + p.arch +
                        " source=" + p.source + " source_version=" + p.source_version + " purl=" + p.purl +
                        " declared=" + p.license_declared +
                        (with_concluded ? " concluded=" + p.license_concluded : std::string()));
    std::sort(lines.begin(), lines.end());
    return lines;
}

std::vector<std::string> messages(const Catalog& catalog) {
    std::vector<std::string> out;
    for (const auto& w : catalog.warnings) out.push_back(w.path + ": " + w.message);
    return out;
}

// The catalog's packages as a reader must give them back: the same package
// found twice (same purl) once.
std::vector<Package> unique_by_purl(std::vector<Package> packages) {
    std::vector<Package> out;
    for (auto& p : packages)
        if (std::none_of(out.begin(), out.end(), [&](const Package& q) { return q.purl == p.purl; }))
            out.push_back(std::move(p));
    return out;
}

Package deb(std::string name, std::string version, std::string arch, std::string source = {},
            std::string source_version = {}) {
    Package p;
    p.name = std::move(name);
    p.version = std::move(version);
    p.arch = std::move(arch);
    p.source = std::move(source);
    p.source_version = std::move(source_version);
    // As the dpkg cataloger writes it (dpkg.cpp).
    std::string upstream;
    if (!p.source.empty() || !p.source_version.empty()) {
        upstream = p.source.empty() ? p.name : p.source;
        if (!p.source_version.empty()) upstream += "@" + p.source_version;
    }
    p.purl = deb_purl(p.name, p.version, p.arch, "debian-12", upstream);
    p.maintainer = "GNU Libc Maintainers <libc@example.org>";
    p.description = p.name + " synopsis";
    p.evidence = {{"/var/lib/dpkg/status", "", 0}};
    return p;
}

Package language(PackageType type, std::string name, std::string version, std::string purl,
                 std::string license = "NOASSERTION") {
    Package p;
    p.type = type;
    p.name = std::move(name);
    p.version = std::move(version);
    p.purl = std::move(purl);
    p.license_declared = p.license_concluded = std::move(license);
    return p;
}

Catalog image_catalog() {
    Catalog catalog;
    catalog.subject = {"127.0.0.1:5000/app", Digest, "linux/arm64/v8", "1.0"};
    catalog.os = {"debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"};
    catalog.created = 1700000000;
    Package libc = deb("libc6", "2.36-9+deb12u4", "amd64", "glibc");
    libc.license_declared = libc.license_concluded = "LGPL-2.1-or-later AND GPL-2.0-or-later";
    // An epoch and a binNMU: the binary's version differs from its source's.
    Package bsdutils = deb("bsdutils", "1:2.38.1-5+b1", "amd64", "util-linux", "2.38.1-5");
    bsdutils.license_declared = "GPL-2.0-or-later";
    Package libssl = deb("libssl3", "3.0.11-1~deb12u2+b1", "amd64", "openssl", "3.0.11-1~deb12u2");
    // A binNMU of a source of the same name: source empty, source_version set.
    Package bash = deb("bash", "5.2.15-2+b2", "amd64", "", "5.2.15-2");
    Package stdcpp = deb("libstdc++6", "12.2.0-14", "amd64", "gcc-12");
    Package tzdata = deb("tzdata", "2024a-0+deb12u1", "all");
    Package requests = language(PackageType::Python, "requests", "2.31.0", "pkg:pypi/requests@2.31.0", "Apache-2.0");
    Package typing = language(PackageType::Python, "typing_extensions", "4.4.0",
                              "pkg:pypi/typing-extensions@4.4.0", "PSF-2.0");
    Package six = language(PackageType::Python, "six", "1.16.0", "pkg:pypi/six@1.16.0", "MIT");
    Package six_again = six;  // installed twice: the same purl
    six_again.evidence = {{"/opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA", "", 0}};
    Package types = language(PackageType::Npm, "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0",
                             "MIT OR (Apache-2.0 WITH LLVM-exception)");
    Package cobra = language(PackageType::Go, "github.com/spf13/cobra", "v1.8.0",
                             "pkg:golang/github.com/spf13/cobra@v1.8.0");
    Package lang3 = language(PackageType::Java, "commons-lang3", "3.12.0",
                             "pkg:maven/org.apache.commons/commons-lang3@3.12.0", "Apache-2.0");
    catalog.packages = {libc, bsdutils, libssl, bash, stdcpp, tzdata, requests, typing, six, six_again, types, cobra,
                        lang3};
    catalog.files = {file_entry("/usr/bin/openssl", "openssl binary"), file_entry("/etc/os-release", "ID=debian")};
    return catalog;
}

void expect_same_subject_and_os(const Catalog& read, const Catalog& written) {
    EXPECT_EQ(read.subject.name, written.subject.name);
    EXPECT_EQ(read.subject.digest, written.subject.digest);
    EXPECT_EQ(read.subject.platform, written.subject.platform);
    EXPECT_EQ(read.subject.version, written.subject.version);
    EXPECT_EQ(read.os.id, written.os.id);
    EXPECT_EQ(read.os.version_id, written.os.version_id);
    EXPECT_EQ(read.os.version_codename, written.os.version_codename);
    EXPECT_EQ(read.os.pretty_name, written.os.pretty_name);
    EXPECT_EQ(read.created, written.created);
}

// ---------------------------------------------------------------- round trips

TEST(ReadSbom, SpdxRoundTrip) {
    Catalog written = image_catalog();
    for (bool files : {false, true}) {
        DocumentOptions options;
        options.files = files;
        Catalog read = read_sbom(to_spdx_json(written, options));
        expect_same_subject_and_os(read, written);
        EXPECT_EQ(describe(read.packages), describe(unique_by_purl(written.packages)));
        EXPECT_TRUE(read.warnings.empty()) << testing::PrintToString(messages(read));
        EXPECT_TRUE(read.files.empty());  // files are never read back
    }
}

TEST(ReadSbom, CycloneDxRoundTrip) {
    Catalog written = image_catalog();
    for (bool files : {false, true}) {
        DocumentOptions options;
        options.files = files;
        Catalog read = read_sbom(to_cyclonedx_json(written, options));
        expect_same_subject_and_os(read, written);
        // CycloneDX carries one license per component: the declared one.
        EXPECT_EQ(describe(read.packages, false), describe(unique_by_purl(written.packages), false));
        EXPECT_TRUE(read.warnings.empty()) << testing::PrintToString(messages(read));
    }
}

TEST(ReadSbom, DirectorySubjectRoundTrips) {
    Catalog written;
    written.subject = {"/srv/rootfs", "", "", "2.0"};
    written.created = 1700000000;
    written.packages = {deb("zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib")};
    for (const std::string& document : {to_spdx_json(written), to_cyclonedx_json(written)}) {
        Catalog read = read_sbom(document);
        EXPECT_EQ(read.subject.name, "/srv/rootfs");
        EXPECT_EQ(read.subject.digest, "");
        EXPECT_EQ(read.subject.version, "2.0");
        ASSERT_EQ(read.packages.size(), 1u);
        EXPECT_EQ(read.packages[0].version, "1:1.2.13.dfsg-1");
        EXPECT_EQ(read.packages[0].source, "zlib");
        // No OS in the document: the purls' distro qualifier says debian-12.
        EXPECT_EQ(read.os.id, "debian");
        EXPECT_EQ(read.os.version_id, "12");
        EXPECT_EQ(read.os.version_codename, "bookworm");
    }
}

// ---------------------------------------------------------------- other tools' documents

// What the Syft-style documents hold, whichever format.
const std::vector<std::string> SyftDebs = {
    "deb bsdutils 1:2.38.1-5+b1 arch=amd64 source=util-linux source_version=2.38.1-5 "
    "purl=pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bb1?arch=amd64&upstream=util-linux%402.38.1-5&distro=debian-12",
    "deb libc6 2.36-9+deb12u4 arch=amd64 source=glibc source_version= "
    "purl=pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc&distro=debian-12",
    "deb libstdc++6 12.2.0-14 arch=amd64 source=gcc-12 source_version= "
    "purl=pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&upstream=gcc-12&distro=debian-12",
    "deb libuuid1 2.38.1-5+b1 arch=amd64 source=util-linux source_version=2.38.1-5 "
    "purl=pkg:deb/debian/libuuid1@2.38.1-5%2Bb1?arch=amd64&upstream=util-linux%402.38.1-5&distro=debian-12",
    "deb tzdata 2024a-0+deb12u1 arch=all source= source_version= "
    "purl=pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12",
};

std::vector<std::string> without_licenses(const std::vector<Package>& packages) {
    std::vector<std::string> lines;
    for (auto line : describe(packages, false)) lines.push_back(line.substr(0, line.find(" declared=")));
    return lines;
}

const Package* find(const Catalog& catalog, const std::string& name) {
    for (const auto& p : catalog.packages)
        if (p.name == name) return &p;
    return nullptr;
}

// What both Syft documents describe: SyftDebs and two Python packages, sorted.
std::vector<std::string> syft_packages() {
    std::vector<std::string> expected = SyftDebs;
    expected.push_back("python requests 2.28.1 arch= source= source_version= purl=pkg:pypi/requests@2.28.1");
    expected.push_back("python typing_extensions 4.4.0 arch= source= source_version= "
                       "purl=pkg:pypi/typing-extensions@4.4.0");
    std::sort(expected.begin(), expected.end());
    return expected;
}

TEST(ReadSbom, SyftSpdx) {
    const fs::path file = data_dir() / "syft-debian.spdx.json";
    std::string text = util::read_file(file);
    test::JsonSchemaValidator validator(test::shared_schemas() / "spdx-2.3");
    EXPECT_EQ(validator.errors("spdx-schema.json", text), "");

    Catalog catalog = read_sbom_file(file);
    // The image: name, digest (purl and checksum), tag and arch from its oci purl.
    EXPECT_EQ(catalog.subject.name, "registry.example.org/team/app");
    EXPECT_EQ(catalog.subject.digest, SyftDigest);
    EXPECT_EQ(catalog.subject.version, "1.4");
    EXPECT_EQ(catalog.subject.platform, "linux/arm64");
    EXPECT_EQ(catalog.created, SyftCreated);
    // Syft's SPDX names no OS: the distro qualifier of the deb purls does.
    EXPECT_EQ(catalog.os.id, "debian");
    EXPECT_EQ(catalog.os.version_id, "12");
    EXPECT_EQ(catalog.os.version_codename, "bookworm");

    EXPECT_EQ(without_licenses(catalog.packages), syft_packages());
    ASSERT_NE(find(catalog, "libc6"), nullptr);
    EXPECT_EQ(find(catalog, "libc6")->license_declared, "GPL-2.0-only AND LGPL-2.1-only");
    EXPECT_EQ(find(catalog, "libc6")->license_concluded, "NOASSERTION");

    // busybox has only a CPE; the generic python binary is of a type slate does not scan.
    ASSERT_EQ(catalog.warnings.size(), 2u) << testing::PrintToString(messages(catalog));
    EXPECT_EQ(catalog.warnings[0].path, file.string());
    EXPECT_NE(catalog.warnings[0].message.find("'busybox'"), std::string::npos);
    EXPECT_NE(catalog.warnings[0].message.find("only a CPE"), std::string::npos);
    EXPECT_NE(catalog.warnings[1].message.find("1 package of purl types slate does not scan (generic: 1)"),
              std::string::npos)
        << catalog.warnings[1].message;
}

TEST(ReadSbom, SyftCycloneDx15) {
    const fs::path file = data_dir() / "syft-debian.cdx.json";
    // Debian's python3-jsonschema (4.10) crashes while describing the
    // licenseChoice alternative a list of several licenses does not match
    // (it sorts dicts): validate with each list cut to its first license.
    json checked = json::parse(util::read_file(file));
    for (auto& component : checked["components"])
        if (component.contains("licenses")) component["licenses"] = json::array({component["licenses"][0]});
    test::JsonSchemaValidator validator(test::shared_schemas() / "cyclonedx-1.6");
    EXPECT_EQ(validator.errors("bom-1.6.schema.json", checked.dump()), "");

    Catalog catalog = read_sbom_file(file);
    EXPECT_EQ(catalog.subject.name, "registry.example.org/team/app:1.4");
    EXPECT_EQ(catalog.subject.digest, SyftDigest);
    EXPECT_EQ(catalog.created, SyftCreated);
    EXPECT_EQ(catalog.os.id, "debian");
    EXPECT_EQ(catalog.os.version_id, "12");
    EXPECT_EQ(catalog.os.version_codename, "bookworm");
    EXPECT_EQ(catalog.os.pretty_name, "Debian GNU/Linux 12 (bookworm)");

    EXPECT_EQ(without_licenses(catalog.packages), syft_packages());
    // License objects become one expression; a name that is no SPDX id is kept.
    ASSERT_NE(find(catalog, "bsdutils"), nullptr);
    EXPECT_EQ(find(catalog, "bsdutils")->license_declared, "BSD-4-Clause-UC AND GPL-2.0-or-later AND public-domain");
    EXPECT_EQ(find(catalog, "typing_extensions")->license_declared, "PSF-2.0");

    ASSERT_EQ(catalog.warnings.size(), 2u) << testing::PrintToString(messages(catalog));
    EXPECT_NE(catalog.warnings[0].message.find("'busybox'"), std::string::npos);
    EXPECT_NE(catalog.warnings[1].message.find("(generic: 1)"), std::string::npos);
}

TEST(ReadSbom, TrivyCycloneDxSourcesAndPointRelease) {
    // Trivy gives the OS as /etc/debian_version says ("12.5"), writes no
    // upstream qualifier, and splits the source version into properties.
    const std::string document = R"({
      "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
      "metadata": {"timestamp": "2024-05-21T09:14:03+00:00",
        "component": {"bom-ref": "pkg:oci/debian@sha256%3A5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270?arch=amd64&repository_url=registry.example.org%2Flibrary%2Fdebian",
          "type": "container", "name": "registry.example.org/library/debian:12",
          "purl": "pkg:oci/debian@sha256%3A5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270?arch=amd64&repository_url=registry.example.org%2Flibrary%2Fdebian"}},
      "components": [
        {"bom-ref": "8d7c3a1e-os", "type": "operating-system", "name": "debian", "version": "12.5",
         "properties": [{"name": "aquasecurity:trivy:Class", "value": "os-pkgs"}]},
        {"bom-ref": "pkg:deb/debian/bsdutils@2.38.1-5%2Bb1?arch=amd64&distro=debian-12.5&epoch=1",
         "type": "library", "name": "bsdutils", "version": "1:2.38.1-5+b1",
         "licenses": [{"license": {"name": "GPL-2.0-or-later"}}],
         "purl": "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12.5",
         "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "util-linux"},
                        {"name": "aquasecurity:trivy:SrcRelease", "value": "5"},
                        {"name": "aquasecurity:trivy:SrcVersion", "value": "2.38.1"}]},
        {"bom-ref": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5",
         "type": "library", "name": "libc6", "version": "2.36-9+deb12u4",
         "purl": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5",
         "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "glibc"},
                        {"name": "aquasecurity:trivy:SrcRelease", "value": "9+deb12u4"},
                        {"name": "aquasecurity:trivy:SrcVersion", "value": "2.36"}]}
      ]})";
    Catalog catalog = read_sbom(document);
    EXPECT_EQ(catalog.subject.digest, SyftDigest);
    EXPECT_EQ(catalog.subject.platform, "linux/amd64");
    EXPECT_EQ(catalog.os.id, "debian");
    EXPECT_EQ(catalog.os.version_id, "12");
    EXPECT_EQ(catalog.os.version_codename, "bookworm");
    EXPECT_EQ(catalog.created, SyftCreated);
    EXPECT_EQ(without_licenses(catalog.packages),
              (std::vector<std::string>{
                  "deb bsdutils 1:2.38.1-5+b1 arch=amd64 source=util-linux source_version=2.38.1-5 "
                  "purl=pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12.5",
                  "deb libc6 2.36-9+deb12u4 arch=amd64 source=glibc source_version= "
                  "purl=pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5"}));
    EXPECT_TRUE(catalog.warnings.empty()) << testing::PrintToString(messages(catalog));
}

TEST(ReadSbom, Spdx22WithDocumentDescribesAndCodenameDistro) {
    // Older Syft (docker sbom) wrote SPDX 2.2 naming the subject in
    // documentDescribes; the purl specification's examples give the distro
    // as a codename. The described package is not a container: no digest.
    const std::string document = R"({
      "spdxVersion": "SPDX-2.2", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
      "name": "app-sources", "documentNamespace": "https://example.org/spdx/app-1",
      "creationInfo": {"created": "2022-03-01T10:00:00Z", "creators": ["Tool: syft-0.40.1"]},
      "documentDescribes": ["SPDXRef-app"],
      "packages": [
        {"SPDXID": "SPDXRef-app", "name": "/src/app", "versionInfo": "0.3", "downloadLocation": "NOASSERTION",
         "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION"},
        {"SPDXID": "SPDXRef-zlib", "name": "zlib1g", "versionInfo": "1:1.2.11.dfsg-2+deb11u2",
         "downloadLocation": "NOASSERTION", "licenseConcluded": "NOASSERTION", "licenseDeclared": "Zlib",
         "copyrightText": "NOASSERTION",
         "externalRefs": [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl",
           "referenceLocator": "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2+deb11u2?arch=amd64&distro=bullseye"}]}
      ]})";
    Catalog catalog = read_sbom(document);
    EXPECT_EQ(catalog.subject.name, "/src/app");
    EXPECT_EQ(catalog.subject.version, "0.3");
    EXPECT_EQ(catalog.subject.digest, "");
    EXPECT_EQ(catalog.os.id, "debian");
    EXPECT_EQ(catalog.os.version_id, "11");
    EXPECT_EQ(catalog.os.version_codename, "bullseye");
    ASSERT_EQ(catalog.packages.size(), 1u);
    EXPECT_EQ(catalog.packages[0].name, "zlib1g");
    EXPECT_EQ(catalog.packages[0].version, "1:1.2.11.dfsg-2+deb11u2");  // an unencoded '+' stays '+'
    EXPECT_EQ(catalog.packages[0].license_declared, "Zlib");
    EXPECT_TRUE(catalog.warnings.empty()) << testing::PrintToString(messages(catalog));
}

TEST(ReadSbom, InTotoStatementIsReadThrough) {
    // A BuildKit SBOM attestation: the SPDX document is the statement's predicate.
    Catalog written = image_catalog();
    json statement = {{"_type", "https://in-toto.io/Statement/v0.1"},
                      {"predicateType", "https://spdx.dev/Document"},
                      {"subject", json::array({{{"name", "app"}, {"digest", {{"sha256", std::string(64, 'a')}}}}})},
                      {"predicate", json::parse(to_spdx_json(written))}};
    Catalog read = read_sbom(statement.dump());
    expect_same_subject_and_os(read, written);
    EXPECT_EQ(describe(read.packages), describe(unique_by_purl(written.packages)));
}

TEST(ReadSbom, NestedCycloneDxComponentsAndDuplicates) {
    const std::string document = R"({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [
      {"type": "application", "name": "app", "version": "1.0", "purl": "pkg:npm/app@1.0.0",
       "components": [
         {"type": "library", "name": "@babel/core", "version": "7.24.0", "purl": "pkg:npm/%40babel/core@7.24.0"},
         {"type": "library", "name": "@babel/core", "version": "7.24.0", "purl": "pkg:npm/%40babel/core@7.24.0"},
         {"type": "library", "name": "x/net", "purl": "pkg:golang/golang.org/x/net@v0.17.0"}]}]})";
    Catalog catalog = read_sbom(document);
    EXPECT_EQ(without_licenses(catalog.packages),
              (std::vector<std::string>{
                  "go-module x/net v0.17.0 arch= source= source_version= purl=pkg:golang/golang.org/x/net@v0.17.0",
                  "npm @babel/core 7.24.0 arch= source= source_version= purl=pkg:npm/%40babel/core@7.24.0",
                  "npm app 1.0.0 arch= source= source_version= purl=pkg:npm/app@1.0.0"}));
    EXPECT_TRUE(catalog.warnings.empty()) << testing::PrintToString(messages(catalog));
}

// ---------------------------------------------------------------- bad input

Error read_error(std::string_view document) {
    return test::error_from([&] { read_sbom(document); });
}

void expect_parse_error(std::string_view document, const std::string& says) {
    Error e = read_error(document);
    EXPECT_EQ(e.code(), ErrorCode::Parse) << e.describe();
    EXPECT_NE(e.message().find(says), std::string::npos) << e.message();
    EXPECT_FALSE(e.hint().empty()) << e.message();
}

TEST(ReadSbom, NotJson) {
    expect_parse_error("hello, this is a text file\n", "not JSON");
    expect_parse_error("{\"spdxVersion\": \"SPDX-2.3\", }", "not JSON");
    expect_parse_error("{} trailing", "not JSON");
    expect_parse_error("", "empty");
    expect_parse_error(" \n\t", "empty");
}

TEST(ReadSbom, OtherFormatsAreNamed) {
    expect_parse_error("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n",
                       "an SPDX tag-value document: convert it to JSON");
    expect_parse_error("## Document Information\n\nSPDXVersion: SPDX-2.2\n", "SPDX tag-value");
    expect_parse_error("<?xml version=\"1.0\"?>\n<bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"></bom>",
                       "CycloneDX XML");
    expect_parse_error("spdxVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\n", "YAML");
    expect_parse_error(R"({"artifacts": [], "schema": {"version": "16.0.0"}, "source": {}})", "Syft's own JSON");
    expect_parse_error(R"({"SchemaVersion": 2, "ArtifactName": "debian:12", "Results": []})", "Trivy report");
    expect_parse_error(R"({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []})",
                       "DSSE envelope");
    expect_parse_error(R"({"@context": "https://spdx.org/rdf/3.0.0/spdx-context.jsonld", "@graph": []})",
                       "JSON-LD");
}

TEST(ReadSbom, JsonThatIsNoSbom) {
    expect_parse_error(R"({"name": "x", "packages": 3})",
                       "neither SPDX (no spdxVersion) nor CycloneDX (no bomFormat); its members: name, packages");
    expect_parse_error("[1, 2, 3]", "the top level is an array");
    expect_parse_error("\"a string\"", "the top level is a string");
    expect_parse_error(R"({"bomFormat": "SomethingElse", "specVersion": "1.5"})", "not \"CycloneDX\"");
    expect_parse_error(R"({"spdxVersion": "SPDX-3.0", "packages": []})", "SPDX 2.2 and 2.3");
    expect_parse_error(R"({"spdxVersion": 2.3})", "SPDX 2.2 and 2.3");
}

TEST(ReadSbom, MalformedTopLevel) {
    expect_parse_error(R"({"spdxVersion": "SPDX-2.3", "packages": {"name": "x"}})",
                       "'packages' is an object, not an array");
    expect_parse_error(R"({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": "none"})",
                       "'components' is a string, not an array");
    expect_parse_error(R"({"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": []})",
                       "'metadata' is an array, not an object");
    expect_parse_error(R"({"bomFormat": "CycloneDX", "components": []})", "without a specVersion");
    expect_parse_error(R"({"_type": "https://in-toto.io/Statement/v1", "predicateType": "x", "predicate": 1})",
                       "in-toto statement without a predicate object");
}

TEST(ReadSbom, TruncatedDocument) {
    std::string document = to_spdx_json(image_catalog());
    for (std::size_t cut : {document.size() / 2, document.size() - 3, std::size_t(1)}) {
        Error e = read_error(std::string_view(document).substr(0, cut));
        EXPECT_EQ(e.code(), ErrorCode::Parse);
        EXPECT_NE(e.message().find("truncated"), std::string::npos) << e.message();
    }
}

TEST(ReadSbom, BadPackagesAreSkippedWithAWarning) {
    json doc = json::parse(to_spdx_json(image_catalog()));
    json& packages = doc["packages"];
    std::size_t before = read_sbom(doc.dump()).packages.size();
    // A purl that is none, one with a malformed escape, an entry that is no
    // object, a purl reference that is no string, a library without a purl.
    auto broken = [](std::string name, json locator) {
        return json{{"SPDXID", "SPDXRef-" + name},
                    {"name", name},
                    {"versionInfo", "1.0"},
                    {"externalRefs", json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                                   {"referenceType", "purl"},
                                                   {"referenceLocator", locator}}})}};
    };
    packages.push_back(broken("nopkg", "deb/debian/x@1.0"));
    packages.push_back(broken("badescape", "pkg:deb/debian/y@1.0%2"));
    packages.push_back(broken("notext", 42));
    packages.push_back("just a string");
    packages.push_back({{"SPDXID", "SPDXRef-lib"}, {"name", "lonely-lib"}, {"primaryPackagePurpose", "LIBRARY"}});
    Catalog catalog = read_sbom(doc.dump());
    EXPECT_EQ(catalog.packages.size(), before);  // every good package kept
    auto warnings = messages(catalog);
    ASSERT_EQ(warnings.size(), 5u) << testing::PrintToString(warnings);
    EXPECT_NE(warnings[0].find("<document>: package 'nopkg' (SPDXRef-nopkg): cannot read its purl"),
              std::string::npos)
        << warnings[0];
    EXPECT_NE(warnings[1].find("'badescape'"), std::string::npos) << warnings[1];
    EXPECT_NE(warnings[2].find("'notext'"), std::string::npos) << warnings[2];
    EXPECT_NE(warnings[3].find("is a string, not an object"), std::string::npos) << warnings[3];
    EXPECT_NE(warnings[4].find("'lonely-lib'"), std::string::npos) << warnings[4];
    EXPECT_NE(warnings[4].find("has no purl"), std::string::npos) << warnings[4];

    json bom = json::parse(to_cyclonedx_json(image_catalog()));
    bom["components"].push_back({{"type", "library"}, {"name", "broken"}, {"purl", "pkg:/nothing"}});
    bom["components"].push_back(7);
    Catalog from_bom = read_sbom(bom.dump());
    EXPECT_EQ(from_bom.packages.size(), before);
    ASSERT_EQ(from_bom.warnings.size(), 2u) << testing::PrintToString(messages(from_bom));
    EXPECT_NE(from_bom.warnings[0].message.find("'broken'"), std::string::npos);
    EXPECT_NE(from_bom.warnings[1].message.find("is a number, not an object"), std::string::npos);
}

TEST(ReadSbomFile, ErrorsNameTheFile) {
    test::TempDir dir;
    const fs::path file = dir.path() / "image.spdx";
    util::write_file_atomic(file, "SPDXVersion: SPDX-2.3\n");
    Error e = test::error_from([&] { read_sbom_file(file); });
    EXPECT_EQ(e.code(), ErrorCode::Parse);
    EXPECT_NE(e.message().find(file.string()), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("SPDX tag-value"), std::string::npos) << e.message();

    Error missing = test::error_from([&] { read_sbom_file(dir.path() / "absent.json"); });
    EXPECT_EQ(missing.code(), ErrorCode::NotFound);
    EXPECT_NE(missing.message().find("absent.json"), std::string::npos);

    const fs::path truncated = dir.path() / "cut.json";
    std::string document = to_cyclonedx_json(image_catalog());
    util::write_file_atomic(truncated, document.substr(0, document.size() / 3));
    Error cut = test::error_from([&] { read_sbom_file(truncated); });
    EXPECT_NE(cut.message().find(truncated.string()), std::string::npos) << cut.message();
    EXPECT_NE(cut.message().find("truncated"), std::string::npos) << cut.message();
}

}  // namespace
}  // namespace slate::sbom
