#pragma once
// Shared set-up for end-to-end tests: the fixture archive served on
// 127.0.0.1, a private cache, an empty apt root (so the host's sources never
// leak in), and a way to run the real slate binary.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "slate/util/subprocess.hpp"
#include "support/fixture_archive.hpp"
#include "support/http_server.hpp"
#include "support/paths.hpp"

namespace slate::test {

class ArchiveTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_archive = fixture_archive();
        m_server = std::make_unique<HttpServer>(m_archive);
        m_mirror = m_server->url() + "/debian";
        std::filesystem::create_directories(m_apt_root.path() / "etc/apt");
    }

    // Stays valid after the server is stopped (a mirror that went away).
    const std::string& mirror() const { return m_mirror; }
    std::filesystem::path cache() const { return m_cache.path(); }
    std::filesystem::path keyring() const { return m_archive / "keyring.gpg"; }

    // Runs slate with the fixture's mirror, keyring, cache and suites.
    util::ProcessResult slate(std::vector<std::string> args, std::vector<std::string> leading = {}) const {
        std::vector<std::string> argv{slate_binary().string(), "--mirror", mirror(), "--keyring", keyring().string(),
                                      "--cache-dir", cache().string()};
        argv.insert(argv.end(), leading.begin(), leading.end());
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}};
        options.env.emplace_back("SLATE_RETRIES", "1");
        options.unset_env = {"SLATE_MIRROR", "SLATE_CACHE", "SLATE_KEYRING", "SLATE_OFFLINE", "SLATE_SECURITY_MIRROR"};
        options.timeout = std::chrono::seconds(120);
        return util::run_process(argv, options);
    }

    static inline const std::string Suites = "fixture,fixture-updates,fixture-security";

    // The start of an image spec that builds from the fixture archive: name,
    // archive (mirror, the three suites, keyring) and contents.packages.
    std::string spec_head(const std::string& name, const std::string& packages) const {
        return "name: " + name + "\narchive:\n  mirror: " + mirror() +
               "\n  suites: [fixture, fixture-updates, fixture-security]\n  keyring: [" + keyring().string() +
               "]\ncontents:\n  packages: [" + packages + "]\n";
    }

    std::filesystem::path m_archive;
    std::unique_ptr<HttpServer> m_server;
    std::string m_mirror;
    TempDir m_cache;
    TempDir m_apt_root;
};

}  // namespace slate::test
