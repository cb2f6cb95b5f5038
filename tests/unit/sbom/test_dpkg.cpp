#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "slate/sbom/dpkg.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"

namespace slate::sbom {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

constexpr const char* Dep5 = "Format: https://example.org/doc/packaging-manuals/copyright-format/1.0/\n\n";

void add_file(FileTree& tree, const std::string& path, std::string content) {
    TreeEntry entry;
    entry.type = TreeEntry::Type::File;
    entry.mode = 0644;
    entry.size = content.size();
    tree.add(path, entry);
    tree.keep(path, std::move(content));
}

void add_symlink(FileTree& tree, const std::string& path, std::string target) {
    TreeEntry entry;
    entry.type = TreeEntry::Type::Symlink;
    entry.mode = 0777;
    entry.link_target = std::move(target);
    tree.add(path, entry);
}

void add_dir(FileTree& tree, const std::string& path) {
    TreeEntry entry;
    entry.type = TreeEntry::Type::Directory;
    entry.mode = 0755;
    tree.add(path, entry);
}

const Package* find(const std::vector<Package>& packages, std::string_view name, std::string_view arch = {}) {
    for (const auto& p : packages)
        if (p.name == name && (arch.empty() || p.arch == arch)) return &p;
    return nullptr;
}

bool warned(const std::vector<Warning>& warnings, std::string_view path, std::string_view text) {
    return std::any_of(warnings.begin(), warnings.end(), [&](const Warning& w) {
        return w.path == path && w.message.find(text) != std::string::npos;
    });
}

std::string describe(const std::vector<Warning>& warnings) {
    std::string out;
    for (const auto& w : warnings) out += w.path + ": " + w.message + "\n";
    return out;
}

const OsInfo Bookworm{"debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"};

// --- os-release ----------------------------------------------------------------

TEST(OsRelease, ParsesShellQuoting) {
    OsInfo os = parse_os_release(
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
        "NAME=\"Debian GNU/Linux\"\n"
        "VERSION_ID=\"12\"\n"
        "VERSION=\"12 (bookworm)\"\n"
        "VERSION_CODENAME=bookworm\n"
        "ID=debian\n"
        "HOME_URL=\"https://example.org/\"\n");
    EXPECT_EQ(os.id, "debian");
    EXPECT_EQ(os.version_id, "12");
    EXPECT_EQ(os.version_codename, "bookworm");
    EXPECT_EQ(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");

    OsInfo quoted = parse_os_release(
        "# a comment\n"
        "\n"
        "  ID='debian'\n"
        "PRETTY_NAME=\"A \\\"quoted\\\" \\$name \\\\ and \\n kept\"\n"
        "VERSION_CODENAME=with\\ space\n"
        "VERSION_ID='1'\"2\"3 ignored words\n"
        "not a line\n"
        "lowercase=x\n"
        "=nothing\n");
    EXPECT_EQ(quoted.id, "debian");
    EXPECT_EQ(quoted.pretty_name, "A \"quoted\" $name \\ and \\n kept");
    EXPECT_EQ(quoted.version_codename, "with space");
    EXPECT_EQ(quoted.version_id, "123");
}

TEST(OsRelease, TestingHasNoVersionId) {
    OsInfo os = parse_os_release(
        "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\nID=debian\n");
    EXPECT_EQ(os.id, "debian");
    EXPECT_EQ(os.version_id, "");
    EXPECT_EQ(os.version_codename, "trixie");
    // An unterminated quote keeps what it held; binary junk does not crash.
    EXPECT_EQ(parse_os_release("ID=\"debi").id, "debi");
    EXPECT_TRUE(parse_os_release(std::string("\0\xff=\n\x01", 5)).empty());
}

TEST(OsRelease, ReadFollowsTheEtcLink) {
    FileTree tree;
    add_file(tree, "/usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
    EXPECT_EQ(read_os_release(tree).version_id, "12");  // no /etc/os-release: the fallback
    add_symlink(tree, "/etc/os-release", "../usr/lib/os-release");
    EXPECT_EQ(read_os_release(tree).id, "debian");
    add_file(tree, "/etc/os-release", "ID=other\n");
    EXPECT_EQ(read_os_release(tree).id, "other");
    EXPECT_TRUE(read_os_release(FileTree{}).empty());
}

TEST(DpkgKeeps, TheFilesTheCatalogerReads) {
    EXPECT_TRUE(dpkg_keeps("/var/lib/dpkg/status"));
    EXPECT_TRUE(dpkg_keeps("/var/lib/dpkg/status.d/libc6"));
    EXPECT_TRUE(dpkg_keeps("/var/lib/dpkg/status.d/python3.11"));
    EXPECT_TRUE(dpkg_keeps("/usr/share/doc/libc6/copyright"));
    EXPECT_TRUE(dpkg_keeps("/etc/os-release"));
    EXPECT_TRUE(dpkg_keeps("/usr/lib/os-release"));
    EXPECT_FALSE(dpkg_keeps("/var/lib/dpkg/status-old"));
    EXPECT_FALSE(dpkg_keeps("/var/lib/dpkg/status.d/libc6.md5sums"));
    EXPECT_FALSE(dpkg_keeps("/var/lib/dpkg/status.d/sub/x"));
    EXPECT_FALSE(dpkg_keeps("/var/lib/dpkg/status.d/"));
    EXPECT_FALSE(dpkg_keeps("/var/lib/dpkg/info/libc6:amd64.list"));
    EXPECT_FALSE(dpkg_keeps("/usr/share/doc/copyright"));
    EXPECT_FALSE(dpkg_keeps("/usr/share/doc/libc6/examples/copyright"));
    EXPECT_FALSE(dpkg_keeps("/usr/share/doc/libc6/changelog.Debian.gz"));
}

// --- A hand-written status file --------------------------------------------------

const char* const EdgeStatus =
    "Package: bsdutils\n"
    "Essential: yes\n"
    "Status: install ok installed\n"
    "Priority: required\n"
    "Installed-Size: 334\n"
    "Maintainer: util-linux packagers <util-linux@packages.example.org>\n"
    "Architecture: amd64\n"
    "Multi-Arch: foreign\n"
    "Source: util-linux (2.38.1-5)\n"
    "Version: 1:2.38.1-5+b1\n"
    "Pre-Depends: libc6 (>= 2.34), libsystemd0\n"
    "Description: basic utilities from 4.4BSD-Lite\n"
    " This package contains the bare minimum of BSD utilities.\n"
    "Homepage: https://example.org/util-linux\n"
    "\n"
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Installed-Size: 12987\n"
    "Maintainer: GNU Libc Maintainers <debian-glibc@lists.example.org>\n"
    "Architecture: amd64\n"
    "Multi-Arch: same\n"
    "Source: glibc\n"
    "Version: 2.36-9+deb12u4\n"
    "Depends: libgcc-s1\n"
    "Description: GNU C Library: Shared libraries\n"
    "\n"
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Architecture: i386\n"
    "Source: glibc\n"
    "Version: 2.36-9+deb12u4\n"
    "\n"
    "Package: libgcc-s1\n"
    "Status: hold ok installed\n"
    "Architecture: amd64\n"
    "Source: gcc-12 (12.2.0-14)\n"
    "Version: 12.2.0-14\n"
    "Depends: gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)\n"
    "\n"
    "Package: bash\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Source: bash (5.2.15-2)\n"
    "Version: 5.2.15-2+b2\n"
    "Installed-Size: lots\n"
    "Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)\n"
    "Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)\n"
    "\n"
    "Package: debianutils\n"
    "Status: install ok triggers-pending\n"
    "Architecture: amd64\n"
    "Version: 5.7-0.5~deb12u1\n"
    "Source: debianutils\n"
    "Depends: sensible-utils | editor:any, libc6:any [amd64] (>= 2.34) <!nocheck>\n"
    "\n"
    "Package: nano\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 7.2-1\n"
    "Provides: editor\n"
    "\n"
    "Package: removed\n"
    "Status: deinstall ok config-files\n"
    "Architecture: amd64\n"
    "Version: 1.0\n"
    "\n"
    "Package: half\n"
    "Status: install reinstreq half-installed\n"
    "Architecture: amd64\n"
    "Version: 1.0\n"
    "\n"
    "Package: unpacked\n"
    "Status: install ok unpacked\n"
    "Architecture: all\n"
    "Version: 1.0\n";

FileTree edge_tree() {
    FileTree tree;
    add_dir(tree, "/");
    add_file(tree, "/var/lib/dpkg/status", EdgeStatus);
    add_file(tree, "/usr/share/doc/libc6/copyright", "Free-form text: GNU C Library, LGPL.\n");
    add_file(tree, "/usr/share/doc/gcc-12-base/copyright",
             std::string(Dep5) + "Files: *\nLicense: GPL-3+ with GCC-Runtime-3.1 exception\n");
    add_symlink(tree, "/usr/share/doc/libgcc-s1", "gcc-12-base");  // dh_installdocs --link-doc
    add_file(tree, "/usr/share/doc/bsdutils/copyright",
             std::string(Dep5) + "Files: *\nLicense: GPL-2+\n\nFiles: login-utils/*\nLicense: BSD-3-clause\n");
    add_file(tree, "/usr/share/doc/nano/copyright", std::string(Dep5) + "Files: *\nLicense: GPL-3+\n");
    add_symlink(tree, "/usr/share/doc/debianutils", "/usr/share/doc/missing");  // dangling
    return tree;
}

TEST(CatalogDpkg, StatusFieldsAndEdgeCases) {
    FileTree tree = edge_tree();
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);

    std::vector<std::tuple<std::string, std::string, std::string>> listed;
    for (const auto& p : packages) listed.emplace_back(p.name, p.arch, p.version);
    EXPECT_EQ(listed, (std::vector<std::tuple<std::string, std::string, std::string>>{
                          {"bash", "amd64", "5.2.15-2+b2"},
                          {"bsdutils", "amd64", "1:2.38.1-5+b1"},
                          {"debianutils", "amd64", "5.7-0.5~deb12u1"},
                          {"libc6", "amd64", "2.36-9+deb12u4"},
                          {"libc6", "i386", "2.36-9+deb12u4"},
                          {"libgcc-s1", "amd64", "12.2.0-14"},
                          {"nano", "amd64", "7.2-1"},
                      }));

    const Package* bsdutils = find(packages, "bsdutils");
    ASSERT_NE(bsdutils, nullptr);
    EXPECT_EQ(bsdutils->type, PackageType::Deb);
    EXPECT_EQ(bsdutils->source, "util-linux");
    EXPECT_EQ(bsdutils->source_version, "2.38.1-5");  // a binNMU
    EXPECT_EQ(bsdutils->maintainer, "util-linux packagers <util-linux@packages.example.org>");
    EXPECT_EQ(bsdutils->installed_size, 334u * 1024);
    EXPECT_EQ(bsdutils->description, "basic utilities from 4.4BSD-Lite");
    EXPECT_EQ(bsdutils->homepage, "https://example.org/util-linux");
    EXPECT_EQ(bsdutils->depends, std::vector<std::string>{"libc6"});  // libsystemd0 is not installed
    EXPECT_EQ(bsdutils->purl,
              "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5");
    EXPECT_EQ(bsdutils->license_declared, "BSD-3-Clause AND GPL-2.0-or-later");
    EXPECT_EQ(bsdutils->license_concluded, bsdutils->license_declared);
    ASSERT_EQ(bsdutils->evidence.size(), 1u);
    EXPECT_EQ(bsdutils->evidence[0].path, "/var/lib/dpkg/status");
    EXPECT_EQ(bsdutils->evidence[0].size, std::string_view(EdgeStatus).size());
    EXPECT_EQ(bsdutils->evidence[0].sha256, util::sha256_hex(EdgeStatus));

    const Package* libc6 = find(packages, "libc6", "amd64");
    ASSERT_NE(libc6, nullptr);
    EXPECT_EQ(libc6->source, "glibc");
    EXPECT_EQ(libc6->source_version, "");
    EXPECT_EQ(libc6->purl, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc");
    EXPECT_EQ(libc6->license_declared, "NOASSERTION");  // free-form copyright
    EXPECT_EQ(libc6->depends, std::vector<std::string>{"libgcc-s1"});
    EXPECT_EQ(find(packages, "libc6", "i386")->installed_size, 0u);

    // Source equal to the name: no source, no upstream; held packages are installed.
    const Package* libgcc = find(packages, "libgcc-s1");
    ASSERT_NE(libgcc, nullptr);
    EXPECT_EQ(libgcc->source, "gcc-12");
    EXPECT_EQ(libgcc->source_version, "");
    EXPECT_EQ(libgcc->license_declared, "GPL-3.0-or-later WITH GCC-exception-3.1");  // through the doc dir link
    EXPECT_EQ(libgcc->depends, std::vector<std::string>{"libc6"});

    // A binNMU of a same-named source: the source name stays empty, its version does not.
    const Package* bash = find(packages, "bash");
    ASSERT_NE(bash, nullptr);
    EXPECT_EQ(bash->source, "");
    EXPECT_EQ(bash->source_version, "5.2.15-2");
    EXPECT_EQ(bash->purl, "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2");
    EXPECT_EQ(bash->installed_size, 0u);
    EXPECT_EQ(bash->depends, (std::vector<std::string>{"debianutils", "libc6"}));
    EXPECT_EQ(bash->license_declared, "NOASSERTION");  // no copyright file

    // Alternatives: the installed provider of a virtual package counts;
    // version, arch and profile qualifiers are stripped.
    const Package* debianutils = find(packages, "debianutils");
    ASSERT_NE(debianutils, nullptr);
    EXPECT_EQ(debianutils->source, "");
    EXPECT_EQ(debianutils->depends, (std::vector<std::string>{"libc6", "nano"}));
    EXPECT_EQ(debianutils->license_declared, "NOASSERTION");  // dangling doc dir link

    EXPECT_EQ(find(packages, "nano")->license_declared, "GPL-3.0-or-later");
    EXPECT_TRUE(warned(warnings, "/var/lib/dpkg/status", "package bash (line 40) has an Installed-Size"))
        << describe(warnings);
    EXPECT_EQ(warnings.size(), 1u) << describe(warnings);
}

TEST(CatalogDpkg, DistroQualifierNeedsAVersionId) {
    FileTree tree = edge_tree();
    std::vector<Warning> warnings;
    OsInfo trixie{"debian", "", "trixie", "Debian GNU/Linux trixie/sid"};
    // Syft's behaviour: no VERSION_ID, no distro qualifier (not the codename).
    EXPECT_EQ(find(catalog_dpkg(tree, trixie, warnings), "nano")->purl, "pkg:deb/debian/nano@7.2-1?arch=amd64");
    EXPECT_EQ(find(catalog_dpkg(tree, OsInfo{}, warnings), "nano")->purl, "pkg:deb/debian/nano@7.2-1?arch=amd64");
    OsInfo ubuntu{"ubuntu", "22.04", "jammy", ""};
    EXPECT_EQ(find(catalog_dpkg(tree, ubuntu, warnings), "nano")->purl,
              "pkg:deb/ubuntu/nano@7.2-1?arch=amd64&distro=ubuntu-22.04");
}

TEST(CatalogDpkg, CorruptedStatusKeepsTheGoodParagraphs) {
    std::string status =
        "Package: good-one\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n"
        "\x7f" "ELF\x02\x01\x01\0\0\0\0binary junk\xff\xfe\n\x01\x02\x03\n\n"
        "Status: install ok installed\nArchitecture: amd64\nVersion: 2.0\n\n"
        " continuation without a field\nPackage: orphan-line\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: no-version\nStatus: install ok installed\nArchitecture: amd64\n\n"
        "Package: bad-line\nStatus: install ok installed\nthis line has no colon\nVersion: 1\nArchitecture: all\n\n"
        "Package: bad-utf8\nStatus: install ok installed\nArchitecture: all\nVersion: 3\n"
        "Maintainer: J\xe9r\xf4me <j@example.org>\n\n"
        "Package: good-two\nStatus: install ok installed\nArchitecture: all\nVersion: 2.0\n\n"
        "Package: truncated\nStatus: install ok installed\nArchitecture: amd64\nVers"s;
    FileTree tree;
    add_file(tree, "/var/lib/dpkg/status", status);
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);

    std::vector<std::string> names;
    for (const auto& p : packages) names.push_back(p.name);
    EXPECT_EQ(names, (std::vector<std::string>{"bad-utf8", "good-one", "good-two"}));
    EXPECT_EQ(find(packages, "bad-utf8")->maintainer, "J\xEF\xBF\xBDr\xEF\xBF\xBDme <j@example.org>");

    const std::string path = "/var/lib/dpkg/status";
    EXPECT_TRUE(warned(warnings, path, "the paragraph at line 6 is malformed and was skipped: line 6: binary data"))
        << describe(warnings);
    EXPECT_TRUE(warned(warnings, path, "the paragraph at line 9 has no Package field")) << describe(warnings);
    EXPECT_TRUE(warned(warnings, path, "package orphan-line (line 13) is malformed and was skipped: line 13: "
                                       "continuation line without a field"))
        << describe(warnings);
    EXPECT_TRUE(warned(warnings, path, "package no-version (line 18) has no Version field")) << describe(warnings);
    EXPECT_TRUE(warned(warnings, path, "package bad-line (line 22) is malformed and was skipped: line 24: "
                                       "expected \"Field: value\", got \"this line has no colon\""))
        << describe(warnings);
    EXPECT_TRUE(warned(warnings, path, "package bad-utf8 (line 28) has fields that are not UTF-8")) << describe(warnings);
    EXPECT_TRUE(warned(warnings, path, "package truncated (line 39) is malformed and was skipped: line 42"))
        << describe(warnings);
    EXPECT_EQ(warnings.size(), 7u) << describe(warnings);
}

TEST(CatalogDpkg, ValuesAreAlwaysValidUtf8) {
    // Overlong forms, surrogates and code points above U+10FFFF are not
    // UTF-8 either: JSON writers would refuse them.
    FileTree tree;
    add_file(tree, "/var/lib/dpkg/status.d/odd",
             "Package: odd\nVersion: 1\nArchitecture: all\n"
             "Description: a\xc0\x80" "b\xed\xa0\x80" "c\xf4\x90\x80\x80" "d \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x83\n");
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);
    ASSERT_EQ(packages.size(), 1u);
    const std::string replacement = "\xEF\xBF\xBD";
    EXPECT_EQ(packages[0].description, "a" + replacement + replacement + "b" + replacement + replacement + replacement +
                                           "c" + replacement + replacement + replacement + replacement +
                                           "d \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x83");
    EXPECT_NO_THROW((void)nlohmann::json(packages[0].description).dump());
    EXPECT_TRUE(warned(warnings, "/var/lib/dpkg/status.d/odd", "not UTF-8")) << describe(warnings);
}

TEST(CatalogDpkg, StatusDirectoryOfDistroless) {
    FileTree tree;
    add_dir(tree, "/var/lib/dpkg/status.d");
    // One package per file, without Status, as distroless writes them; a
    // file may hold several paragraphs; md5sums beside them are not records.
    add_file(tree, "/var/lib/dpkg/status.d/base-files",
             "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\nMaintainer: Santiago Vila\n"
             "Installed-Size: 341\n");
    add_file(tree, "/var/lib/dpkg/status.d/base-files.md5sums", "0123456789abcdef  etc/debian_version\n");
    add_file(tree, "/var/lib/dpkg/status.d/libssl3",
             "Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl\n\n"
             "Package: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nDepends: libssl3 (>= 3.0.9)\n\n"
             "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n");
    add_dir(tree, "/var/lib/dpkg/status.d/subdir");
    add_file(tree, "/var/lib/dpkg/status.d/subdir/nested", "Package: nested\nVersion: 1\nArchitecture: all\n");
    add_file(tree, "/usr/share/doc/libssl3/copyright", std::string(Dep5) + "Files: *\nLicense: Apache-2.0\n");
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);
    EXPECT_TRUE(warnings.empty()) << describe(warnings);

    std::vector<std::string> names;
    for (const auto& p : packages) names.push_back(p.name);
    EXPECT_EQ(names, (std::vector<std::string>{"base-files", "libssl3", "openssl"}));
    EXPECT_EQ(find(packages, "base-files")->installed_size, 341u * 1024);
    EXPECT_EQ(find(packages, "base-files")->evidence.at(0).path, "/var/lib/dpkg/status.d/base-files");
    EXPECT_EQ(find(packages, "libssl3")->evidence.at(0).path, "/var/lib/dpkg/status.d/libssl3");
    EXPECT_EQ(find(packages, "libssl3")->license_declared, "Apache-2.0");
    EXPECT_EQ(find(packages, "libssl3")->purl,
              "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl");
    EXPECT_EQ(find(packages, "openssl")->depends, std::vector<std::string>{"libssl3"});
}

TEST(CatalogDpkg, StatusDirectoryRecordsAreCheckedToo) {
    FileTree tree;
    add_file(tree, "/var/lib/dpkg/status.d/corrupt", "Package: corrupt\nVersion: 1\n\x01\x02garbage\n");
    add_file(tree, "/var/lib/dpkg/status.d/fine", "Package: fine\nVersion: 1\nArchitecture: all\n");
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);
    ASSERT_EQ(packages.size(), 1u);
    EXPECT_EQ(packages[0].name, "fine");
    EXPECT_TRUE(warned(warnings, "/var/lib/dpkg/status.d/corrupt", "package corrupt (line 1) is malformed"))
        << describe(warnings);
}

TEST(CatalogDpkg, SamePackageInBothDatabasesIsListedOnce) {
    FileTree tree;
    std::string record = "Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n";
    add_file(tree, "/var/lib/dpkg/status", record);
    add_file(tree, "/var/lib/dpkg/status.d/tzdata", record);
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);
    ASSERT_EQ(packages.size(), 1u);
    ASSERT_EQ(packages[0].evidence.size(), 2u);
    EXPECT_EQ(packages[0].evidence[0].path, "/var/lib/dpkg/status");
    EXPECT_EQ(packages[0].evidence[1].path, "/var/lib/dpkg/status.d/tzdata");
}

TEST(CatalogDpkg, NoDatabaseNoPackages) {
    FileTree tree;
    add_file(tree, "/etc/os-release", "ID=debian\n");
    std::vector<Warning> warnings;
    EXPECT_TRUE(catalog_dpkg(tree, Bookworm, warnings).empty());
    EXPECT_TRUE(warnings.empty());
}

// --- This machine's dpkg database -------------------------------------------

// The host's /usr/share/doc as a tree: its links (doc dirs that point to
// another package's) and its copyright files.
void add_host_docs(FileTree& tree) {
    std::error_code ec;
    for (const auto& dir : fs::directory_iterator("/usr/share/doc", ec)) {
        std::string path = "/usr/share/doc/" + dir.path().filename().string();
        if (dir.is_symlink(ec)) {
            add_symlink(tree, path, fs::read_symlink(dir.path(), ec).string());
        } else if (dir.is_directory(ec)) {
            add_dir(tree, path);
            fs::path copyright = dir.path() / "copyright";
            if (fs::is_symlink(copyright, ec)) {
                add_symlink(tree, path + "/copyright", fs::read_symlink(copyright, ec).string());
            } else if (fs::is_regular_file(copyright, ec)) {
                add_file(tree, path + "/copyright", util::read_file(copyright));
            }
        }
    }
}

TEST(CatalogDpkg, ThisMachinesDatabaseMatchesDpkgQuery) {
    auto dpkg_query = util::find_program("dpkg-query");
    if (!dpkg_query || !fs::exists("/var/lib/dpkg/status")) GTEST_SKIP() << "not a dpkg system";
    util::ProcessResult listed =
        util::run_process({dpkg_query->string(), "-W", "-f", "${Package} ${Version} ${Architecture} ${Status}\\n"});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;

    std::set<std::tuple<std::string, std::string, std::string>> expected;
    std::istringstream lines(listed.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string name, version, arch, want, flag, status;
        words >> name >> version >> arch >> want >> flag >> status;
        if (status == "installed") expected.emplace(name, version, arch);
    }
    ASSERT_FALSE(expected.empty());

    FileTree tree;
    add_file(tree, "/var/lib/dpkg/status", util::read_file("/var/lib/dpkg/status"));
    add_host_docs(tree);
    std::vector<Warning> warnings;
    std::vector<Package> packages = catalog_dpkg(tree, Bookworm, warnings);
    EXPECT_TRUE(warnings.empty()) << describe(warnings);

    std::set<std::tuple<std::string, std::string, std::string>> found;
    std::size_t licensed = 0;
    for (const auto& p : packages) {
        found.emplace(p.name, p.version, p.arch);
        std::string head = "pkg:deb/debian/" + purl_encode(p.name) + "@" + purl_encode(p.version) + "?arch=" + p.arch;
        EXPECT_TRUE(p.purl.starts_with(head)) << p.purl;
        EXPECT_NE(p.purl.find("distro=debian-12"), std::string::npos) << p.purl;
        if (p.license_declared != "NOASSERTION") ++licensed;
        for (const auto& dep : p.depends) EXPECT_NE(find(packages, dep), nullptr) << p.name << " -> " << dep;
    }
    EXPECT_EQ(found, expected);
    EXPECT_EQ(packages.size(), expected.size());
    EXPECT_GT(licensed, packages.size() / 3) << "most Debian packages have DEP-5 copyright files";
    // A package whose doc dir links to another package's gets that license.
    if (const Package* libgcc = find(packages, "libgcc-s1");
        libgcc && fs::is_symlink("/usr/share/doc/libgcc-s1")) {
        std::string target = fs::read_symlink("/usr/share/doc/libgcc-s1").string();
        const Package* owner = find(packages, target);
        if (owner) {
            EXPECT_EQ(libgcc->license_declared, owner->license_declared);
        }
    }
}

}  // namespace
}  // namespace slate::sbom
