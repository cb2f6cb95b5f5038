// The SBOMs of images slate builds: exactly the lock's packages with their
// .deb hashes, inside the image and next to it, byte-identical from one build
// to the next, valid SPDX 2.3 and CycloneDX 1.6; and `slate sbom` of the
// built image agreeing with them.
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "integration/build_test.hpp"
#include "slate/oci/layout.hpp"
#include "slate/sbom/tree.hpp"
#include "slate/util/fs.hpp"
#include "support/json_schema.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using Triple = std::tuple<std::string, std::string, std::string>;  // name, version, arch

// The SPDX packages that are Debian packages: (name, version, arch) -> SHA256.
std::map<Triple, std::string> deb_packages(const nlohmann::json& doc) {
    std::map<Triple, std::string> out;
    for (const auto& package : doc.at("packages")) {
        std::string purl;
        for (const auto& ref : package.value("externalRefs", nlohmann::json::array()))
            if (ref.at("referenceType") == "purl") purl = ref.at("referenceLocator");
        if (!purl.starts_with("pkg:deb/") || package.value("primaryPackagePurpose", "") == "SOURCE") continue;
        std::string arch = purl.substr(purl.find("arch=") + 5);
        arch = arch.substr(0, arch.find('&'));
        std::string sha256;
        for (const auto& checksum : package.value("checksums", nlohmann::json::array()))
            if (checksum.at("algorithm") == "SHA256") sha256 = checksum.at("checksumValue");
        out[{package.at("name"), package.at("versionInfo"), arch}] = sha256;
    }
    return out;
}

std::map<Triple, std::string> lock_packages(const nlohmann::json& lock, const std::string& arch) {
    std::map<Triple, std::string> out;
    for (const auto& p : lock.at("archs").at(arch).at("packages"))
        out[{p.at("name"), p.at("version"), p.at("arch")}] = p.at("sha256");
    return out;
}

class BuildSbom : public BuildCommand {};

TEST_F(BuildSbom, TheImagesSbomIsExactlyItsLock) {
    auto spec = write_spec("app, pyapp");
    auto lock_path = m_work.path() / "app.lock.json";
    util::ProcessOptions options;
    options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}};
    ASSERT_EQ(util::run_process({slate_binary().string(), "--cache-dir", cache().string(), "lock", spec.string()},
                                options)
                  .exit_code,
              0);
    const auto lock = nlohmann::json::parse(util::read_file(lock_path));
    auto out = m_work.path() / "out";
    auto built = build({spec.string(), "--lock", lock_path.string(), "-o", out.string(), "--json"});
    ASSERT_EQ(built.exit_code, 0) << built.err;
    const auto result = nlohmann::json::parse(built.out);

    JsonSchemaValidator spdx(shared_schemas() / "spdx-2.3");
    // Next to the image: one document per platform, and the index linking them.
    const fs::path index_path = m_work.path() / "out.spdx.json";
    ASSERT_TRUE(fs::exists(index_path));
    EXPECT_EQ(spdx.errors("spdx-schema.json", util::read_file(index_path)), "");
    oci::Layout layout = oci::read_layout(out);
    for (const auto& image : layout.images) {
        const std::string arch = image.platform.architecture;
        std::string tag = oci::to_string(image.platform);
        std::replace(tag.begin(), tag.end(), '/', '-');
        const std::string beside = util::read_file(m_work.path() / ("out." + tag + ".spdx.json"));
        EXPECT_EQ(spdx.errors("spdx-schema.json", beside), "") << tag;
        auto doc = nlohmann::json::parse(beside);
        EXPECT_EQ(deb_packages(doc), lock_packages(lock, arch)) << tag;  // names, versions, archs and .deb hashes
        // It names the image by its manifest digest.
        EXPECT_NE(beside.find(image.manifest_descriptor.digest), std::string::npos) << tag;

        // Inside the image, at apko's place, the same packages.
        std::vector<fs::path> layers;
        for (const auto& layer : image.manifest.layers) layers.push_back(layout.blob_path(layer.digest));
        sbom::TreeInterest keep_sbom;
        keep_sbom.keep = [](std::string_view p, const sbom::TreeEntry&) { return p.starts_with("/var/lib/db/sbom/"); };
        std::vector<sbom::Warning> warnings;
        sbom::FileTree tree = sbom::read_layers_tree(layers, keep_sbom, warnings);
        auto inside = tree.read("/var/lib/db/sbom/app.spdx.json");
        ASSERT_TRUE(inside) << tag;
        EXPECT_EQ(spdx.errors("spdx-schema.json", *inside), "") << tag;
        EXPECT_EQ(deb_packages(nlohmann::json::parse(*inside)), lock_packages(lock, arch)) << tag;

        // slate sbom of the built image finds the same Debian packages (without the lock's hashes).
        auto catalogued = util::run_process({slate_binary().string(), "sbom", "oci:" + out.string() + ":latest",
                                             "--platform", oci::to_string(image.platform), "--format", "cyclonedx-json"});
        ASSERT_EQ(catalogued.exit_code, 0) << catalogued.err;
        JsonSchemaValidator cdx(shared_schemas() / "cyclonedx-1.6");
        EXPECT_EQ(cdx.errors("bom-1.6.schema.json", catalogued.out), "");
        std::set<std::string> names;
        const auto bom = nlohmann::json::parse(catalogued.out);
        for (const auto& c : bom.at("components"))
            if (c.value("purl", "").starts_with("pkg:deb/")) names.insert(c.at("name"));
        std::set<std::string> locked;
        for (const auto& [key, sha] : lock_packages(lock, arch)) locked.insert(std::get<0>(key));
        EXPECT_EQ(names, locked) << tag;
    }
    EXPECT_EQ(result.at("sboms").size(), 3u);
}

TEST_F(BuildSbom, SbomsAreByteIdenticalFromOneBuildToTheNext) {
    auto spec = write_spec("app");
    auto one = build({spec.string(), "-o", (m_work.path() / "one").string(), "--arch", "amd64"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    auto two = build({spec.string(), "-o", (m_work.path() / "two").string(), "--arch", "amd64"},
                     {{"TZ", "Asia/Kolkata"}});
    ASSERT_EQ(two.exit_code, 0) << two.err;
    // One architecture: OUTPUT.spdx.json is that platform's document.
    EXPECT_EQ(util::read_file(m_work.path() / "one.spdx.json"), util::read_file(m_work.path() / "two.spdx.json"));
    // slate sbom names an image by its directory: the same image gives the same document.
    for (const char* format : {"spdx-json", "cyclonedx-json"}) {
        auto a = util::run_process({slate_binary().string(), "sbom", (m_work.path() / "one").string(), "--format", format});
        auto b = util::run_process({slate_binary().string(), "sbom", (m_work.path() / "one").string(), "--format", format});
        ASSERT_EQ(a.exit_code, 0) << a.err;
        EXPECT_EQ(a.out, b.out) << format;
    }
}

TEST_F(BuildSbom, AMultiPlatformImageNeedsAFileOrAPlatform) {
    auto spec = write_spec("app");
    auto out = m_work.path() / "multi";
    ASSERT_EQ(build({spec.string(), "-o", out.string()}).exit_code, 0);
    auto to_stdout = util::run_process({slate_binary().string(), "sbom", out.string()});
    EXPECT_EQ(to_stdout.exit_code, 2);
    EXPECT_NE(to_stdout.err.find("--platform"), std::string::npos) << to_stdout.err;
    auto files = util::run_process(
        {slate_binary().string(), "sbom", out.string(), "-o", (m_work.path() / "m.cdx.json").string(), "--format",
         "cyclonedx-json"});
    ASSERT_EQ(files.exit_code, 0) << files.err;
    EXPECT_TRUE(fs::exists(m_work.path() / "m.linux-amd64.cdx.json"));
    EXPECT_TRUE(fs::exists(m_work.path() / "m.linux-arm64-v8.cdx.json"));
    JsonSchemaValidator cdx(shared_schemas() / "cyclonedx-1.6");
    EXPECT_EQ(cdx.errors("bom-1.6.schema.json", util::read_file(m_work.path() / "m.cdx.json")), "");
    auto missing = util::run_process({slate_binary().string(), "sbom", out.string(), "--platform", "linux/s390x"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("linux/amd64"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace slate::test
