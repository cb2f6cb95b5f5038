#pragma once
// What every LIVE test shares: one cache for all live test processes (so the
// real indices are downloaded once) and a way to run the slate binary on it.

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {

inline constexpr auto SlateTimeout = std::chrono::minutes(10);  // a cold run downloads the indices

inline std::filesystem::path live_cache_dir() { return binary_dir() / "live-cache"; }

inline util::ProcessResult run_slate(std::vector<std::string> args) {
    std::vector<std::string> argv{slate_binary().string(), "--cache-dir", live_cache_dir().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    util::ProcessOptions options;
    options.timeout = SlateTimeout;
    return util::run_process(argv, options);
}

// A gtest-safe test name from a package or image name ("php8.2-cli" -> "php8_2_cli").
inline std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string name = info.param;
    for (auto& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name;
}

}  // namespace slate::test
