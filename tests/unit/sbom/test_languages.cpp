// Language catalogers against real artifacts of this machine: Go binaries
// (Debian's docker-registry, module-mode binaries of the Google Cloud CLI when
// installed), Python distributions in /usr/lib/python3/dist-packages, jars in
// /usr/share/java, and real package.json files committed under data/npm/.
// Go results are checked against `strings` (an independent reading of the
// same build info text); the pre-1.18 pointer format, which no binary here
// uses, is checked on ELF files built byte by byte.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "slate/sbom/languages.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::sbom {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() { return test::source_dir() / "tests" / "unit" / "sbom" / "data"; }

TreeEntry file_entry(std::uint64_t size, std::uint32_t mode = 0644) {
    TreeEntry entry;
    entry.type = TreeEntry::Type::File;
    entry.size = size;
    entry.mode = mode;
    return entry;
}

void add_file(FileTree& tree, const std::string& path, std::string content) {
    tree.add(path, file_entry(content.size()));
    tree.keep(path, std::move(content));
}

const Package* find_package(const std::vector<Package>& packages, std::string_view name) {
    for (const Package& package : packages)
        if (package.name == name) return &package;
    return nullptr;
}

// --- What is kept and inspected ----------------------------------------------

TEST(LanguageKeeps, MetadataFilesOnly) {
    TreeEntry file = file_entry(100);
    EXPECT_TRUE(language_keeps("/usr/lib/python3/dist-packages/attrs-22.2.0.dist-info/METADATA", file));
    EXPECT_TRUE(language_keeps("/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", file));
    EXPECT_TRUE(language_keeps("/usr/lib/python2.7/dist-packages/foo-1.0.egg-info", file));
    EXPECT_TRUE(language_keeps("/app/node_modules/is-number/package.json", file));
    EXPECT_TRUE(language_keeps("/app/node_modules/@types/node/package.json", file));
    EXPECT_TRUE(language_keeps("/app/node_modules/a/node_modules/b/package.json", file));

    EXPECT_FALSE(language_keeps("/app/package.json", file));
    EXPECT_FALSE(language_keeps("/app/node_modules/is-number/test/fixtures/package.json", file));
    EXPECT_FALSE(language_keeps("/app/node_modules/@types/package.json", file));
    EXPECT_FALSE(language_keeps("/app/node_modules/.bin/package.json", file));
    EXPECT_FALSE(language_keeps("/usr/lib/python3/dist-packages/attrs-22.2.0.dist-info/RECORD", file));
    EXPECT_FALSE(language_keeps("/usr/lib/python3/dist-packages/attrs/METADATA", file));

    TreeEntry dir;
    dir.type = TreeEntry::Type::Directory;
    EXPECT_FALSE(language_keeps("/usr/lib/python3/dist-packages/six-1.16.0.egg-info", dir));
}

TEST(LanguageInspects, ExecutablesAndArchives) {
    EXPECT_TRUE(language_inspects("/usr/local/bin/tool", file_entry(4096, 0755)));
    EXPECT_TRUE(language_inspects("/opt/app/server", file_entry(4096, 0700)));
    EXPECT_TRUE(language_inspects("/usr/local/go/bin/gofmt", file_entry(4096, 0644)));  // under bin/, no exec bit
    EXPECT_TRUE(language_inspects("/opt/app/lib/app.jar", file_entry(10)));
    EXPECT_TRUE(language_inspects("/srv/ROOT.WAR", file_entry(10)));

    EXPECT_FALSE(language_inspects("/usr/local/bin/tiny", file_entry(1023, 0755)));
    EXPECT_FALSE(language_inspects("/etc/passwd", file_entry(4096, 0644)));
    TreeEntry link = file_entry(4096, 0777);
    link.type = TreeEntry::Type::Symlink;
    EXPECT_FALSE(language_inspects("/usr/bin/tool", link));
}

// --- Python ------------------------------------------------------------------

const fs::path k_dist_packages = "/usr/lib/python3/dist-packages";

// Every *.dist-info / *.egg-info of dist-packages, put into a tree at the
// same paths.
FileTree dist_packages_tree() {
    FileTree tree;
    for (const auto& entry : fs::directory_iterator(k_dist_packages)) {
        std::string name = entry.path().filename();
        if (name.ends_with(".dist-info")) {
            fs::path metadata = entry.path() / "METADATA";
            if (fs::exists(metadata)) add_file(tree, metadata, util::read_file(metadata));
        } else if (name.ends_with(".egg-info")) {
            fs::path metadata = entry.is_directory() ? entry.path() / "PKG-INFO" : entry.path();
            if (fs::is_regular_file(metadata)) add_file(tree, metadata, util::read_file(metadata));
        }
    }
    return tree;
}

TEST(LangPython, DistPackagesOfThisMachine) {
    if (!fs::exists(k_dist_packages / "jsonschema-4.10.3.dist-info"))
        GTEST_SKIP() << "python3-jsonschema 4.10.3 (bookworm) is not installed";
    FileTree tree = dist_packages_tree();
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_languages(tree, warnings);
    EXPECT_TRUE(warnings.empty()) << warnings.front().path << ": " << warnings.front().message;
    ASSERT_GE(packages.size(), 10u);

    // Each name and version agrees with the directory it came from
    // ("PyYAML-6.0.dist-info", "python_apt-2.6.0.egg-info").
    for (const Package& package : packages) {
        EXPECT_EQ(package.type, PackageType::Python);
        ASSERT_EQ(package.evidence.size(), 1u);
        std::string dir = fs::path(package.evidence[0].path).parent_path().filename();
        if (dir == "dist-packages") dir = fs::path(package.evidence[0].path).filename();
        std::string stem = dir.substr(0, dir.rfind('.'));
        auto dash = stem.find('-');
        if (dash == std::string::npos) continue;  // "cryptography.egg-info" has no version in its name
        std::string dir_name = stem.substr(0, dash);
        std::string name = package.name;
        std::replace(name.begin(), name.end(), '-', '_');
        std::replace(dir_name.begin(), dir_name.end(), '-', '_');
        EXPECT_EQ(dir_name, name) << dir;
        EXPECT_EQ(stem.substr(dash + 1), package.version) << dir;
        EXPECT_EQ(package.evidence[0].size, util::read_file(package.evidence[0].path).size());
        EXPECT_EQ(package.evidence[0].sha256.size(), 64u);
    }

    const Package* jsonschema = find_package(packages, "jsonschema");
    ASSERT_NE(jsonschema, nullptr);
    EXPECT_EQ(jsonschema->version, "4.10.3");
    EXPECT_EQ(jsonschema->purl, "pkg:pypi/jsonschema@4.10.3");
    EXPECT_EQ(jsonschema->license_declared, "MIT");
    EXPECT_EQ(jsonschema->description, "An implementation of JSON Schema validation for Python");
    EXPECT_EQ(jsonschema->maintainer, "Julian Berman <Julian+jsonschema@GrayVines.com>");
    EXPECT_EQ(jsonschema->homepage, "https://github.com/python-jsonschema/jsonschema");  // Project-URL: Homepage, ...

    // Licences as the metadata declares them.
    std::map<std::string, std::string> expected{
        {"PyYAML", "MIT"},                                   // License: MIT
        {"blinker", "MIT"},                                  // License: MIT License
        {"distro", "Apache-2.0"},                            // License: Apache License, Version 2.0
        {"pyparsing", "MIT"},                                // no License field: the classifier
        {"Pygments", "BSD-2-Clause"},                        // License: BSD-2-Clause
        {"dbus-python", "MIT"},                              // "Expat (MIT/X11)": its one classifier
        {"PyGObject", "LGPL-2.0-or-later"},                  // "GNU LGPL": classifier LGPLv2+
        {"oauthlib", "LicenseRef-BSD"},                      // "BSD" says not which BSD licence
        {"lazr.uri", "LicenseRef-LGPL-v3"},                  // "LGPL v3" says not "only" or "or later"
    };
    for (const auto& [name, license] : expected) {
        const Package* package = find_package(packages, name);
        if (!package) continue;  // not installed here
        EXPECT_EQ(package->license_declared, license) << name;
        EXPECT_EQ(package->license_concluded, "NOASSERTION") << name;
    }
    const Package* cryptography = find_package(packages, "cryptography");
    ASSERT_NE(cryptography, nullptr);
    EXPECT_EQ(cryptography->license_declared, "BSD-3-Clause OR Apache-2.0");
    const Package* pyyaml = find_package(packages, "PyYAML");
    ASSERT_NE(pyyaml, nullptr);
    EXPECT_EQ(pyyaml->purl, "pkg:pypi/pyyaml@6.0");
    EXPECT_EQ(pyyaml->homepage, "https://pyyaml.org/");
}

TEST(LangPython, CoreMetadata24) {
    // A metadata 2.4 header block with License-Expression, folded lines and
    // Project-URL, as written by current build backends.
    std::string metadata =
        "Metadata-Version: 2.4\r\n"
        "Name: example_pkg\r\n"
        "Version: 1.2.3\r\n"
        "Summary: An example\r\n"
        "Author-email: Jane Doe <jane@example.org>\r\n"
        "License-Expression: apache-2.0 or mit\r\n"
        "License-File: LICENSE\r\n"
        "Classifier: License :: OSI Approved :: MIT License\r\n"
        "Project-URL: Homepage, https://example.org/pkg\r\n"
        "Description-Content-Type: text/markdown\r\n"
        "\r\n"
        "Version: 9.9 (the body is not headers)\r\n";
    std::vector<Warning> warnings;
    auto package = python_package("/site-packages/example_pkg-1.2.3.dist-info/METADATA", metadata, warnings);
    ASSERT_TRUE(package);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(package->name, "example_pkg");
    EXPECT_EQ(package->version, "1.2.3");
    EXPECT_EQ(package->purl, "pkg:pypi/example-pkg@1.2.3");
    EXPECT_EQ(package->license_declared, "Apache-2.0 OR MIT");
    EXPECT_EQ(package->maintainer, "Jane Doe <jane@example.org>");
    EXPECT_EQ(package->homepage, "https://example.org/pkg");
    EXPECT_EQ(package->description, "An example");

    // A License field holding the licence text itself is no licence name.
    std::string text_license =
        "Metadata-Version: 2.1\nName: t\nVersion: 1\nLicense: Copyright (c) 2020 Someone\n"
        "        Permission is hereby granted, free of charge, to any person\n\n";
    package = python_package("/x/t-1.dist-info/METADATA", text_license, warnings);
    ASSERT_TRUE(package);
    EXPECT_EQ(package->license_declared, "NOASSERTION");
}

TEST(LangPython, MetadataWithoutVersionIsAWarning) {
    FileTree tree;
    add_file(tree, "/usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA",
             "Metadata-Version: 2.1\nName: broken\nSummary: no version\n");
    add_file(tree, "/usr/lib/python3/dist-packages/empty.egg-info", "");
    add_file(tree, "/usr/lib/python3/dist-packages/good-2.0.dist-info/METADATA",
             "Metadata-Version: 2.1\nName: good\nVersion: 2.0\nLicense: PSF\n");
    std::vector<Warning> warnings;
    auto packages = catalog_languages(tree, warnings);
    ASSERT_EQ(packages.size(), 1u);
    EXPECT_EQ(packages[0].name, "good");
    EXPECT_EQ(packages[0].license_declared, "PSF-2.0");
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_EQ(warnings[0].path, "/usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA");
    EXPECT_NE(warnings[0].message.find("no Version field"), std::string::npos) << warnings[0].message;
    EXPECT_EQ(warnings[1].path, "/usr/lib/python3/dist-packages/empty.egg-info");
    EXPECT_NE(warnings[1].message.find("no Name field"), std::string::npos) << warnings[1].message;
}

// --- npm ---------------------------------------------------------------------

TEST(LangNpm, RealPackageJsonFiles) {
    FileTree tree;
    for (const char* name : {"is-number", "@sindresorhus/is", "json-schema"}) {
        add_file(tree, std::string("/app/node_modules/") + name + "/package.json",
                 util::read_file(data_dir() / "npm" / name / "package.json"));
    }
    // A test fixture inside a package is not a package.
    add_file(tree, "/app/node_modules/is-number/test/fixtures/package.json",
             R"({"name": "fixture", "version": "0.0.0"})");
    std::vector<Warning> warnings;
    auto packages = catalog_languages(tree, warnings);
    EXPECT_TRUE(warnings.empty());
    ASSERT_EQ(packages.size(), 3u);

    const Package* scoped = find_package(packages, "@sindresorhus/is");
    ASSERT_NE(scoped, nullptr);
    EXPECT_EQ(scoped->type, PackageType::Npm);
    EXPECT_EQ(scoped->version, "4.6.0");
    EXPECT_EQ(scoped->purl, "pkg:npm/%40sindresorhus/is@4.6.0");
    EXPECT_EQ(scoped->license_declared, "MIT");
    EXPECT_EQ(scoped->maintainer, "Sindre Sorhus <sindresorhus@gmail.com>");  // the object form
    EXPECT_EQ(scoped->description, "Type check values");
    ASSERT_EQ(scoped->evidence.size(), 1u);
    EXPECT_EQ(scoped->evidence[0].path, "/app/node_modules/@sindresorhus/is/package.json");

    const Package* is_number = find_package(packages, "is-number");
    ASSERT_NE(is_number, nullptr);
    EXPECT_EQ(is_number->version, "7.0.0");
    EXPECT_EQ(is_number->purl, "pkg:npm/is-number@7.0.0");
    EXPECT_EQ(is_number->maintainer, "Jon Schlinkert (https://github.com/jonschlinkert)");
    EXPECT_EQ(is_number->homepage, "https://github.com/jonschlinkert/is-number");

    // The deprecated "licenses" array: alternatives, each mapped or a LicenseRef.
    const Package* json_schema = find_package(packages, "json-schema");
    ASSERT_NE(json_schema, nullptr);
    EXPECT_EQ(json_schema->license_declared, "AFL-2.1 OR LicenseRef-BSD");
    EXPECT_EQ(json_schema->maintainer, "Kris Zyp");
}

TEST(LangNpm, PackageJsonThatIsNotJsonIsAWarning) {
    FileTree tree;
    add_file(tree, "/app/node_modules/aaa/package.json", "{\"name\": \"aaa\", \"version\": ");  // cut short
    add_file(tree, "/app/node_modules/bbb/package.json", "[1, 2]");
    add_file(tree, "/app/node_modules/ccc/package.json", R"({"name": "ccc"})");
    add_file(tree, "/app/node_modules/is-number/package.json",
             util::read_file(data_dir() / "npm" / "is-number" / "package.json"));
    std::vector<Warning> warnings;
    auto packages = catalog_languages(tree, warnings);
    ASSERT_EQ(packages.size(), 1u);
    EXPECT_EQ(packages[0].name, "is-number");
    ASSERT_EQ(warnings.size(), 3u);
    EXPECT_EQ(warnings[0].path, "/app/node_modules/aaa/package.json");
    EXPECT_NE(warnings[0].message.find("not a JSON object"), std::string::npos);
    EXPECT_EQ(warnings[1].path, "/app/node_modules/bbb/package.json");
    EXPECT_NE(warnings[2].message.find("\"version\""), std::string::npos) << warnings[2].message;
}

TEST(LangNpm, LicenseForms) {
    std::vector<Warning> warnings;
    auto license_of = [&](const std::string& license_json) {
        auto package = npm_package("/n/package.json",
                                   R"({"name": "x", "version": "1.0.0", )" + license_json + "}", warnings);
        return package ? package->license_declared : std::string("(none)");
    };
    EXPECT_EQ(license_of(R"j("license": "(MIT OR Apache-2.0)")j"), "(MIT OR Apache-2.0)");
    EXPECT_EQ(license_of(R"("license": {"type": "ISC", "url": "https://opensource.org/licenses/ISC"})"), "ISC");
    EXPECT_EQ(license_of(R"("license": "GPL-3.0")"), "GPL-3.0-only");  // the deprecated id's meaning
    EXPECT_EQ(license_of(R"("license": "SEE LICENSE IN LICENSE.md")"), "NOASSERTION");
    EXPECT_EQ(license_of(R"("license": "UNLICENSED")"), "LicenseRef-UNLICENSED");
    EXPECT_EQ(license_of(R"("license": 42)"), "NOASSERTION");
    EXPECT_TRUE(warnings.empty());
}

// --- Go ----------------------------------------------------------------------

struct StringsModinfo {
    std::set<std::string> paths;                 // "path" lines
    std::set<std::string> mods;                  // "mod" lines: "<path> <version>"
    std::set<std::pair<std::string, std::string>> deps;  // "dep" lines: path, version
};

// The module info lines as `strings` prints them out of the binary.
StringsModinfo strings_modinfo(const fs::path& binary) {
    auto result = util::run_process({"strings", "-n", "4", binary.string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    StringsModinfo out;
    std::regex line(R"(^(path|mod|dep)\t([^\t]+)(\t([^\t]+)(\t[^\t]*)?)?$)");
    std::size_t start = 0;
    while (start < result.out.size()) {
        std::size_t end = result.out.find('\n', start);
        if (end == std::string::npos) end = result.out.size();
        std::string text = result.out.substr(start, end - start);
        start = end + 1;
        std::smatch m;
        if (!std::regex_match(text, m, line)) continue;
        if (m[1] == "path" && !m[3].matched) out.paths.insert(m[2]);
        if (m[1] == "mod" && m[3].matched) out.mods.insert(m[2].str() + " " + m[4].str());
        if (m[1] == "dep" && m[3].matched) out.deps.emplace(m[2], m[4]);
    }
    return out;
}

TEST(LangGo, DebianDockerRegistry) {
    fs::path binary = "/usr/bin/docker-registry";
    if (!fs::exists(binary) || !util::find_program("strings")) GTEST_SKIP() << "docker-registry or strings is absent";
    std::string content = util::read_file(binary);
    std::vector<std::string> problems;
    auto info = read_go_buildinfo(content, problems);
    ASSERT_TRUE(info);
    EXPECT_TRUE(problems.empty());
    EXPECT_EQ(info->path, "github.com/docker/distribution/cmd/registry");
    EXPECT_EQ(strings_modinfo(binary).paths, std::set<std::string>{info->path});
    // Debian builds Go in GOPATH mode: no main module, no module deps.
    EXPECT_FALSE(info->main);
    EXPECT_TRUE(info->deps.empty());
    EXPECT_TRUE(std::regex_match(info->go_version, std::regex(R"(go1\.\d+(\.\d+)?)"))) << info->go_version;
    EXPECT_NE(content.find(info->go_version), std::string::npos);
    auto settings = std::map<std::string, std::string>(info->settings.begin(), info->settings.end());
    EXPECT_EQ(settings["GOOS"], "linux");
    EXPECT_EQ(settings["-compiler"], "gc");

    BinaryFindings findings = inspect_binary("/usr/bin/docker-registry", content);
    EXPECT_TRUE(findings.warnings.empty());
    ASSERT_EQ(findings.packages.size(), 1u);  // the standard library
    const Package& stdlib = findings.packages[0];
    EXPECT_EQ(stdlib.name, "stdlib");
    EXPECT_EQ(stdlib.version, info->go_version);
    EXPECT_EQ(stdlib.purl, "pkg:golang/stdlib@" + info->go_version.substr(2));
    ASSERT_EQ(stdlib.evidence.size(), 1u);
    EXPECT_EQ(stdlib.evidence[0].path, "/usr/bin/docker-registry");
    EXPECT_EQ(stdlib.evidence[0].size, content.size());

    // Without section headers (as after `strip --strip-section-headers`),
    // the header is found by scanning the data segment.
    std::string stripped = content;
    std::fill_n(stripped.begin() + 0x28, 8, '\0');  // e_shoff
    std::fill_n(stripped.begin() + 0x3c, 4, '\0');  // e_shnum, e_shstrndx
    auto scanned = read_go_buildinfo(stripped, problems);
    ASSERT_TRUE(scanned);
    EXPECT_EQ(scanned->path, info->path);
    EXPECT_EQ(scanned->go_version, info->go_version);
}

// Module-mode binaries of the Google Cloud CLI, when this machine has them.
TEST(LangGo, ModuleBinariesAgreeWithStrings) {
    if (!util::find_program("strings")) GTEST_SKIP() << "strings is absent";
    int checked = 0;
    for (const char* name : {"cbt", "kpt", "kubectl"}) {
        auto program = util::find_program(name);
        if (!program) continue;
        fs::path binary = fs::canonical(*program);
        std::string content = util::read_file(binary);
        std::vector<std::string> problems;
        auto info = read_go_buildinfo(content, problems);
        if (!info || !info->main) continue;  // a wrapper script or a GOPATH build
        ++checked;
        EXPECT_TRUE(problems.empty()) << name;
        StringsModinfo expected = strings_modinfo(binary);
        EXPECT_EQ(expected.mods, std::set<std::string>{info->main->path + " " + info->main->version}) << name;
        std::set<std::pair<std::string, std::string>> deps;
        for (const GoModule& dep : info->deps) deps.emplace(dep.path, dep.version);
        EXPECT_EQ(deps, expected.deps) << name;
        EXPECT_GT(deps.size(), 20u) << name;

        BinaryFindings findings = inspect_binary(binary.string(), content);
        EXPECT_TRUE(findings.warnings.empty());
        ASSERT_EQ(findings.packages.size(), info->deps.size() + 2) << name;  // stdlib, main, deps
        const Package* main = find_package(findings.packages, info->main->path);
        ASSERT_NE(main, nullptr);
        EXPECT_EQ(main->version, info->main->version);  // "(devel)" stays as is
        EXPECT_EQ(main->depends.size(), info->deps.size());
        EXPECT_EQ(main->purl.rfind("pkg:golang/" + info->main->path + "@", 0), 0u) << main->purl;
        for (const Package& package : findings.packages) {
            EXPECT_EQ(package.type, PackageType::Go);
            EXPECT_FALSE(package.version.empty()) << package.name;
        }
    }
    if (checked == 0) GTEST_SKIP() << "no module-mode Go binary (cbt, kpt, kubectl) is installed";
}

TEST(LangGo, ReplacedModules) {
    fs::path binary = "/usr/lib/google-cloud-sdk/bin/anthoscli";
    if (!fs::exists(binary)) GTEST_SKIP() << "anthoscli (google-cloud-cli-anthoscli) is not installed";
    std::string content = util::read_file(binary);
    BinaryFindings findings = inspect_binary(binary.string(), content);
    EXPECT_TRUE(findings.warnings.empty());
    // "dep google.golang.org/api v0.126.0" "=> google.golang.org/api v0.92.0":
    // the code in the binary is the replacement's.
    const Package* api = find_package(findings.packages, "google.golang.org/api");
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(api->version, "v0.92.0");
    EXPECT_EQ(api->purl, "pkg:golang/google.golang.org/api@v0.92.0");
    // "=> ./private_repos/..." is a directory: the module keeps its path.
    const Package* cnrm = find_package(findings.packages, "cnrm.googlesource.com/cnrm");
    ASSERT_NE(cnrm, nullptr);
    EXPECT_EQ(cnrm->version, "(devel)");
    for (const Package& package : findings.packages) EXPECT_FALSE(package.name.starts_with("./")) << package.name;
}

// --- Go: ELF files built byte by byte ---

const std::string k_sentinel_start("0w\xaf\x0c\x92t\x08\x02" "A\xe1\xc1\x07\xe6\xd6\x18\xe6", 16);
const std::string k_sentinel_end("\xf9" "2C1\x86\x18 r\x00\x82" "B\x10" "A\x16\xd8\xf2", 16);

void put(std::string& bytes, std::size_t offset, std::uint64_t value, unsigned width, bool big) {
    for (unsigned i = 0; i < width; ++i) {
        unsigned shift = 8 * (big ? width - 1 - i : i);
        bytes[offset + i] = static_cast<char>((value >> shift) & 0xff);
    }
}

void put_uvarint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out += static_cast<char>((value & 0x7f) | 0x80);
        value >>= 7;
    }
    out += static_cast<char>(value);
}

// An ELF executable with one writable PT_LOAD segment holding Go build info
// and no section headers, in the pre-1.18 pointer format (`inline_strings`
// false) or the 1.18+ inline one.
std::string make_go_elf(bool is64, bool big, const std::string& version, const std::string& modinfo_text,
                        bool inline_strings = false) {
    const unsigned ptr = is64 ? 8 : 4;
    const std::uint64_t base = 0x400000;
    const std::size_t header_at = 0x100;
    std::string modinfo = k_sentinel_start + modinfo_text + k_sentinel_end;
    std::string bytes(0x180, '\0');
    // ELF header.
    bytes.replace(0, 4, "\x7f" "ELF");
    bytes[4] = is64 ? 2 : 1;
    bytes[5] = big ? 2 : 1;
    bytes[6] = 1;
    put(bytes, 16, 2, 2, big);                           // e_type: EXEC
    put(bytes, 18, is64 ? 62 : 8, 2, big);               // e_machine: x86-64 / MIPS
    put(bytes, 20, 1, 4, big);                           // e_version
    std::size_t phoff = is64 ? 64 : 52;
    put(bytes, is64 ? 32 : 28, phoff, ptr, big);         // e_phoff
    put(bytes, is64 ? 52 : 40, phoff, 2, big);           // e_ehsize
    put(bytes, is64 ? 54 : 42, is64 ? 56 : 32, 2, big);  // e_phentsize
    put(bytes, is64 ? 56 : 44, 1, 2, big);               // e_phnum
    // Build info header.
    bytes.replace(header_at, 14, "\xff Go buildinf:");
    bytes[header_at + 14] = static_cast<char>(ptr);
    if (inline_strings) {
        bytes[header_at + 15] = 2;
        std::string strings;
        put_uvarint(strings, version.size());
        strings += version;
        put_uvarint(strings, modinfo.size());
        strings += modinfo;
        bytes.resize(header_at + 32);
        bytes += strings;
    } else {
        bytes[header_at + 15] = big ? 1 : 0;
        const std::size_t version_header = 0x140, modinfo_header = 0x150, data = 0x180;
        put(bytes, header_at + 16, base + version_header, ptr, big);
        put(bytes, header_at + 16 + ptr, base + modinfo_header, ptr, big);
        put(bytes, version_header, base + data, ptr, big);
        put(bytes, version_header + ptr, version.size(), ptr, big);
        put(bytes, modinfo_header, base + data + version.size(), ptr, big);
        put(bytes, modinfo_header + ptr, modinfo.size(), ptr, big);
        bytes += version + modinfo;
    }
    // The one PT_LOAD: the whole file at `base`, read-write.
    std::size_t ph = phoff;
    put(bytes, ph, 1, 4, big);  // p_type
    if (is64) {
        put(bytes, ph + 4, 6, 4, big);                // p_flags: R+W
        put(bytes, ph + 8, 0, 8, big);                // p_offset
        put(bytes, ph + 16, base, 8, big);            // p_vaddr
        put(bytes, ph + 32, bytes.size(), 8, big);    // p_filesz
        put(bytes, ph + 40, bytes.size(), 8, big);    // p_memsz
    } else {
        put(bytes, ph + 4, 0, 4, big);                // p_offset
        put(bytes, ph + 8, base, 4, big);             // p_vaddr
        put(bytes, ph + 16, bytes.size(), 4, big);    // p_filesz
        put(bytes, ph + 20, bytes.size(), 4, big);    // p_memsz
        put(bytes, ph + 24, 6, 4, big);               // p_flags
    }
    return bytes;
}

const std::string k_modinfo =
    "path\texample.com/tool/cmd/tool\n"
    "mod\texample.com/tool\t(devel)\t\n"
    "dep\tgithub.com/pkg/errors\tv0.9.1\th1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n"
    "dep\tgolang.org/x/sys\tv0.0.0-20190412213103-97732733099d\n"
    "=>\tgolang.org/x/sys\tv0.1.0\th1:abc=\n"
    "dep\texample.com/local\tv1.0.0\n"
    "=>\t../local\t\t\n"
    "build\t-compiler=gc\n";

TEST(LangGo, PointerFormatBothWidthsAndByteOrders) {
    for (bool is64 : {false, true}) {
        for (bool big : {false, true}) {
            for (bool inline_strings : {false, true}) {
                SCOPED_TRACE(testing::Message() << "64-bit " << is64 << " big-endian " << big << " inline "
                                                << inline_strings);
                std::string elf = make_go_elf(is64, big, "go1.16.15", k_modinfo, inline_strings);
                BinaryFindings findings = inspect_binary("/usr/local/bin/tool", elf);
                EXPECT_TRUE(findings.warnings.empty());
                std::map<std::string, std::string> versions;
                for (const Package& package : findings.packages) versions[package.name] = package.version;
                std::map<std::string, std::string> expected{
                    {"stdlib", "go1.16.15"},
                    {"example.com/tool", "(devel)"},
                    {"github.com/pkg/errors", "v0.9.1"},
                    {"golang.org/x/sys", "v0.1.0"},      // replaced by another version
                    {"example.com/local", "(devel)"},    // replaced by a directory
                };
                EXPECT_EQ(versions, expected);
                const Package* main = find_package(findings.packages, "example.com/tool");
                ASSERT_NE(main, nullptr);
                EXPECT_EQ(main->depends,
                          (std::vector<std::string>{"github.com/pkg/errors", "golang.org/x/sys", "example.com/local"}));
            }
        }
    }
}

TEST(LangGo, MalformedBuildInfoIsAWarning) {
    // The version's string header points outside every segment.
    std::string elf = make_go_elf(true, false, "go1.16.15", k_modinfo);
    put(elf, 0x140, 0x7fff0000, 8, false);
    BinaryFindings findings = inspect_binary("/usr/bin/broken", elf);
    EXPECT_TRUE(findings.packages.empty());
    ASSERT_EQ(findings.warnings.size(), 1u);
    EXPECT_EQ(findings.warnings[0].path, "/usr/bin/broken");
    EXPECT_NE(findings.warnings[0].message.find("Go version cannot be read"), std::string::npos)
        << findings.warnings[0].message;

    // An impossible pointer size.
    elf = make_go_elf(false, true, "go1.16.15", k_modinfo);
    elf[0x100 + 14] = 3;
    findings = inspect_binary("/usr/bin/broken", elf);
    ASSERT_EQ(findings.warnings.size(), 1u);
    EXPECT_NE(findings.warnings[0].message.find("pointer size of 3"), std::string::npos);

    // An inline length running past the end.
    elf = make_go_elf(true, false, "go1.21.0", k_modinfo, true);
    elf[0x120] = '\xff';  // the version's length: 16383
    elf[0x121] = '\x7f';
    findings = inspect_binary("/usr/bin/broken", elf);
    EXPECT_TRUE(findings.packages.empty());
    EXPECT_EQ(findings.warnings.size(), 1u);

    // Malformed lines are skipped; the rest is listed.
    elf = make_go_elf(true, false, "go1.21.0",
                      "path\tp\nmod\tp\tv1.0.0\t\ndep\tonly-one-column\n=>\tx\tv1\t\ndep\tok\tv2.0.0\t\n", true);
    findings = inspect_binary("/usr/bin/partial", elf);
    EXPECT_EQ(findings.packages.size(), 3u);  // stdlib, p, ok
    EXPECT_EQ(findings.warnings.size(), 2u);  // the one-column dep, the "=>" with nothing to replace
}

// Damaged binaries: every byte of a small synthetic one, and the build info
// of a real one, flipped or cut. Nothing may crash or read out of bounds;
// what is listed must have names.
TEST(LangGo, DamagedBinariesNeverCrash) {
    int warned = 0;
    for (bool is64 : {false, true}) {
        for (bool inline_strings : {false, true}) {
            const std::string elf = make_go_elf(is64, !is64, "go1.16.15", k_modinfo, inline_strings);
            for (std::size_t at = 0; at < elf.size(); ++at) {
                for (unsigned char value : {0x00, 0xff, 0x80}) {
                    std::string damaged = elf;
                    damaged[at] = static_cast<char>(static_cast<unsigned char>(damaged[at]) ^ value);
                    BinaryFindings findings = inspect_binary("/bin/x", damaged);
                    for (const Package& package : findings.packages) EXPECT_FALSE(package.name.empty());
                    warned += findings.warnings.empty() ? 0 : 1;
                }
            }
            for (std::size_t size = 0; size < elf.size(); ++size) {
                BinaryFindings findings = inspect_binary("/bin/x", std::string_view(elf).substr(0, size));
                warned += findings.warnings.empty() ? 0 : 1;
            }
        }
    }
    EXPECT_GT(warned, 100);

    fs::path binary = "/usr/bin/docker-registry";
    if (!fs::exists(binary)) return;
    std::string content = util::read_file(binary);
    const std::string magic("\xff Go buildinf:", 14);
    std::size_t header = content.find(magic);
    while (header != std::string::npos && header % 16 != 0) header = content.find(magic, header + 1);
    ASSERT_NE(header, std::string::npos);
    std::vector<std::string> problems;
    for (std::size_t at = header; at < header + 0x100 && at < content.size(); ++at) {
        for (unsigned char value : {0xff, 0x01, 0x80}) {
            content[at] = static_cast<char>(static_cast<unsigned char>(content[at]) ^ value);
            auto info = read_go_buildinfo(content, problems);
            if (info) {
                for (const GoModule& dep : info->deps) EXPECT_FALSE(dep.path.empty());
            }
            content[at] = static_cast<char>(static_cast<unsigned char>(content[at]) ^ value);
        }
    }
    for (std::size_t cut = header; cut < header + 0x100; cut += 7) {
        problems.clear();
        auto info = read_go_buildinfo(std::string_view(content).substr(0, cut), problems);
        EXPECT_FALSE(info && !problems.empty() && info->go_version.empty());
    }
}

TEST(LangGo, OtherFilesHaveNoFindings) {
    for (const char* path : {"/usr/bin/ls", "/usr/bin/env"}) {
        if (!fs::exists(path)) continue;
        BinaryFindings findings = inspect_binary(path, util::read_file(path));
        EXPECT_TRUE(findings.packages.empty()) << path;
        EXPECT_TRUE(findings.warnings.empty()) << path;
    }
    BinaryFindings script = inspect_binary("/usr/bin/script.sh", "#!/bin/sh\necho \xff Go buildinf:\n");
    EXPECT_TRUE(script.packages.empty());
    EXPECT_TRUE(script.warnings.empty());
}

// --- Java --------------------------------------------------------------------

const fs::path k_java = "/usr/share/java";

TEST(LangJava, CommonsIoFromPomProperties) {
    fs::path jar = k_java / "commons-io-2.11.0.jar";
    if (!fs::exists(jar)) GTEST_SKIP() << "libcommons-io-java 2.11.0 is not installed";
    std::string content = util::read_file(jar);
    BinaryFindings findings = inspect_binary("/usr/share/java/commons-io-2.11.0.jar", content);
    EXPECT_TRUE(findings.warnings.empty());
    ASSERT_EQ(findings.packages.size(), 1u);
    const Package& package = findings.packages[0];
    EXPECT_EQ(package.type, PackageType::Java);
    EXPECT_EQ(package.name, "commons-io");
    EXPECT_EQ(package.version, "2.11.0");
    EXPECT_EQ(package.purl, "pkg:maven/commons-io/commons-io@2.11.0");
    EXPECT_EQ(package.homepage, "https://commons.apache.org/proper/commons-io/");
    // The manifest's folded Bundle-Description, unfolded.
    EXPECT_EQ(package.description.rfind("The Apache Commons IO library contains utility classes, stream", 0), 0u)
        << package.description;
    ASSERT_EQ(package.evidence.size(), 1u);
    EXPECT_EQ(package.evidence[0].path, "/usr/share/java/commons-io-2.11.0.jar");
    EXPECT_EQ(package.evidence[0].size, content.size());

    fs::path cli = k_java / "commons-cli-1.5.0.jar";
    if (fs::exists(cli)) {
        findings = inspect_binary(cli.string(), util::read_file(cli));
        ASSERT_EQ(findings.packages.size(), 1u);
        EXPECT_EQ(findings.packages[0].purl, "pkg:maven/commons-cli/commons-cli@1.5.0");
    }
}

TEST(LangJava, ShadedJarListsEveryArtifact) {
    fs::path jar = k_java / "wagon-http-shaded-3.5.3.jar";
    if (!fs::exists(jar)) GTEST_SKIP() << "libwagon-http-java 3.5.3 is not installed";
    BinaryFindings findings = inspect_binary(jar.string(), util::read_file(jar));
    EXPECT_TRUE(findings.warnings.empty());
    std::set<std::string> purls;
    for (const Package& package : findings.packages) purls.insert(package.purl);
    EXPECT_EQ(purls, (std::set<std::string>{
                         "pkg:maven/commons-codec/commons-codec@1.15",
                         "pkg:maven/org.apache.httpcomponents/httpclient@4.5.14",
                         "pkg:maven/org.apache.httpcomponents/httpcore@4.4.16",
                         "pkg:maven/org.apache.maven.wagon/wagon-http-shared@3.5.3",
                         "pkg:maven/org.apache.maven.wagon/wagon-http@3.5.3",
                     }));
}

TEST(LangJava, ManifestOrFileNameWithoutPom) {
    fs::path aopalliance = k_java / "aopalliance-1.0.jar";
    if (fs::exists(aopalliance)) {
        // Its manifest names nothing: the file name does.
        BinaryFindings findings = inspect_binary(aopalliance.string(), util::read_file(aopalliance));
        EXPECT_TRUE(findings.warnings.empty());
        ASSERT_EQ(findings.packages.size(), 1u);
        EXPECT_EQ(findings.packages[0].name, "aopalliance");
        EXPECT_EQ(findings.packages[0].version, "1.0");
        EXPECT_EQ(findings.packages[0].purl, "");  // no Maven group is known
    }
    fs::path guice_jmx = k_java / "guice-jmx.jar";
    if (fs::exists(guice_jmx) && !fs::is_symlink(guice_jmx)) {
        BinaryFindings findings = inspect_binary(guice_jmx.string(), util::read_file(guice_jmx));
        ASSERT_EQ(findings.packages.size(), 1u);
        EXPECT_EQ(findings.packages[0].name, "guice-jmx");  // Bundle-Name
        EXPECT_EQ(findings.packages[0].version, "4.2.3");   // Bundle-Version
        EXPECT_EQ(findings.packages[0].license_declared, "Apache-2.0");  // Bundle-License's URL
        EXPECT_EQ(findings.packages[0].maintainer, "Google, Inc.");
    }
    if (!fs::exists(aopalliance) && !fs::exists(guice_jmx)) GTEST_SKIP() << "no pom-less jar here";
}

TEST(LangJava, TruncatedJarIsAWarning) {
    fs::path jar = k_java / "commons-io-2.11.0.jar";
    if (!fs::exists(jar)) GTEST_SKIP() << "libcommons-io-java 2.11.0 is not installed";
    std::string content = util::read_file(jar);
    BinaryFindings findings = inspect_binary("/app/lib/commons-io-2.11.0.jar", content.substr(0, content.size() / 2));
    ASSERT_FALSE(findings.warnings.empty());
    EXPECT_EQ(findings.warnings[0].path, "/app/lib/commons-io-2.11.0.jar");
    EXPECT_NE(findings.warnings[0].message.find("cannot read the Java archive"), std::string::npos)
        << findings.warnings[0].message;

    findings = inspect_binary("/app/lib/not-a.jar", "this is not a zip archive at all");
    EXPECT_TRUE(findings.packages.empty());
    ASSERT_EQ(findings.warnings.size(), 1u);

    // Cut anywhere: a warning or packages, never a crash.
    for (std::size_t size = 0; size < content.size(); size += content.size() / 97 + 1) {
        findings = inspect_binary("/app/lib/commons-io-2.11.0.jar", std::string_view(content).substr(0, size));
        EXPECT_FALSE(findings.warnings.empty()) << "cut at " << size;
        for (const Package& package : findings.packages) EXPECT_FALSE(package.name.empty());
    }
}

}  // namespace
}  // namespace slate::sbom
