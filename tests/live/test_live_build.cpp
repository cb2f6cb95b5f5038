// LIVE: every catalog image (images/*.yaml) built from the real archive for
// amd64 and arm64, its tests run on amd64 (slate build --test, through
// bubblewrap), and the result handed to independent tools: skopeo inspect,
// skopeo copy to a docker-archive, and umoci unpack.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "live/live_support.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> catalog() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(source_dir() / "images"))
        if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

util::ProcessResult tool(std::vector<std::string> argv) {
    util::ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    return util::run_process(argv, options);
}

class CatalogBuild : public ::testing::TestWithParam<std::string> {};

TEST_P(CatalogBuild, BuildsForBothArchitecturesPassesItsTestsAndOtherToolsAcceptIt) {
    const std::string name = GetParam();
    TempDir work;
    auto out = work.path() / name;
    auto built = run_slate({"build", (source_dir() / "images" / (name + ".yaml")).string(), "-o", out.string(), "--test",
                            "--json"});
    ASSERT_EQ(built.exit_code, 0) << built.err;
    auto result = nlohmann::json::parse(built.out);
    ASSERT_EQ(result.at("images").size(), 2u);
    EXPECT_NE(built.err.find("(amd64): passed"), std::string::npos) << "no test ran:\n" << built.err;
    EXPECT_EQ(built.err.find("FAILED"), std::string::npos) << built.err;

    auto inspect = tool({"skopeo", "inspect", "oci:" + out.string() + ":latest"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(nlohmann::json::parse(inspect.out).at("Architecture"), "amd64");
    auto raw = tool({"skopeo", "inspect", "--raw", "oci:" + out.string() + ":latest"});
    ASSERT_EQ(raw.exit_code, 0) << raw.err;
    EXPECT_EQ(nlohmann::json::parse(raw.out).at("manifests").size(), 2u);

    auto archive = work.path() / (name + ".tar");
    auto copy = tool({"skopeo", "copy", "oci:" + out.string() + ":amd64", "docker-archive:" + archive.string() + ":" + name + ":latest"});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    auto inspect_archive = tool({"skopeo", "inspect", "docker-archive:" + archive.string()});
    EXPECT_EQ(inspect_archive.exit_code, 0) << inspect_archive.err;

    for (const char* arch : {"amd64", "arm64"}) {
        auto bundle = work.path() / (std::string("bundle-") + arch);
        auto unpack = tool({"umoci", "unpack", "--rootless", "--image", out.string() + ":" + arch, bundle.string()});
        ASSERT_EQ(unpack.exit_code, 0) << unpack.err;
        EXPECT_TRUE(fs::exists(bundle / "rootfs" / "etc" / "passwd")) << arch;
        EXPECT_TRUE(fs::is_symlink(bundle / "rootfs" / "bin")) << arch;  // merged /usr
        EXPECT_TRUE(fs::exists(bundle / "rootfs" / "var/lib/dpkg/status.d/base-files")) << arch;
    }
}

TEST(LiveReproducibleBuild, SameDigestWhateverTheOutputPathTimeZoneAndUmask) {
    TempDir work;
    auto spec = (source_dir() / "images" / "python.yaml").string();
    auto first = run_slate({"build", spec, "-o", (work.path() / "a").string(), "--json"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    util::ProcessOptions options;
    options.env = {{"TZ", "America/St_Johns"}, {"LC_ALL", "C.UTF-8"}};
    options.timeout = SlateTimeout;
    auto old = ::umask(027);
    auto second = util::run_process({slate_binary().string(), "--cache-dir", live_cache_dir().string(), "build", spec,
                                     "-o", (work.path() / "deeper" / "b").string(), "--json", "--jobs", "2"},
                                    options);
    ::umask(old);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(nlohmann::json::parse(first.out).at("digest"), nlohmann::json::parse(second.out).at("digest"));
}

INSTANTIATE_TEST_SUITE_P(Live, CatalogBuild, ::testing::ValuesIn(catalog()), test_name);

}  // namespace
}  // namespace slate::test
