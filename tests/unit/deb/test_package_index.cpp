#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "slate/deb/package_index.hpp"
#include "slate/deb/release.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "support/paths.hpp"

namespace slate::deb {
namespace {

const char* const Packages =
    "Package: zlib1g\n"
    "Source: zlib\n"
    "Version: 1:1.2.13.dfsg-1\n"
    "Architecture: amd64\n"
    "Multi-Arch: same\n"
    "Priority: optional\n"
    "Depends: libc6 (>= 2.14)\n"
    "Provides: libz1\n"
    "Filename: pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb\n"
    "Size: 87000\n"
    "SHA256: 0000000000000000000000000000000000000000000000000000000000000001\n"
    "\n"
    "Package: hello\n"
    "Source: hello (1.0-1)\n"
    "Version: 1.0-1+b1\n"
    "Architecture: amd64\n"
    "Essential: yes\n"
    "Priority: required\n"
    "Provides: greeter (= 1.0), hi\n"
    "Filename: pool/main/h/hello/hello_1.0-1+b1_amd64.deb\n"
    "Size: 1234\n"
    "SHA256: 0000000000000000000000000000000000000000000000000000000000000002\n"
    "\n"
    "Package: hello\n"
    "Version: 0.9-1\n"
    "Architecture: all\n"
    "Multi-Arch: foreign\n"
    "Filename: pool/main/h/hello/hello_0.9-1_all.deb\n"
    "Size: 99\n"
    "SHA256: 0000000000000000000000000000000000000000000000000000000000000003\n";

TEST(PackageIndex, ParsesTheFieldsTheResolverNeeds) {
    auto index = PackageIndex::parse(Packages, "Packages");
    ASSERT_EQ(index.size(), 3u);
    auto ids = index.find("hello");
    ASSERT_EQ(ids.size(), 2u);
    auto binnmu = index.record(ids[0]);
    EXPECT_EQ(binnmu.version, "1.0-1+b1");
    EXPECT_EQ(binnmu.source, "hello");
    EXPECT_EQ(binnmu.source_version, "1.0-1");  // "Source: name (version)" form
    EXPECT_TRUE(binnmu.essential);
    EXPECT_EQ(binnmu.priority, Priority::Required);
    EXPECT_EQ(binnmu.size, 1234u);
    auto all = index.record(ids[1]);
    EXPECT_EQ(all.architecture, "all");
    EXPECT_EQ(all.multi_arch, MultiArch::Foreign);
    EXPECT_EQ(all.source, "hello");            // no Source: the binary name
    EXPECT_EQ(all.source_version, "0.9-1");    // and its version

    auto z = index.record(index.find("zlib1g").at(0));
    EXPECT_EQ(z.source, "zlib");
    EXPECT_EQ(z.source_version, "1:1.2.13.dfsg-1");  // "Source: name": the binary version
    EXPECT_EQ(z.depends, "libc6 (>= 2.14)");
    EXPECT_EQ(z.filename, "pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb");
    EXPECT_TRUE(index.find("nope").empty());
}

TEST(PackageIndex, ProvidesTable) {
    auto index = PackageIndex::parse(Packages, "Packages");
    auto greeter = index.providers("greeter");
    ASSERT_EQ(greeter.size(), 1u);
    EXPECT_EQ(greeter[0].op, VersionOp::Eq);
    EXPECT_EQ(greeter[0].version, "1.0");
    EXPECT_EQ(index.record(greeter[0].record).name, "hello");
    auto hi = index.providers("hi");
    ASSERT_EQ(hi.size(), 1u);
    EXPECT_EQ(hi[0].op, VersionOp::Any);
    EXPECT_EQ(index.providers("libz1").size(), 1u);
    EXPECT_TRUE(index.providers("hello").empty());
}

TEST(PackageIndex, BinaryFormRoundTrips) {
    test::TempDir dir;
    auto parsed = PackageIndex::parse(Packages, "Packages");
    parsed.save(dir.path() / "index.bin");
    auto loaded = PackageIndex::load(dir.path() / "index.bin");
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->size(), parsed.size());
    for (std::uint32_t i = 0; i < parsed.size(); ++i) {
        auto a = parsed.record(i);
        auto b = loaded->record(i);
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.version, b.version);
        EXPECT_EQ(a.sha256, b.sha256);
        EXPECT_EQ(a.provides, b.provides);
        EXPECT_EQ(a.multi_arch, b.multi_arch);
        EXPECT_EQ(a.size, b.size);
    }
    EXPECT_EQ(loaded->providers("greeter").size(), 1u);
    EXPECT_EQ(loaded->names(), parsed.names());
}

TEST(PackageIndex, DamagedBinaryFormIsRejectedNotTrusted) {
    test::TempDir dir;
    auto path = dir.path() / "index.bin";
    PackageIndex::parse(Packages, "Packages").save(path);
    auto bytes = util::read_file(path);
    bytes[bytes.size() - 10] ^= 0x20;  // flip a bit in the strings
    util::write_file_atomic(path, bytes);
    EXPECT_FALSE(PackageIndex::load(path));
    util::write_file_atomic(path, bytes.substr(0, bytes.size() / 2));  // truncated
    EXPECT_FALSE(PackageIndex::load(path));
    util::write_file_atomic(path, "not an index at all");
    EXPECT_FALSE(PackageIndex::load(path));
    EXPECT_FALSE(PackageIndex::load(dir.path() / "missing.bin"));
}

TEST(PackageIndex, StanzaWithoutVersionIsAnError) {
    try {
        PackageIndex::parse("Package: a\nArchitecture: amd64\n\nPackage: b\n", "bookworm/main/Packages");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Parse);
        EXPECT_NE(e.message().find("bookworm/main/Packages:1"), std::string::npos) << e.message();
    }
}

TEST(Release, ParsesDebianRelease) {
    const char* text =
        "Origin: Debian\n"
        "Label: Debian\n"
        "Suite: stable\n"
        "Codename: bookworm\n"
        "Date: Sat, 10 Jun 2023 08:50:29 UTC\n"
        "Valid-Until: Sat, 17 Jun 2023 08:50:29 UTC\n"
        "Acquire-By-Hash: yes\n"
        "No-Support-for-Architecture-all: Packages\n"
        "Architectures: all amd64 arm64\n"
        "Components: main contrib\n"
        "MD5Sum:\n"
        " 0123456789abcdef0123456789abcdef 12 main/binary-amd64/Packages\n"
        "SHA256:\n"
        " 8575ec1f224d635ce30646a2a1388bee267a7f37fae3f997687643c9ebb8fb43   378100 main/binary-amd64/Packages.xz\n"
        " eb517821ea447f4a108a390e79b9b3c9115289ca8c142d0a38ffddef38ccefcc  2523192 main/binary-amd64/Packages\n";
    auto release = parse_release(text, "InRelease");
    EXPECT_EQ(release.codename, "bookworm");
    EXPECT_EQ(release.suite, "stable");
    EXPECT_TRUE(release.acquire_by_hash);
    EXPECT_TRUE(release.arch_all_in_arch_indices);
    EXPECT_EQ(release.architectures, (std::vector<std::string>{"all", "amd64", "arm64"}));
    EXPECT_EQ(release.components, (std::vector<std::string>{"main", "contrib"}));
    const auto* xz = release.find("main/binary-amd64/Packages.xz");
    ASSERT_NE(xz, nullptr);
    EXPECT_EQ(xz->size, 378100u);
    EXPECT_EQ(xz->sha256, "8575ec1f224d635ce30646a2a1388bee267a7f37fae3f997687643c9ebb8fb43");
    EXPECT_EQ(release.find("main/binary-arm64/Packages.xz"), nullptr);

    auto date = parse_release_date(release.date);
    ASSERT_TRUE(date);
    EXPECT_EQ(std::chrono::system_clock::to_time_t(*date), 1686387029);
    auto until = parse_release_date(release.valid_until);
    ASSERT_TRUE(until);
    EXPECT_EQ(*until - *date, std::chrono::hours(24 * 7));
    EXPECT_FALSE(parse_release_date("yesterday"));
}

TEST(Release, WithoutSha256IsRefused) {
    EXPECT_THROW(parse_release("Suite: x\nMD5Sum:\n 0123 1 a\n", "InRelease"), Error);
    EXPECT_THROW(parse_release("Suite: x\nSHA256:\n nothex 1 a\n", "InRelease"), Error);
}

}  // namespace
}  // namespace slate::deb
