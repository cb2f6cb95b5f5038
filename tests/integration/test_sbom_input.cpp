// `slate sbom` on damaged input: a corrupted dpkg status file, a truncated
// layer, an ELF whose Go build info is malformed, a package.json that is not
// JSON. Each is a warning naming the path; the command still succeeds and the
// rest of the SBOM is there. Also --files, and sources that do not exist.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "support/oci_fixture.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;

constexpr const char* GoodStatus =
    "Package: libgood1\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 1.2-3\n"
    "Maintainer: Someone <someone@example.org>\n"
    "Description: a good package\n"
    "\n";

// A paragraph without Package, and binary junk: what a damaged disk leaves.
const std::string BrokenStatus = std::string(GoodStatus) + "Status: install ok installed\nVersion: 9\n\n" +
                                 "\x01\x02\xff\xfe junk line without a colon\n\n" +
                                 "Package: libalso2\nStatus: install ok installed\nArchitecture: all\nVersion: 2.0\n";

// A real Go binary (Debian's docker-registry) whose build info is damaged:
// the length of its first string (a varint after the 32-byte header) never ends.
std::string bad_go_binary() {
    std::string elf = util::read_file("/usr/bin/docker-registry");
    const std::string magic = "\xff Go buildinf:";
    std::size_t at = elf.find(magic);
    EXPECT_NE(at, std::string::npos) << "no Go build info in /usr/bin/docker-registry";
    if (at == std::string::npos) return elf;
    for (std::size_t i = at + 32; i < at + 48; ++i) elf[i] = '\xff';
    return elf;
}

void write_tree(const fs::path& root) {
    fs::create_directories(root / "etc");
    util::write_file_atomic(root / "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
    fs::create_directories(root / "var/lib/dpkg");
    util::write_file_atomic(root / "var/lib/dpkg/status", BrokenStatus);
    fs::create_directories(root / "usr/bin");
    util::write_file_atomic(root / "usr/bin/gotool", bad_go_binary(), 0755);
    fs::create_directories(root / "app/node_modules/left-pad");
    util::write_file_atomic(root / "app/node_modules/left-pad/package.json", "{ \"name\": \"left-pad\", oops");
    fs::create_directories(root / "app/node_modules/is-ok");
    util::write_file_atomic(root / "app/node_modules/is-ok/package.json",
                            R"({"name": "is-ok", "version": "1.0.0", "license": "MIT"})");
}

util::ProcessResult slate(std::vector<std::string> args) {
    args.insert(args.begin(), slate_binary().string());
    util::ProcessOptions options;
    options.timeout = std::chrono::seconds(120);
    return util::run_process(args, options);
}

std::set<std::string> purls(const nlohmann::json& spdx) {
    std::set<std::string> out;
    for (const auto& package : spdx.at("packages"))
        for (const auto& ref : package.value("externalRefs", nlohmann::json::array()))
            if (ref.at("referenceType") == "purl") out.insert(ref.at("referenceLocator").get<std::string>());
    return out;
}

TEST(SbomInput, DamagedFilesAreWarningsAndTheRestIsCataloged) {
    TempDir work;
    const fs::path root = work.path() / "rootfs";
    write_tree(root);
    auto result = slate({"sbom", "dir:" + root.string(), "--files"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.err.find("/var/lib/dpkg/status"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("/app/node_modules/left-pad/package.json"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("/usr/bin/gotool"), std::string::npos) << result.err;

    JsonSchemaValidator spdx(shared_schemas() / "spdx-2.3");
    EXPECT_EQ(spdx.errors("spdx-schema.json", result.out), "");
    auto doc = nlohmann::json::parse(result.out);
    auto found = purls(doc);
    EXPECT_TRUE(found.count("pkg:deb/debian/libgood1@1.2-3?arch=amd64&distro=debian-12")) << result.out;
    EXPECT_TRUE(found.count("pkg:deb/debian/libalso2@2.0?arch=all&distro=debian-12")) << result.out;
    EXPECT_TRUE(found.count("pkg:npm/is-ok@1.0.0")) << result.out;
    // --files: every regular file with its SHA-256.
    std::set<std::string> files;
    for (const auto& file : doc.value("files", nlohmann::json::array())) files.insert(file.at("fileName"));
    EXPECT_TRUE(files.count("/usr/bin/gotool") || files.count("./usr/bin/gotool")) << doc.value("files", nlohmann::json()).dump();
}

TEST(SbomInput, ATruncatedLayerIsAWarningAndTheRestIsCataloged) {
    TempDir work;
    // An image whose second layer is cut in half: the first layer's packages are still found.
    oci::LayoutWriter writer(work.path() / "image");
    auto layer = [&](const std::vector<std::pair<std::string, std::string>>& files, bool truncate) {
        return write_gzip_layer(writer, files, truncate);
    };
    std::vector<oci::Layer> layers{
        layer({{"etc/os-release", "ID=debian\nVERSION_ID=12\n"}, {"var/lib/dpkg/status", GoodStatus}}, false),
        layer({{"big/file" + std::to_string(0), std::string(200000, 'x')}, {"big/file1", std::string(200000, 'y')}},
              true)};
    auto config = oci::make_image_config(oci::platform_for_debian_arch("amd64"), 1700000000, {}, layers);
    writer.write_index_json(writer.write_image(config, layers, {}), "latest");

    auto result = slate({"sbom", (work.path() / "image").string(), "--format", "cyclonedx-json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.err.find("layer 2"), std::string::npos) << result.err;
    auto doc = nlohmann::json::parse(result.out);
    bool good = false;
    for (const auto& c : doc.at("components")) good = good || c.value("name", "") == "libgood1";
    EXPECT_TRUE(good) << result.out;
}

TEST(SbomInput, MissingSourcesAndBadFlagsAreClearErrors) {
    TempDir work;
    auto missing_dir = slate({"sbom", "dir:" + (work.path() / "none").string()});
    EXPECT_EQ(missing_dir.exit_code, 1);
    EXPECT_NE(missing_dir.err.find("is not a directory"), std::string::npos) << missing_dir.err;
    auto missing_layout = slate({"sbom", (work.path() / "none").string()});
    EXPECT_EQ(missing_layout.exit_code, 1);
    EXPECT_NE(missing_layout.err.find("does not exist"), std::string::npos) << missing_layout.err;
    write_tree(work.path() / "rootfs");
    auto bad_format = slate({"sbom", "dir:" + (work.path() / "rootfs").string(), "--format", "swid"});
    EXPECT_EQ(bad_format.exit_code, 2);
    EXPECT_NE(bad_format.err.find("spdx-json or cyclonedx-json"), std::string::npos) << bad_format.err;
    // An output whose directory is a file: an error that says so, nothing written.
    auto unwritable = slate({"sbom", "dir:" + (work.path() / "rootfs").string(), "-o",
                             (work.path() / "rootfs/etc/os-release/out.json").string()});
    EXPECT_EQ(unwritable.exit_code, 1);
    EXPECT_NE(unwritable.err.find("os-release"), std::string::npos) << unwritable.err;
}

}  // namespace
}  // namespace slate::test
