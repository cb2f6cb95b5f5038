#pragma once
// Running an image spec's `test:` section against a built image: commands
// and services run in a bubblewrap sandbox from the unpacked layers; file
// checks read the unpacked tree (resolving symlinks inside it, never on the
// host).

#include <filesystem>
#include <string>
#include <vector>

#include "slate/build/image_spec.hpp"
#include "slate/util/log.hpp"

namespace slate::build {

struct TestOutcome {
    std::string name;
    bool passed = false;
    std::string detail;  // why it failed, with the command's output
};

struct TestReport {
    std::vector<TestOutcome> outcomes;
    bool passed() const;
    std::size_t failures() const;
};

// Runs every test of `spec.test` against the image for `arch` in the OCI
// layout `layout_dir`. Only the host's architecture can run.
TestReport run_image_tests(const ImageSpec& spec, const std::filesystem::path& layout_dir, const std::string& arch,
                           util::LogSink& log);

// `path` (absolute, inside the image) with symlinks resolved inside `root`;
// ".." never leaves it. Empty when a symlink loops.
std::filesystem::path resolve_in_root(const std::filesystem::path& root, const std::string& path);

}  // namespace slate::build
