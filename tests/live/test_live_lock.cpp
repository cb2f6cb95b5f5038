// LIVE: `slate lock` of every image in the catalog (images/*.yaml) against the
// real archive. Each spec is copied to a temporary directory first, so the
// repository is never written. For every spec: the lock covers every
// architecture the spec names, `slate lock --check` then reports it up to
// date (exit 0, file untouched), and an --offline resolve of the spec from the
// cache the lock filled gives exactly the locked packages, in the same order.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/build/image_spec.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "live/live_support.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;


// The catalog's spec names ("python3" for images/python3.yaml), sorted.
std::vector<std::string> catalog_images() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(source_dir() / "images"))
        if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

// "name version arch" per package, in order.
std::vector<std::string> package_lines(const nlohmann::json& packages) {
    std::vector<std::string> lines;
    for (const auto& p : packages)
        lines.push_back(p.at("name").get<std::string>() + " " + p.at("version").get<std::string>() + " " +
                        p.at("arch").get<std::string>());
    return lines;
}

class CatalogLock : public ::testing::TestWithParam<std::string> {};

TEST_P(CatalogLock, LocksEveryArchThenChecksCleanAndResolvesOffline) {
    const auto source_spec = source_dir() / "images" / (GetParam() + ".yaml");
    const auto source_lock = source_dir() / "images" / (GetParam() + ".lock.json");
    const auto source_lock_before = fs::exists(source_lock) ? std::optional(util::read_file(source_lock)) : std::nullopt;
    TempDir tmp;
    const auto spec = tmp.path() / source_spec.filename();
    fs::copy_file(source_spec, spec);
    const auto archs = build::load_image_spec(spec).archs;
    ASSERT_FALSE(archs.empty());

    auto lock = run_slate({"lock", spec.string()});
    ASSERT_EQ(lock.exit_code, 0) << "slate lock " << source_spec.string() << " failed:\n" << lock.err;
    const auto lock_path = tmp.path() / (GetParam() + ".lock.json");
    ASSERT_TRUE(fs::exists(lock_path)) << lock.out;
    const auto lock_text = util::read_file(lock_path);
    auto doc = nlohmann::json::parse(lock_text);

    std::set<std::string> locked_archs;
    for (const auto& [arch, _] : doc.at("archs").items()) locked_archs.insert(arch);
    EXPECT_EQ(locked_archs, std::set<std::string>(archs.begin(), archs.end()));
    for (const auto& arch : archs) {
        SCOPED_TRACE(arch);
        ASSERT_TRUE(doc.at("archs").contains(arch));
        const auto& packages = doc.at("archs").at(arch).at("packages");
        EXPECT_FALSE(packages.empty());
        for (const auto& p : packages) {
            const auto package_arch = p.at("arch").get<std::string>();
            EXPECT_TRUE(package_arch == arch || package_arch == "all") << p.at("name") << " is " << package_arch;
        }
    }

    auto check = run_slate({"lock", "--check", spec.string()});
    EXPECT_EQ(check.exit_code, 0) << "slate lock --check right after slate lock:\n" << check.out << check.err;
    EXPECT_NE(check.out.find("up to date"), std::string::npos) << check.out;
    EXPECT_EQ(util::read_file(lock_path), lock_text) << "--check must not write the lock file";

    for (const auto& arch : archs) {
        SCOPED_TRACE(arch);
        auto offline = run_slate({"--offline", "resolve", "--json", "--arch", arch, spec.string()});
        ASSERT_EQ(offline.exit_code, 0) << "offline resolve after lock failed:\n" << offline.err;
        EXPECT_EQ(package_lines(nlohmann::json::parse(offline.out).at("packages")),
                  package_lines(doc.at("archs").at(arch).at("packages")));
    }

    // The repository's lock file (if it has one) was neither written nor created.
    EXPECT_EQ(fs::exists(source_lock) ? std::optional(util::read_file(source_lock)) : std::nullopt, source_lock_before);
}

INSTANTIATE_TEST_SUITE_P(Live, CatalogLock, ::testing::ValuesIn(catalog_images()), test_name);

}  // namespace
}  // namespace slate::test
