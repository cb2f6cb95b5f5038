// LIVE: the scanner with real data, end to end. The python image is built
// twice from the real archive: from bookworm alone, and from bookworm plus
// bookworm-security. Advisories are mined from the changelogs of the newest
// versions (`slate advisories mine`), imported, and both images scanned:
// the first must have findings whose fixed versions are what the security
// suite ships (and the second image has), the second none of them.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "live_support.hpp"
#include "slate/deb/version.hpp"
#include "slate/util/fs.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// images/python.yaml for amd64 only, reading `suites`.
fs::path write_spec(const fs::path& dir, const std::string& name, const std::string& suites) {
    std::string spec = util::read_file(source_dir() / "images" / "python.yaml");
    auto archs = spec.find("\narchs:");
    EXPECT_NE(archs, std::string::npos) << "images/python.yaml has no archs: line";
    spec.replace(archs + 1, spec.find('\n', archs + 1) - archs - 1, "archs: [amd64]");
    spec += "\narchive:\n  suites: [" + suites + "]\n";
    fs::path path = dir / (name + ".yaml");
    util::write_file_atomic(path, spec);
    return path;
}

// (source, source version) of every Debian package in a scan's target, from the SBOM.
std::map<std::string, std::string> source_versions(const fs::path& layout) {
    auto result = run_slate({"sbom", "oci:" + layout.string(), "--format", "cyclonedx-json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, std::string> out;
    const json document = json::parse(result.out);  // named: a range-for over a temporary's member dangles
    for (const auto& component : document.at("components")) {
        if (!component.contains("purl") || !component.at("purl").is_string()) continue;
        std::string purl = component.at("purl");
        if (!purl.starts_with("pkg:deb/")) continue;
        std::string name = component.value("name", "");
        std::string version = component.value("version", "");
        std::string source = name, source_version = version;
        for (const auto& property : component.value("properties", json::array())) {
            if (property.value("name", "") == "slate:deb:source") source = property.value("value", "");
            if (property.value("name", "") == "slate:deb:source-version") source_version = property.value("value", "");
        }
        out[source] = source_version;
    }
    return out;
}

json scan(const fs::path& layout, const fs::path& db) {
    auto result = run_slate({"scan", "oci:" + layout.string(), "--db", db.string(), "--format", "json",
                             "--show-negligible", "--no-cache"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return json::parse(result.out);
}

TEST(LiveScan, SecurityUpdatesResolveTheFindingsMinedFromChangelogs) {
    TempDir dir;
    fs::path plain = write_spec(dir.path(), "python-plain", "bookworm");
    fs::path secure = write_spec(dir.path(), "python-secure", "bookworm, bookworm-security");
    for (const auto& [spec, out] : {std::pair{plain, dir.path() / "plain"}, std::pair{secure, dir.path() / "secure"}}) {
        auto built = run_slate({"build", spec.string(), "-o", out.string()});
        ASSERT_EQ(built.exit_code, 0) << built.err;
    }
    fs::path advisories = dir.path() / "advisories";
    auto mined = run_slate({"advisories", "mine", "--suite", "bookworm", "--image", secure.string(), "-o",
                            advisories.string()});
    ASSERT_EQ(mined.exit_code, 0) << mined.err;
    fs::path db = dir.path() / "vuln.db";
    auto imported = run_slate({"db", "import", advisories.string(), "--db", db.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;

    auto plain_sources = source_versions(dir.path() / "plain");
    auto secure_sources = source_versions(dir.path() / "secure");
    std::set<std::string> updated;  // sources the security suite ships newer versions of
    for (const auto& [source, version] : secure_sources)
        if (plain_sources.count(source) && deb::compare_versions(version, plain_sources[source]) > 0)
            updated.insert(source);
    ASSERT_FALSE(updated.empty()) << "bookworm-security has no newer version of any package of the python image";

    json before = scan(dir.path() / "plain", db);
    json after = scan(dir.path() / "secure", db);
    EXPECT_EQ(before.at("distro").at("version"), "12");

    std::set<std::string> fixed_sources;
    std::set<std::pair<std::string, std::string>> fixed_pairs;
    for (const auto& match : before.at("matches")) {
        EXPECT_EQ(match.at("state"), "fixed") << match.dump();  // mined records always carry a fix
        std::string source = match.at("source");
        std::string fixed = match.at("fixed_version");
        ASSERT_TRUE(secure_sources.count(source)) << source;
        // The fix is in what the security suite ships: the second image has it.
        EXPECT_LE(deb::compare_versions(fixed, secure_sources[source]), 0) << match.dump();
        EXPECT_GT(deb::compare_versions(fixed, plain_sources[source]), 0) << match.dump();
        EXPECT_TRUE(updated.count(source)) << match.dump();
        fixed_sources.insert(source);
        fixed_pairs.insert({match.at("vulnerability").get<std::string>(), match.at("package").get<std::string>()});
    }
    EXPECT_FALSE(fixed_sources.empty()) << "no findings in the image built without bookworm-security";
    std::string seen;
    for (const auto& s : fixed_sources) seen += s + " ";
    std::cout << "[ live ] findings fixed by bookworm-security in: " << seen << "(" << before.at("matches").size()
              << " findings)\n";
    for (const auto& match : after.at("matches"))
        EXPECT_FALSE(fixed_pairs.count({match.at("vulnerability").get<std::string>(), match.at("package").get<std::string>()}))
            << match.dump();
    EXPECT_TRUE(after.at("matches").empty()) << after.at("matches").dump();
}

}  // namespace
}  // namespace slate::test
