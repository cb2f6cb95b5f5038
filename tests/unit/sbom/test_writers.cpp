// SPDX 2.3 and CycloneDX 1.6 writers: documents validated against the
// official schemas (../shared/schemas, python3-jsonschema), the SPDX rules the
// schema leaves out (SPDXID syntax and uniqueness, relationship targets,
// declared LicenseRefs, SHA1 per file, the package verification code), the
// links between the parts, and determinism (any package order, same bytes).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/sbom/catalog.hpp"
#include "slate/sbom/cyclonedx.hpp"
#include "slate/sbom/spdx.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/json_schema.hpp"

namespace slate::sbom {
namespace {

using nlohmann::json;

const std::string Digest = "sha256:" + std::string(64, 'a');
constexpr std::int64_t Epoch = 1700000000;  // 2023-11-14T22:13:20Z
const std::string StatusPath = "/var/lib/dpkg/status";

std::string hex_of(char c, std::size_t n) { return std::string(n, c); }

Package deb(std::string name, std::string version, std::string arch, std::string source = {},
            std::string source_version = {}) {
    Package p;
    p.type = PackageType::Deb;
    p.name = std::move(name);
    p.version = std::move(version);
    p.arch = std::move(arch);
    p.source = std::move(source);
    p.source_version = std::move(source_version);
    p.maintainer = "GNU Libc Maintainers <libc@example.org>";
    p.purl = "pkg:deb/debian/" + p.name + "@" + p.version + "?arch=" + p.arch + "&distro=debian-12";
    p.evidence = {{StatusPath, "", 0}};
    p.description = p.name + " synopsis";
    return p;
}

Package language(PackageType type, std::string name, std::string version, std::string purl, std::string evidence) {
    Package p;
    p.type = type;
    p.name = std::move(name);
    p.version = std::move(version);
    p.purl = std::move(purl);
    p.evidence = {{std::move(evidence), "", 0}};
    return p;
}

// Every kind of package the catalogers produce, with the awkward cases.
Catalog realistic_catalog() {
    Catalog catalog;
    catalog.subject = {"127.0.0.1:5000/app", Digest, "linux/amd64", "1.0"};
    catalog.os = {"debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"};
    catalog.created = Epoch;

    Package libc = deb("libc6", "2.36-9+deb12u4", "amd64", "glibc");
    libc.license_declared = libc.license_concluded = "LGPL-2.1-or-later AND GPL-2.0-or-later";
    libc.installed_size = 12 << 20;
    libc.homepage = "https://www.gnu.org/software/libc/libc.html";
    libc.checksums = {{"SHA256", hex_of('b', 64)}, {"sha-1", hex_of('C', 40)}, {"SHA512", "not hex"}};
    libc.download_location = "https://archive.example.org/pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb";
    Package libc_i386 = deb("libc6", "2.36-9+deb12u4", "i386", "glibc");
    // binNMU: the binary's version has +b1, its source's does not.
    Package libssl = deb("libssl3", "3.0.11-1~deb12u2+b1", "amd64", "openssl", "3.0.11-1~deb12u2");
    libssl.depends = {"libc6"};
    libssl.license_declared = libssl.license_concluded = "Apache-2.0";
    Package openssl = deb("openssl", "3.0.11-1~deb12u2", "amd64");
    openssl.depends = {"libssl3", "libc6", "not-installed"};
    openssl.homepage = "not a url";
    Package tzdata = deb("tzdata", "2024a-0+deb12u1", "all");
    tzdata.license_declared = tzdata.license_concluded = "LicenseRef-public-domain";
    tzdata.maintainer = "Debian GNU Libc Maintainers <tz@example.org>";
    Package uuid = deb("libuuid1", "2.38.1-5+b1", "amd64", "util-linux", "2.38.1-5");
    uuid.maintainer = "Chris Hofstaedtler <zeha@example.org>";
    uuid.license_declared = "GPL-2.0-or-later AND LicenseRef-util-linux-other";
    uuid.license_concluded = "GPL version 2 or later (see COPYING)";  // not an expression
    Package stdcpp = deb("libstdc++6", "12.2.0-14", "amd64", "gcc-12");
    stdcpp.depends = {"libc6"};
    Package odd = deb("we!rd name/ü", "1:0.1", "amd64");
    odd.description = std::string("bad utf-8 \xff\xfe here");
    odd.maintainer = "";

    Package requests = language(PackageType::Python, "requests", "2.31.0", "pkg:pypi/requests@2.31.0",
                                "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA");
    requests.maintainer = "Kenneth Reitz <me@example.org>";
    requests.license_declared = "Apache-2.0";
    requests.depends = {"urllib3", "libc6"};  // libc6 is a deb: not resolved across types
    Package urllib3 = language(PackageType::Python, "urllib3", "2.0.7", "pkg:pypi/urllib3@2.0.7",
                               "/usr/lib/python3/dist-packages/urllib3-2.0.7.dist-info/METADATA");
    urllib3.license_declared = "MIT";
    // The same distribution installed twice: same purl, different places.
    Package six_a = language(PackageType::Python, "six", "1.16.0", "pkg:pypi/six@1.16.0",
                             "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA");
    Package six_b = six_a;
    six_b.evidence = {{"/opt/venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA", "", 0}};
    Package types = language(PackageType::Npm, "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0",
                             "/app/node_modules/@types/node/package.json");
    types.license_declared = "MIT OR (Apache-2.0 WITH LLVM-exception)";
    types.maintainer = "someone@example.org";
    Package cobra = language(PackageType::Go, "github.com/spf13/cobra", "v1.8.0",
                             "pkg:golang/github.com/spf13/cobra@v1.8.0", "/usr/bin/app");
    cobra.checksums = {{"SHA256", hex_of('d', 64)}};
    Package stdlib = language(PackageType::Go, "stdlib", "go1.21.5", "pkg:golang/stdlib@go1.21.5", "/usr/bin/app");
    Package lang3 = language(PackageType::Java, "commons-lang3", "3.12.0",
                             "pkg:maven/org.apache.commons/commons-lang3@3.12.0", "/app/app.jar");
    lang3.license_declared = "Apache-2.0";
    lang3.maintainer = "The Apache Software Foundation";

    catalog.packages = {libc, libc_i386, libssl, openssl, tzdata, uuid, stdcpp, odd, requests,
                        urllib3, six_a, six_b, types, cobra, stdlib, lang3};
    catalog.files = {
        {"/usr/bin/openssl", hex_of('1', 64), 1000, hex_of('2', 40)},
        {StatusPath, hex_of('3', 64), 2000, hex_of('4', 40)},
        {"/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", hex_of('5', 64), 300, hex_of('6', 40)},
        {"/usr/bin/app", hex_of('7', 64), 4000, hex_of('8', 40)},
        {"/app/app.jar", hex_of('9', 64), 5000, hex_of('a', 40)},
        {"/app/node_modules/@types/node/package.json", hex_of('b', 64), 600, hex_of('c', 40)},
    };
    return catalog;
}

DocumentOptions with_files(bool files) {
    DocumentOptions options;
    options.files = files;
    return options;
}

// ---------------------------------------------------------------- SPDX

class SpdxDocument : public ::testing::Test {
protected:
    void expect_valid(const std::string& text) {
        EXPECT_EQ(m_validator.errors("spdx-schema.json", text), "") << text.substr(0, 4000);
        json doc = json::parse(text);
        expect_spdx_rules(doc);
    }

    // What the SPDX tools check beyond the schema.
    static void expect_spdx_rules(const json& doc) {
        std::regex id_syntax("^SPDXRef-[A-Za-z0-9.-]+$");
        std::set<std::string> ids{"SPDXRef-DOCUMENT"};
        auto claim = [&](const std::string& id) {
            EXPECT_TRUE(std::regex_match(id, id_syntax)) << id;
            EXPECT_TRUE(ids.insert(id).second) << "duplicate SPDXID " << id;
        };
        for (const auto& p : doc["packages"]) claim(p["SPDXID"]);
        for (const auto& f : doc.value("files", json::array())) {
            claim(f["SPDXID"]);
            EXPECT_FALSE(f["fileName"].get<std::string>().starts_with("/")) << f;
            bool sha1 = std::any_of(f["checksums"].begin(), f["checksums"].end(),
                                    [](const json& c) { return c["algorithm"] == "SHA1"; });
            EXPECT_TRUE(sha1) << f;
        }
        std::set<std::string> documents;
        for (const auto& ref : doc.value("externalDocumentRefs", json::array())) {
            std::string id = ref["externalDocumentId"];
            EXPECT_TRUE(std::regex_match(id, std::regex("^DocumentRef-[A-Za-z0-9.+-]+$"))) << id;
            EXPECT_TRUE(documents.insert(id).second) << id;
        }
        auto exists = [&](const std::string& id) {
            if (auto colon = id.find(':'); colon != std::string::npos) return documents.count(id.substr(0, colon)) > 0;
            return ids.count(id) > 0;
        };
        for (const auto& r : doc["relationships"]) {
            EXPECT_TRUE(exists(r["spdxElementId"])) << r;
            EXPECT_TRUE(exists(r["relatedSpdxElement"])) << r;
        }
        // Every LicenseRef used is declared, and only those are.
        std::set<std::string> declared, used;
        for (const auto& info : doc.value("hasExtractedLicensingInfos", json::array())) declared.insert(info["licenseId"]);
        for (const auto& p : doc["packages"])
            for (const char* field : {"licenseConcluded", "licenseDeclared"})
                for (const auto& ref : license_refs(p.value(field, std::string())))
                    used.insert(ref);
        EXPECT_EQ(declared, used);
        for (const auto& p : doc["packages"]) {
            for (const char* field : {"licenseConcluded", "licenseDeclared"})
                EXPECT_TRUE(is_license_expression(p.value(field, std::string("NOASSERTION")))) << p;
            for (const char* field : {"supplier", "originator"}) {
                std::string agent = p.value(field, std::string("NOASSERTION"));
                EXPECT_TRUE(agent == "NOASSERTION" || agent.starts_with("Person: ") ||
                            agent.starts_with("Organization: "))
                    << agent;
            }
            // Not file-analysed packages must not contain files.
            if (!p["filesAnalyzed"].get<bool>())
                for (const auto& r : doc["relationships"])
                    if (r["spdxElementId"] == p["SPDXID"] && r["relationshipType"] == "CONTAINS") {
                        EXPECT_FALSE(r["relatedSpdxElement"].get<std::string>().starts_with("SPDXRef-File-")) << r;
                    }
        }
    }

    test::JsonSchemaValidator m_validator{test::shared_schemas() / "spdx-2.3"};
};

const json& package_named(const json& doc, const std::string& name, const std::string& purpose = "") {
    for (const auto& p : doc["packages"])
        if (p["name"] == name && (purpose.empty() || p.value("primaryPackagePurpose", "") == purpose)) return p;
    static const json none;
    ADD_FAILURE() << "no package " << name;
    return none;
}

bool related(const json& doc, const std::string& from, const std::string& type, const std::string& to) {
    for (const auto& r : doc["relationships"])
        if (r["spdxElementId"] == from && r["relationshipType"] == type && r["relatedSpdxElement"] == to) return true;
    return false;
}

TEST_F(SpdxDocument, RealisticCatalogValidatesWithAndWithoutFiles) {
    Catalog catalog = realistic_catalog();
    expect_valid(to_spdx_json(catalog));
    expect_valid(to_spdx_json(catalog, with_files(true)));
    catalog.subject.digest.clear();  // a directory
    expect_valid(to_spdx_json(catalog));
    expect_valid(to_spdx_json(catalog, with_files(true)));
    expect_valid(to_spdx_json(Catalog{}));  // nothing found at all
}

TEST_F(SpdxDocument, DescribesTheImageWhichContainsEverything) {
    Catalog catalog = realistic_catalog();
    json doc = json::parse(to_spdx_json(catalog));
    EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
    EXPECT_EQ(doc["dataLicense"], "CC0-1.0");
    EXPECT_EQ(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(doc["creationInfo"]["creators"], json::array({"Tool: slate-0.1.0"}));
    EXPECT_EQ(doc["documentNamespace"], spdx_namespace(catalog));
    EXPECT_EQ(doc["relationships"][0]["relationshipType"], "DESCRIBES");

    const json& image = package_named(doc, "127.0.0.1:5000/app");
    EXPECT_EQ(image["SPDXID"], spdx_image_id(catalog.subject));
    EXPECT_EQ(image["versionInfo"], Digest);
    EXPECT_EQ(image["primaryPackagePurpose"], "CONTAINER");
    EXPECT_EQ(image["externalRefs"][0]["referenceLocator"],
              "pkg:oci/app@sha256:" + hex_of('a', 64) + "?arch=amd64&repository_url=127.0.0.1:5000/app&tag=1.0");
    EXPECT_TRUE(related(doc, "SPDXRef-DOCUMENT", "DESCRIBES", image["SPDXID"]));
    const json& os = package_named(doc, "debian", "OPERATING_SYSTEM");
    EXPECT_EQ(os["versionInfo"], "12");
    EXPECT_TRUE(related(doc, image["SPDXID"], "CONTAINS", os["SPDXID"]));

    // Every cataloged package (both copies of six) is in the image.
    std::size_t contained = 0;
    for (const auto& p : doc["packages"]) {
        std::string purpose = p.value("primaryPackagePurpose", "");
        if (purpose == "INSTALL" || purpose == "LIBRARY") {
            EXPECT_TRUE(related(doc, image["SPDXID"], "CONTAINS", p["SPDXID"])) << p["name"];
            ++contained;
        }
    }
    EXPECT_EQ(contained, catalog.packages.size());
}

TEST_F(SpdxDocument, DebianPackagesComeFromDeduplicatedSourcePackages) {
    json doc = json::parse(to_spdx_json(realistic_catalog()));
    std::vector<json> glibc;
    for (const auto& p : doc["packages"])
        if (p["name"] == "glibc") glibc.push_back(p);
    ASSERT_EQ(glibc.size(), 1u) << "libc6:amd64 and libc6:i386 share one source package";
    EXPECT_EQ(glibc[0]["primaryPackagePurpose"], "SOURCE");
    EXPECT_EQ(glibc[0]["externalRefs"][0]["referenceLocator"],
              "pkg:deb/debian/glibc@2.36-9%2Bdeb12u4?arch=source&distro=debian-12");
    for (const auto& p : doc["packages"])
        if (p["name"] == "libc6") {
            EXPECT_TRUE(related(doc, p["SPDXID"], "GENERATED_FROM", glibc[0]["SPDXID"]));
        }

    // binNMU: the source's version is the one without +b1.
    const json& libssl = package_named(doc, "libssl3");
    const json& source = package_named(doc, "openssl", "SOURCE");
    EXPECT_EQ(source["versionInfo"], "3.0.11-1~deb12u2");
    EXPECT_TRUE(related(doc, libssl["SPDXID"], "GENERATED_FROM", source["SPDXID"]));
    EXPECT_EQ(libssl["sourceInfo"], "built package from: openssl 3.0.11-1~deb12u2");
    // A binary named like its source is generated from it too.
    const json& openssl = package_named(doc, "openssl", "INSTALL");
    EXPECT_TRUE(related(doc, openssl["SPDXID"], "GENERATED_FROM", source["SPDXID"]));
}

TEST_F(SpdxDocument, PackageFields) {
    json doc = json::parse(to_spdx_json(realistic_catalog()));
    const json* libc = nullptr;
    for (const auto& p : doc["packages"])
        if (p["name"] == "libc6" && p["externalRefs"][0]["referenceLocator"].get<std::string>().find("amd64") !=
                                        std::string::npos)
            libc = &p;
    ASSERT_NE(libc, nullptr);
    EXPECT_EQ((*libc)["supplier"], "Organization: GNU Libc Maintainers (libc@example.org)");
    EXPECT_EQ((*libc)["licenseDeclared"], "LGPL-2.1-or-later AND GPL-2.0-or-later");
    EXPECT_EQ((*libc)["filesAnalyzed"], false);
    EXPECT_EQ((*libc)["copyrightText"], "NOASSERTION");
    EXPECT_EQ((*libc)["homepage"], "https://www.gnu.org/software/libc/libc.html");
    EXPECT_EQ((*libc)["downloadLocation"],
              "https://archive.example.org/pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb");
    // The known checksums, in SPDX's names; the malformed one is left out.
    EXPECT_EQ((*libc)["checksums"], json::parse(R"([{"algorithm":"SHA1","checksumValue":")" + hex_of('c', 40) +
                                                R"("},{"algorithm":"SHA256","checksumValue":")" + hex_of('b', 64) +
                                                R"("}])"));
    EXPECT_EQ((*libc)["externalRefs"][0]["referenceCategory"], "PACKAGE-MANAGER");
    EXPECT_EQ((*libc)["externalRefs"][0]["referenceType"], "purl");

    EXPECT_EQ(package_named(doc, "libuuid1")["supplier"], "Person: Chris Hofstaedtler (zeha@example.org)");
    EXPECT_FALSE(package_named(doc, "openssl", "INSTALL").contains("homepage")) << "not a URL";
    const json& requests = package_named(doc, "requests");
    EXPECT_EQ(requests["originator"], "Person: Kenneth Reitz (me@example.org)");
    EXPECT_EQ(requests["supplier"], "NOASSERTION");
    EXPECT_EQ(package_named(doc, "@types/node")["originator"], "Person: someone@example.org (someone@example.org)");
    EXPECT_EQ(package_named(doc, "commons-lang3")["originator"], "Organization: The Apache Software Foundation");

    // Text that is no SPDX expression is not passed off as one.
    const json& uuid = package_named(doc, "libuuid1");
    EXPECT_EQ(uuid["licenseConcluded"], "NOASSERTION");
    EXPECT_NE(uuid["licenseComments"].get<std::string>().find("GPL version 2 or later"), std::string::npos);
    EXPECT_EQ(uuid["licenseDeclared"], "GPL-2.0-or-later AND LicenseRef-util-linux-other");
    std::set<std::string> refs;
    for (const auto& info : doc["hasExtractedLicensingInfos"]) {
        refs.insert(info["licenseId"]);
        EXPECT_FALSE(info["extractedText"].get<std::string>().empty());
    }
    EXPECT_EQ(refs, (std::set<std::string>{"LicenseRef-public-domain", "LicenseRef-util-linux-other"}));
}

TEST_F(SpdxDocument, DependenciesResolveWithinTypeAndArchitecture) {
    json doc = json::parse(to_spdx_json(realistic_catalog()));
    std::map<std::string, std::vector<std::string>> depends;  // name -> names
    std::map<std::string, std::string> names;
    for (const auto& p : doc["packages"]) names[p["SPDXID"]] = p["name"];
    for (const auto& r : doc["relationships"])
        if (r["relationshipType"] == "DEPENDS_ON")
            depends[names[r["spdxElementId"]]].push_back(names[r["relatedSpdxElement"]]);
    std::sort(depends["openssl"].begin(), depends["openssl"].end());
    EXPECT_EQ(depends["openssl"], (std::vector<std::string>{"libc6", "libssl3"})) << "libc6:amd64 only";
    EXPECT_EQ(depends["requests"], std::vector<std::string>{"urllib3"}) << "a deb is no Python dependency";
    EXPECT_EQ(depends["libstdc++6"], std::vector<std::string>{"libc6"});
}

TEST_F(SpdxDocument, FilesAreListedWithChecksumsAndEvidence) {
    Catalog catalog = realistic_catalog();
    catalog.files.push_back({"/etc/unhashed", "", 10, ""});
    json doc = json::parse(to_spdx_json(catalog, with_files(true)));
    ASSERT_TRUE(doc.contains("files"));
    std::map<std::string, json> files;
    for (const auto& f : doc["files"]) files[f["fileName"]] = f;
    EXPECT_EQ(files.size(), 6u) << "a file without any checksum cannot be listed";
    const json& openssl = files.at("./usr/bin/openssl");
    EXPECT_EQ(openssl["checksums"][0], (json{{"algorithm", "SHA1"}, {"checksumValue", hex_of('2', 40)}}));
    EXPECT_EQ(openssl["checksums"][1], (json{{"algorithm", "SHA256"}, {"checksumValue", hex_of('1', 64)}}));

    const json& image = package_named(doc, "127.0.0.1:5000/app");
    EXPECT_EQ(image["filesAnalyzed"], true);
    for (const auto& [name, f] : files) EXPECT_TRUE(related(doc, image["SPDXID"], "CONTAINS", f["SPDXID"])) << name;

    // Evidence: the status file describes the Debian packages, the Go binary
    // statically links its modules.
    const json& status = files.at("." + StatusPath);
    EXPECT_TRUE(related(doc, status["SPDXID"], "METAFILE_OF", package_named(doc, "libssl3")["SPDXID"]));
    EXPECT_TRUE(related(doc, files.at("./usr/bin/app")["SPDXID"], "STATIC_LINK",
                        package_named(doc, "github.com/spf13/cobra")["SPDXID"]));
    EXPECT_TRUE(related(doc, files.at("./usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA")["SPDXID"],
                        "METAFILE_OF", package_named(doc, "requests")["SPDXID"]));

    // Without files: no file elements, no file relationships.
    json plain = json::parse(to_spdx_json(catalog));
    EXPECT_FALSE(plain.contains("files"));
    for (const auto& r : plain["relationships"])
        EXPECT_FALSE(r["relatedSpdxElement"].get<std::string>().starts_with("SPDXRef-File-")) << r;
}

TEST_F(SpdxDocument, VerificationCodeMatchesAnIndependentComputation) {
    Catalog catalog = realistic_catalog();
    json doc = json::parse(to_spdx_json(catalog, with_files(true)));
    const json& image = package_named(doc, "127.0.0.1:5000/app");
    EXPECT_EQ(image["filesAnalyzed"], true);
    // SPDX 2.3 clause 7.9.4, computed by Python's hashlib.
    std::string sha1s;
    for (const auto& file : catalog.files) sha1s += file.sha1 + "\n";
    util::ProcessOptions options;
    options.stdin_data = sha1s;
    auto result = util::run_process(
        {"python3", "-c",
         "import sys, hashlib; s = sorted(sys.stdin.read().split()); print(hashlib.sha1(''.join(s).encode()).hexdigest())"},
        options);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(image["packageVerificationCode"]["packageVerificationCodeValue"].get<std::string>() + "\n", result.out);

    // A listed file without SHA1 leaves the code out (it cannot be computed).
    catalog.files.push_back({"/etc/sha256-only", hex_of('e', 64), 1, ""});
    json partial = json::parse(to_spdx_json(catalog, with_files(true)));
    EXPECT_FALSE(package_named(partial, "127.0.0.1:5000/app").contains("packageVerificationCode"));
}

TEST_F(SpdxDocument, OddNamesGiveValidUniqueIds) {
    Catalog catalog;
    catalog.subject = {"dir with spaces", "", "", ""};
    catalog.created = Epoch;
    for (std::string name : {"a b", "a:b", "a/b", "a_b", "a+b", "ä", "", "a b"}) {
        Package p = deb(name, "1", "amd64");
        p.purl = "pkg:deb/debian/same@1";  // even the same purl
        catalog.packages.push_back(p);
    }
    std::string text = to_spdx_json(catalog);
    expect_valid(text);
    json doc = json::parse(text);
    std::set<std::string> ids;
    for (const auto& p : doc["packages"]) ids.insert(p["SPDXID"]);
    EXPECT_EQ(ids.size(), doc["packages"].size());
}

TEST_F(SpdxDocument, IndexLinksThePlatformDocuments) {
    Catalog amd64 = realistic_catalog();
    Catalog arm64 = realistic_catalog();
    arm64.subject.digest = "sha256:" + hex_of('f', 64);
    arm64.subject.platform = "linux/arm64/v8";
    std::vector<PlatformDocument> platforms;
    for (const Catalog* catalog : {&arm64, &amd64}) {
        std::string text = to_spdx_json(*catalog);
        platforms.push_back({catalog->subject, json::parse(text)["documentNamespace"], util::sha256_hex(text), ""});
    }
    platforms[0].sha1_of_bytes = hex_of('9', 40);
    Subject index{"127.0.0.1:5000/app", "sha256:" + hex_of('e', 64), "", "1.0"};
    std::string text = to_spdx_index_json(index, Epoch, platforms);
    expect_valid(text);
    json doc = json::parse(text);
    ASSERT_EQ(doc["externalDocumentRefs"].size(), 2u);
    const json& first = doc["externalDocumentRefs"][0];  // sorted by platform
    EXPECT_EQ(first["externalDocumentId"], "DocumentRef-linux-amd64");
    EXPECT_EQ(first["spdxDocument"], platforms[1].document_namespace_or_serial);
    EXPECT_EQ(first["checksum"], (json{{"algorithm", "SHA256"}, {"checksumValue", platforms[1].sha256_of_bytes}}));
    EXPECT_EQ(doc["externalDocumentRefs"][1]["checksum"]["algorithm"], "SHA1");
    // The index contains each platform document's image package, by its real id.
    json amd64_doc = json::parse(to_spdx_json(amd64));
    std::string image_id = package_named(amd64_doc, "127.0.0.1:5000/app")["SPDXID"];
    EXPECT_TRUE(related(doc, spdx_image_id(index), "CONTAINS", "DocumentRef-linux-amd64:" + image_id));
    EXPECT_EQ(package_named(doc, "127.0.0.1:5000/app")["externalRefs"][0]["referenceLocator"],
              "pkg:oci/app@sha256:" + hex_of('e', 64) + "?repository_url=127.0.0.1:5000/app&tag=1.0");
}

// ---------------------------------------------------------------- CycloneDX

class CycloneDxDocument : public ::testing::Test {
protected:
    void expect_valid(const std::string& text) {
        EXPECT_EQ(m_validator.errors("bom-1.6.schema.json", text), "") << text.substr(0, 4000);
        json doc = json::parse(text);
        // bom-refs unique; every dependency names a component that exists.
        std::set<std::string> refs{doc["metadata"]["component"]["bom-ref"]};
        for (const auto& c : doc["components"]) EXPECT_TRUE(refs.insert(c["bom-ref"]).second) << c["bom-ref"];
        for (const auto& d : doc["dependencies"]) {
            EXPECT_TRUE(refs.count(d["ref"])) << d;
            for (const auto& on : d.value("dependsOn", json::array())) EXPECT_TRUE(refs.count(on)) << on;
        }
    }

    test::JsonSchemaValidator m_validator{test::shared_schemas() / "cyclonedx-1.6"};
};

const json& component_named(const json& doc, const std::string& name) {
    for (const auto& c : doc["components"])
        if (c["name"] == name) return c;
    static const json none;
    ADD_FAILURE() << "no component " << name;
    return none;
}

std::string property_of(const json& component, const std::string& name) {
    for (const auto& p : component.value("properties", json::array()))
        if (p["name"] == name) return p["value"];
    return {};
}

TEST_F(CycloneDxDocument, RealisticCatalogValidatesWithAndWithoutFiles) {
    Catalog catalog = realistic_catalog();
    expect_valid(to_cyclonedx_json(catalog));
    expect_valid(to_cyclonedx_json(catalog, with_files(true)));
    catalog.subject.digest.clear();
    expect_valid(to_cyclonedx_json(catalog));
    expect_valid(to_cyclonedx_json(catalog, with_files(true)));
    expect_valid(to_cyclonedx_json(Catalog{}));
}

TEST_F(CycloneDxDocument, ComponentsAndDependencies) {
    Catalog catalog = realistic_catalog();
    json doc = json::parse(to_cyclonedx_json(catalog));
    EXPECT_EQ(doc["specVersion"], "1.6");
    EXPECT_EQ(doc["serialNumber"], cyclonedx_serial(catalog));
    EXPECT_EQ(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(doc["metadata"]["tools"]["components"][0]["name"], "slate");
    const json& image = doc["metadata"]["component"];
    EXPECT_EQ(image["type"], "container");
    EXPECT_EQ(image["version"], Digest);
    EXPECT_EQ(image["bom-ref"], image_purl(catalog.subject));

    const json& os = component_named(doc, "debian");
    EXPECT_EQ(os["type"], "operating-system");
    EXPECT_EQ(os["version"], "12");

    const json& libssl = component_named(doc, "libssl3");
    EXPECT_EQ(libssl["type"], "library");
    EXPECT_EQ(libssl["bom-ref"], libssl["purl"]);
    EXPECT_EQ(property_of(libssl, "slate:deb:source"), "openssl");
    EXPECT_EQ(property_of(libssl, "slate:deb:source-version"), "3.0.11-1~deb12u2");
    EXPECT_EQ(property_of(libssl, "slate:deb:arch"), "amd64");
    EXPECT_EQ(property_of(libssl, "slate:location"), StatusPath);
    EXPECT_EQ(libssl["evidence"]["occurrences"][0]["location"], StatusPath);
    EXPECT_EQ(libssl["licenses"], json::parse(R"([{"expression":"Apache-2.0","acknowledgement":"declared"}])"));
    EXPECT_EQ(libssl["supplier"]["name"], "GNU Libc Maintainers");
    EXPECT_EQ(component_named(doc, "requests")["authors"][0]["email"], "me@example.org");
    EXPECT_EQ(component_named(doc, "github.com/spf13/cobra")["hashes"][0]["alg"], "SHA-256");
    // Not an expression: kept as a license name (declared is preferred, and valid here).
    EXPECT_EQ(component_named(doc, "libuuid1")["licenses"][0]["expression"],
              "GPL-2.0-or-later AND LicenseRef-util-linux-other");

    // The two copies of six: distinct bom-refs, the second marked.
    std::vector<std::string> six;
    for (const auto& c : doc["components"])
        if (c["name"] == "six") six.push_back(c["bom-ref"]);
    EXPECT_EQ(six, (std::vector<std::string>{"pkg:pypi/six@1.16.0", "pkg:pypi/six@1.16.0?package-id=2"}));

    std::map<std::string, json> depends;
    for (const auto& d : doc["dependencies"]) depends[d["ref"]] = d.value("dependsOn", json::array());
    EXPECT_EQ(depends[image["bom-ref"]].size(), catalog.packages.size() + 1) << "the image holds the OS and every package";
    std::string libc_amd64;
    for (const auto& c : doc["components"])
        if (c["name"] == "libc6" && property_of(c, "slate:deb:arch") == "amd64") libc_amd64 = c["bom-ref"];
    EXPECT_EQ(depends[component_named(doc, "openssl")["bom-ref"]], json::array({libc_amd64, libssl["bom-ref"]}));
    EXPECT_EQ(depends[component_named(doc, "requests")["bom-ref"]], json::array({"pkg:pypi/urllib3@2.0.7"}));
}

TEST_F(CycloneDxDocument, FilesBecomeFileComponents) {
    Catalog catalog = realistic_catalog();
    json doc = json::parse(to_cyclonedx_json(catalog, with_files(true)));
    const json& status = component_named(doc, StatusPath);
    EXPECT_EQ(status["type"], "file");
    EXPECT_EQ(status["hashes"], json::parse(R"([{"alg":"SHA-1","content":")" + hex_of('4', 40) +
                                            R"("},{"alg":"SHA-256","content":")" + hex_of('3', 64) + R"("}])"));
    json plain = json::parse(to_cyclonedx_json(catalog));
    for (const auto& c : plain["components"]) EXPECT_NE(c["type"], "file");
}

TEST_F(CycloneDxDocument, IndexLinksThePlatformBoms) {
    Catalog amd64 = realistic_catalog();
    std::string text = to_cyclonedx_json(amd64);
    std::vector<PlatformDocument> platforms{{amd64.subject, json::parse(text)["serialNumber"], util::sha256_hex(text), ""}};
    Subject index{"127.0.0.1:5000/app", "sha256:" + hex_of('e', 64), "", ""};
    std::string index_text = to_cyclonedx_index_json(index, Epoch, platforms);
    expect_valid(index_text);
    json doc = json::parse(index_text);
    const json& reference = doc["components"][0]["externalReferences"][0];
    EXPECT_EQ(reference["type"], "bom");
    EXPECT_EQ(reference["url"], "urn:cdx:" + cyclonedx_serial(amd64).substr(9) + "/1");
    EXPECT_EQ(reference["hashes"][0]["content"], util::sha256_hex(text));
    EXPECT_EQ(doc["components"][0]["bom-ref"], image_purl(amd64.subject));
}

// ---------------------------------------------------------------- both

TEST(SbomWriters, SameCatalogInAnyOrderGivesTheSameBytes) {
    Catalog catalog = realistic_catalog();
    std::string spdx = to_spdx_json(catalog, with_files(true));
    std::string cdx = to_cyclonedx_json(catalog, with_files(true));
    std::mt19937 random(42);
    for (int round = 0; round < 5; ++round) {
        Catalog shuffled = catalog;
        std::shuffle(shuffled.packages.begin(), shuffled.packages.end(), random);
        std::shuffle(shuffled.files.begin(), shuffled.files.end(), random);
        EXPECT_EQ(to_spdx_json(shuffled, with_files(true)), spdx);
        EXPECT_EQ(to_cyclonedx_json(shuffled, with_files(true)), cdx);
    }
    catalog.subject.digest.clear();  // identity from content: order-independent too
    Catalog shuffled = catalog;
    std::reverse(shuffled.packages.begin(), shuffled.packages.end());
    EXPECT_EQ(spdx_namespace(shuffled), spdx_namespace(catalog));
    EXPECT_EQ(to_cyclonedx_json(shuffled), to_cyclonedx_json(catalog));
}

TEST(SbomWriters, NamespacesAndSerialsIdentifyTheDocument) {
    Catalog catalog = realistic_catalog();
    std::regex uuid5("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    EXPECT_TRUE(std::regex_match(cyclonedx_serial(catalog), uuid5)) << cyclonedx_serial(catalog);
    EXPECT_TRUE(spdx_namespace(catalog).starts_with("https://spdx.org/spdxdocs/slate/127.0.0.1-5000-app-"));

    Catalog other = catalog;
    other.subject.digest = "sha256:" + hex_of('0', 64);
    EXPECT_NE(spdx_namespace(other), spdx_namespace(catalog));
    EXPECT_NE(cyclonedx_serial(other), cyclonedx_serial(catalog));
    // An image's documents are named by its subject alone: what an index names.
    EXPECT_EQ(spdx_namespace(catalog, with_files(true)), spdx_namespace(catalog.subject));
    EXPECT_EQ(cyclonedx_serial(catalog, with_files(true)), cyclonedx_serial(catalog.subject));
    // A directory: the content names it.
    catalog.subject.digest.clear();
    Catalog changed = catalog;
    changed.packages.pop_back();
    EXPECT_NE(spdx_namespace(changed), spdx_namespace(catalog));
    EXPECT_NE(cyclonedx_serial(changed), cyclonedx_serial(catalog));
    EXPECT_NE(spdx_namespace(catalog, with_files(true)), spdx_namespace(catalog));
    changed = catalog;
    changed.files.pop_back();
    EXPECT_NE(spdx_namespace(changed, with_files(true)), spdx_namespace(catalog, with_files(true)));
}

TEST(SbomWriters, NameBasedUuidMatchesPython) {
    for (std::string name : {"", "image\nnginx\nsha256:abc", "ü"}) {
        util::ProcessOptions options;
        options.stdin_data = name;
        auto result = util::run_process(
            {"python3", "-c",
             "import sys, uuid; print(uuid.uuid5(uuid.UUID('935f9dd1-aae9-54ab-8192-d2386182a31e'), "
             "sys.stdin.buffer.read().decode('utf-8')))"},
            options);
        ASSERT_EQ(result.exit_code, 0) << result.err;
        EXPECT_EQ(name_based_uuid(name) + "\n", result.out) << name;
    }
}

TEST(SbomWriters, LicenseExpressionSyntax) {
    for (const char* valid : {"MIT", "GPL-2.0+", "GPL-2.0-or-later AND LGPL-2.1-only", "MIT OR (Apache-2.0 AND BSD-3-Clause)",
                              "GPL-2.0-or-later WITH Classpath-exception-2.0", "LicenseRef-public-domain",
                              "DocumentRef-x:LicenseRef-y", "NOASSERTION", "NONE", "((MIT))"})
        EXPECT_TRUE(is_license_expression(valid)) << valid;
    for (const char* invalid : {"", "MIT AND", "AND MIT", "(MIT", "MIT)", "MIT Apache-2.0", "GPL version 2",
                                "MIT WITH", "LicenseRef-", "LicenseRef-a_b", "MIT/X11", "NOASSERTION AND MIT", "MIT OR OR"})
        EXPECT_FALSE(is_license_expression(invalid)) << invalid;
    EXPECT_EQ(license_refs("LicenseRef-a AND (MIT OR LicenseRef-b) AND LicenseRef-a"),
              (std::vector<std::string>{"LicenseRef-a", "LicenseRef-b"}));
}

TEST(SbomWriters, ImagePurl) {
    EXPECT_EQ(image_purl({"python", "sha256:" + hex_of('1', 64), "linux/arm64/v8", ""}),
              "pkg:oci/python@sha256:" + hex_of('1', 64) + "?arch=arm64");
    EXPECT_EQ(image_purl({"registry.example.org/Team/App:2", "sha256:" + hex_of('1', 64), "", ""}),
              "pkg:oci/app@sha256:" + hex_of('1', 64) + "?repository_url=registry.example.org/Team/App");
    EXPECT_EQ(image_purl({"/srv/rootfs", "", "", ""}), "");
}

}  // namespace
}  // namespace slate::sbom
