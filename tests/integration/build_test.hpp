#pragma once
// The fixture of the `slate build` integration tests: a spec over the fixture
// archive and a way to run the build on it.

#include <nlohmann/json.hpp>

#include "integration/archive_test.hpp"
#include "slate/util/fs.hpp"

namespace slate::test {

class BuildCommand : public ArchiveTest {
protected:

    // A spec over the fixture archive; `extra` is appended as YAML.
    std::filesystem::path write_spec(const std::string& packages, const std::string& extra = "", const std::string& name = "app") {
        auto path = m_work.path() / (name + ".yaml");
        util::write_file_atomic(path, spec_head(name, packages) +
                                          "archs: [amd64, arm64]\n"
                                          "accounts:\n"
                                          "  run-as: nonroot\n"
                                          "  users: [{username: nonroot, uid: 65532, gid: 65532}]\n"
                                          "  groups: [{groupname: nonroot, gid: 65532}]\n"
                                          "entrypoint: {command: [/usr/bin/hello]}\n" + extra);
        return path;
    }

    util::ProcessResult build(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {},
                              const std::filesystem::path& cache_dir = {}) const {
        std::vector<std::string> argv{slate_binary().string(), "--cache-dir",
                                      (cache_dir.empty() ? cache() : cache_dir).string(), "build"};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}, {"SLATE_RETRIES", "1"}};
        options.env.insert(options.env.end(), env.begin(), env.end());
        options.unset_env = {"SLATE_MIRROR", "SLATE_CACHE", "SLATE_KEYRING", "SLATE_OFFLINE", "SOURCE_DATE_EPOCH"};
        options.timeout = std::chrono::seconds(300);
        return util::run_process(argv, options);
    }

    static std::string digest_of(const util::ProcessResult& r) {
        return nlohmann::json::parse(r.out).at("digest").get<std::string>();
    }

    // No output and no staging directory was left in the work directory.
    void expect_nothing_written(const std::filesystem::path& output) {
        EXPECT_FALSE(std::filesystem::exists(output)) << output;
        for (const auto& entry : std::filesystem::directory_iterator(output.parent_path()))
            EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
    }

    TempDir m_work;
};

}  // namespace slate::test
