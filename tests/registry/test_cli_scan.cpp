// `slate scan` of images in a registry (Debian's docker-registry on
// 127.0.0.1): the catalog is cached by manifest digest, so scanning the same
// image again reads its manifests and config and downloads no layer.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "slate/oci/layout.hpp"
#include "support/oci_fixture.hpp"
#include "support/registry_server.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* Status =
    "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nArchitecture: amd64\n"
    "Source: openssl\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\n"
    "Description: Secure Sockets Layer toolkit - shared libraries\n\n"
    "Package: tar\nStatus: install ok installed\nVersion: 1.34+dfsg-1.2\nArchitecture: amd64\n"
    "Maintainer: Janos Lenart <ocsi@debian.org>\nDescription: GNU version of the tar archiving utility\n";

// A one-layer amd64 image holding a bookworm os-release and a dpkg status.
oci::Descriptor write_debian_image(const fs::path& dir) {
    oci::LayoutWriter writer(dir);
    oci::Layer layer = write_gzip_layer(
        writer, {{"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"},
                 {"var/lib/dpkg/status", Status}});
    auto config = oci::make_image_config(oci::platform_for_debian_arch("amd64"), 1700000000, {}, {layer});
    oci::Descriptor manifest = writer.write_image(config, {layer}, {});
    writer.write_index_json(manifest, "latest");
    return manifest;
}

TEST(CliScan, ScanningARegistryImageAgainDownloadsNoLayer) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    fs::path layout = work.path() / "image";
    write_debian_image(layout);
    const std::string ref = registry.host() + "/scan/app:1";
    auto push = cli.slate({"push", layout.string(), ref});
    ASSERT_EQ(push.exit_code, 0) << push.err;

    fs::path db = work.path() / "vuln.db";
    fs::path feeds = source_dir() / "tests" / "unit" / "vuln" / "data";
    auto import = cli.slate({"db", "import", (feeds / "tracker.json").string(), (feeds / "osv").string(), "--db",
                             db.string()});
    ASSERT_EQ(import.exit_code, 0) << import.err;

    auto scan = [&](std::vector<std::string> more = {}) {
        std::vector<std::string> args{"scan", ref, "--db", db.string(), "--format", "json"};
        args.insert(args.end(), more.begin(), more.end());
        return cli.slate(args);
    };
    auto first = scan();
    ASSERT_EQ(first.exit_code, 0) << first.err;
    auto report = nlohmann::json::parse(first.out);
    EXPECT_EQ(report["target"]["name"], ref);
    std::set<std::string> ids;
    for (const auto& match : report["matches"]) ids.insert(match["vulnerability"].get<std::string>());
    EXPECT_EQ(ids, (std::set<std::string>{"CVE-2023-39804", "CVE-2024-1111", "CVE-2024-2222"}));

    // Remove the layer's data from the registry's storage: only a scan that
    // downloads no layer can still succeed.
    oci::Layout pushed = oci::read_layout(layout);
    for (const auto& layer : pushed.images.at(0).manifest.layers) fs::remove(registry.blob_data_path(layer.digest));
    auto again = scan();
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(nlohmann::json::parse(again.out)["matches"], report["matches"]);
    // --no-cache catalogs again, so it needs the layer and fails.
    auto uncached = scan({"--no-cache"});
    EXPECT_EQ(uncached.exit_code, 1) << uncached.out;
}

}  // namespace
}  // namespace slate::test
