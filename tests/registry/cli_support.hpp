#pragma once
// What the end-to-end registry tests share: running the real `slate` binary
// (and skopeo, an independent client) with a private HOME and DOCKER_CONFIG,
// so the developer's ~/.docker is never read or written, and reading what a
// command left in an OCI layout directory.

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {

inline constexpr std::chrono::seconds CliTimeout{180};

using EnvList = std::vector<std::pair<std::string, std::string>>;

// A private home for the processes one test runs: HOME, DOCKER_CONFIG and the
// cache all point inside a temporary directory, and the SLATE_REGISTRY_*
// variables of the developer's shell are removed.
class CliHome {
public:
    CliHome() { std::filesystem::create_directories(docker_config()); }

    const std::filesystem::path& home() const { return m_dir.path(); }
    std::filesystem::path docker_config() const { return m_dir.path() / "docker"; }
    std::filesystem::path config_json() const { return docker_config() / "config.json"; }

    util::ProcessOptions options(const EnvList& env = {}, std::string stdin_data = {}) const {
        util::ProcessOptions options;
        options.timeout = CliTimeout;
        options.stdin_data = std::move(stdin_data);
        options.env = {{"HOME", home().string()},
                       {"DOCKER_CONFIG", docker_config().string()},
                       {"XDG_CACHE_HOME", (home() / "cache").string()},
                       {"XDG_RUNTIME_DIR", home().string()}};
        options.env.insert(options.env.end(), env.begin(), env.end());
        options.unset_env = {"SLATE_REGISTRY_USERNAME", "SLATE_REGISTRY_PASSWORD", "SLATE_CA_FILE", "SLATE_RETRIES",
                             "REGISTRY_AUTH_FILE"};
        for (const auto& [name, value] : env) std::erase(options.unset_env, name);
        return options;
    }

    // `slate ARGS...`; global flags (--retries) go before the command.
    util::ProcessResult slate(std::vector<std::string> args, const EnvList& env = {},
                              std::string stdin_data = {}) const {
        args.insert(args.begin(), slate_binary().string());
        return util::run_process(args, options(env, std::move(stdin_data)));
    }
    // The same, on another thread: for killing a registry under a running push.
    std::future<util::ProcessResult> slate_async(std::vector<std::string> args, const EnvList& env = {}) const {
        args.insert(args.begin(), slate_binary().string());
        return std::async(std::launch::async,
                          [args, options = options(env)] { return util::run_process(args, options); });
    }
    util::ProcessResult skopeo(std::vector<std::string> args) const {
        args.insert(args.begin(), {"skopeo", "--insecure-policy"});
        return util::run_process(args, options());
    }

private:
    TempDir m_dir;
};

inline bool have_skopeo() { return util::find_program("skopeo").has_value(); }

inline std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    return text;
}

inline std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// index.json of a layout directory.
inline nlohmann::json layout_index(const std::filesystem::path& dir) {
    return nlohmann::json::parse(util::read_file(dir / "index.json"));
}

// The digest of a layout's only index.json entry ("" and a test failure when
// there is not exactly one).
inline std::string only_entry_digest(const std::filesystem::path& dir) {
    auto index = layout_index(dir);
    EXPECT_EQ(index.at("manifests").size(), 1u) << index.dump(2);
    if (index.at("manifests").size() != 1) return {};
    return index["manifests"][0].at("digest").get<std::string>();
}

// Every blob of a layout directory, as "sha256:<hex>" (files under blobs/sha256).
inline std::set<std::string> layout_blobs(const std::filesystem::path& dir) {
    std::set<std::string> out;
    auto blobs = dir / "blobs" / "sha256";
    if (!std::filesystem::is_directory(blobs)) return out;
    for (const auto& entry : std::filesystem::directory_iterator(blobs))
        if (entry.is_regular_file()) out.insert("sha256:" + entry.path().filename().string());
    return out;
}

inline unsigned file_mode(const std::filesystem::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return 0;
    return info.st_mode & 07777;
}

}  // namespace slate::test
