// LIVE: SBOMs of images slate did not build. mmdebstrap makes a
// debootstrap-style system (a full /var/lib/dpkg/status) from the real
// archive, umoci packs it as an OCI image, and slate's SBOM of both the
// directory and the image must list exactly the packages dpkg-query lists for
// the same tree. The documents must validate against the official schemas.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "live_support.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;
using Installed = std::set<std::tuple<std::string, std::string, std::string>>;  // name, version, arch

util::ProcessResult tool(std::vector<std::string> argv, std::chrono::minutes timeout = std::chrono::minutes(5)) {
    util::ProcessOptions options;
    options.timeout = timeout;
    return util::run_process(argv, options);
}

// "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12" -> (name, version, arch).
std::tuple<std::string, std::string, std::string> parse_deb_purl(const std::string& purl) {
    auto decode = [](const std::string& text) {
        std::string out;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '%' && i + 2 < text.size()) {
                out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                out += text[i];
            }
        }
        return out;
    };
    std::string rest = purl.substr(std::string("pkg:deb/debian/").size());
    std::string name = rest.substr(0, rest.find('@'));
    std::string version = rest.substr(rest.find('@') + 1);
    version = version.substr(0, version.find('?'));
    std::string arch;
    if (auto at = purl.find("arch="); at != std::string::npos) arch = purl.substr(at + 5, purl.find('&', at) - at - 5);
    return {decode(name), decode(version), arch};
}

Installed from_spdx(const nlohmann::json& doc) {
    Installed out;
    for (const auto& package : doc.at("packages")) {
        if (package.value("primaryPackagePurpose", "") == "SOURCE") continue;  // the binaries' source packages
        for (const auto& ref : package.value("externalRefs", nlohmann::json::array()))
            if (ref.at("referenceType") == "purl" && ref.at("referenceLocator").get<std::string>().starts_with("pkg:deb/"))
                out.insert(parse_deb_purl(ref.at("referenceLocator")));
    }
    return out;
}

Installed from_cyclonedx(const nlohmann::json& doc) {
    Installed out;
    for (const auto& component : doc.at("components"))
        if (component.value("purl", "").starts_with("pkg:deb/")) out.insert(parse_deb_purl(component.at("purl")));
    return out;
}

// What one set has and the other lacks, for failure messages.
std::string difference(const Installed& a, const Installed& b) {
    std::string out;
    for (const auto& x : a)
        if (!b.count(x)) out += " -" + std::get<0>(x) + "=" + std::get<1>(x) + ":" + std::get<2>(x);
    for (const auto& x : b)
        if (!a.count(x)) out += " +" + std::get<0>(x) + "=" + std::get<1>(x) + ":" + std::get<2>(x);
    return out;
}

Installed dpkg_query(const fs::path& root) {
    auto listed = tool({"dpkg-query", "--admindir=" + (root / "var/lib/dpkg").string(), "-W", "-f",
                        "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    Installed out;
    std::istringstream lines(listed.out);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("ii")) continue;
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string x; std::getline(fields, x, '|');) f.push_back(x);
        if (f.size() == 4) out.insert({f[1], f[2], f[3]});
    }
    return out;
}

std::vector<std::string> host_sources() {
    std::vector<std::string> out;
    for (const fs::path dir : {"/etc/apt/sources.list.d"})
        if (fs::is_directory(dir))
            for (const auto& entry : fs::directory_iterator(dir)) {
                auto ext = entry.path().extension();
                if (ext == ".list" || ext == ".sources") out.push_back(entry.path().string());
            }
    if (fs::exists("/etc/apt/sources.list") && fs::file_size("/etc/apt/sources.list") > 0)
        out.push_back("/etc/apt/sources.list");
    std::sort(out.begin(), out.end());
    return out;
}

TEST(LiveSbom, ForeignImagesListExactlyWhatDpkgSays) {
    if (::geteuid() != 0) GTEST_SKIP() << "mmdebstrap --mode=root needs root";
    TempDir work;
    const fs::path root = work.path() / "rootfs";
    std::vector<std::string> argv{"mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", "bookworm",
                                  root.string()};
    for (const auto& source : host_sources()) argv.push_back(source);
    auto made = tool(argv, std::chrono::minutes(15));
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const Installed expected = dpkg_query(root);
    ASSERT_GT(expected.size(), 50u);

    JsonSchemaValidator spdx_schema(shared_schemas() / "spdx-2.3");
    JsonSchemaValidator cdx_schema(shared_schemas() / "cyclonedx-1.6");

    // The directory.
    auto dir_sbom = run_slate({"sbom", "dir:" + root.string(), "-o", (work.path() / "dir.spdx.json").string()});
    ASSERT_EQ(dir_sbom.exit_code, 0) << dir_sbom.err;
    std::string dir_doc = util::read_file(work.path() / "dir.spdx.json");
    EXPECT_EQ(spdx_schema.errors("spdx-schema.json", dir_doc), "");
    Installed from_dir = from_spdx(nlohmann::json::parse(dir_doc));
    EXPECT_EQ(from_dir, expected) << difference(expected, from_dir);

    // The same tree packed as an OCI image by umoci.
    const fs::path image = work.path() / "image";
    const fs::path bundle = work.path() / "bundle";
    ASSERT_EQ(tool({"umoci", "init", "--layout", image.string()}).exit_code, 0);
    ASSERT_EQ(tool({"umoci", "new", "--image", image.string() + ":latest"}).exit_code, 0);
    ASSERT_EQ(tool({"umoci", "unpack", "--image", image.string() + ":latest", bundle.string()}).exit_code, 0);
    auto copied = tool({"cp", "-a", root.string() + "/.", (bundle / "rootfs").string()});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    auto repacked = tool({"umoci", "repack", "--image", image.string() + ":latest", bundle.string()});
    ASSERT_EQ(repacked.exit_code, 0) << repacked.err;

    for (const std::string format : {"spdx-json", "cyclonedx-json"}) {
        fs::path out = work.path() / ("image." + format);
        auto made_sbom = run_slate({"sbom", "oci:" + image.string() + ":latest", "--format", format, "-o", out.string()});
        ASSERT_EQ(made_sbom.exit_code, 0) << made_sbom.err;
        std::string doc = util::read_file(out);
        if (format == "spdx-json") {
            EXPECT_EQ(spdx_schema.errors("spdx-schema.json", doc), "");
            Installed found = from_spdx(nlohmann::json::parse(doc));
            EXPECT_EQ(found, expected) << difference(expected, found);
        } else {
            EXPECT_EQ(cdx_schema.errors("bom-1.6.schema.json", doc), "");
            Installed found = from_cyclonedx(nlohmann::json::parse(doc));
            EXPECT_EQ(found, expected) << difference(expected, found);
        }
    }
}

}  // namespace
}  // namespace slate::test
