#include "slate/build/image_test.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "slate/build/rootfs.hpp"
#include "slate/build/sandbox.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/http.hpp"

namespace slate::build {
namespace fs = std::filesystem;

bool TestReport::passed() const { return failures() == 0; }

std::size_t TestReport::failures() const {
    return static_cast<std::size_t>(
        std::count_if(outcomes.begin(), outcomes.end(), [](const TestOutcome& o) { return !o.passed; }));
}

fs::path resolve_in_root(const fs::path& root, const std::string& path) {
    auto resolved = resolve_image_path(path, true, [&](const std::string& p) -> std::optional<std::string> {
        auto host = root / p;
        struct stat st {};
        if (::lstat(host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return std::nullopt;
        std::string target(4096, '\0');
        auto n = ::readlink(host.c_str(), target.data(), target.size());
        if (n < 0) return std::nullopt;
        target.resize(static_cast<std::size_t>(n));
        return target;
    });
    return resolved ? root / *resolved : fs::path();
}

namespace {

std::string tail(const std::string& text, std::size_t max = 2000) {
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

TestOutcome run_command(const UnpackedImage& image, const TestCommand& test) {
    TestOutcome outcome{test.name, false, {}};
    auto spec = image.sandbox_spec({});
    spec.argv = test.argv;  // the entrypoint is not prepended for test commands
    auto result = run_in_sandbox(spec);
    std::string output = result.out + result.err;
    if (result.timed_out) {
        outcome.detail = fmt::format("timed out after {}s\n{}", spec.timeout.count(), tail(output));
        return outcome;
    }
    if (result.exit_code != test.expect_exit) {
        outcome.detail = fmt::format("exited with {} (expected {})\n{}", result.exit_code, test.expect_exit, tail(output));
        return outcome;
    }
    if (!test.expect_output.empty() &&
        !std::regex_search(output, std::regex(test.expect_output, std::regex::ECMAScript))) {
        outcome.detail = fmt::format("output does not match /{}/\n{}", test.expect_output, tail(output));
        return outcome;
    }
    outcome.passed = true;
    return outcome;
}

TestOutcome check_file(const fs::path& root, const FileCheck& check) {
    TestOutcome outcome{"file " + check.path, false, {}};
    auto resolved = resolve_in_root(root, check.path);
    std::error_code ec;
    if (resolved.empty() || !fs::is_regular_file(fs::symlink_status(resolved, ec))) {
        outcome.detail = fmt::format("{} is not a file in the image", check.path);
        return outcome;
    }
    if (!check.contains.empty() && util::read_file(resolved).find(check.contains) == std::string::npos) {
        outcome.detail = fmt::format("{} does not contain \"{}\"", check.path, check.contains);
        return outcome;
    }
    outcome.passed = true;
    return outcome;
}

TestOutcome check_service(const UnpackedImage& image, const ServiceCheck& check, util::LogSink& log) {
    TestOutcome outcome{check.name, false, {}};
    SandboxSpec spec = image.sandbox_spec(check.command);
    if (!check.command.empty()) spec.argv = check.command;
    spec.network = true;
    spec.stdout_to_stderr = true;  // a server's logs must not mix with slate's own output
    spec.timeout = std::chrono::seconds(check.timeout_seconds + 10);
    std::atomic<int> pid{0};
    std::atomic<bool> exited{false};
    int exit_code = -1;
    std::thread service([&] {
        exit_code = run_in_sandbox_streaming(spec, [&](int p) { pid = p; });
        exited = true;
    });

    util::NullLog quiet;
    util::NullProgress no_progress;
    util::HttpOptions options;
    options.retries = 0;
    options.connect_timeout = std::chrono::seconds(2);
    util::CurlHttpClient http(options, quiet, no_progress);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(check.timeout_seconds);
    std::string last_error = "no answer";
    while (std::chrono::steady_clock::now() < deadline && !exited) {
        try {
            std::string body;
            util::HttpRequest request;
            request.url = check.url;
            auto response = http.get(request, body);
            if (response.status != check.expect_status) {
                last_error = fmt::format("HTTP {} (expected {})", response.status, check.expect_status);
            } else if (!check.expect_body.empty() &&
                       !std::regex_search(body, std::regex(check.expect_body, std::regex::ECMAScript))) {
                last_error = fmt::format("the body does not match /{}/: {}", check.expect_body, tail(body, 500));
            } else {
                outcome.passed = true;
                break;
            }
        } catch (const Error& e) {
            last_error = e.message();  // 404 and friends land here too
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (pid > 0 && !exited) ::kill(pid, SIGTERM);
    service.join();
    if (!outcome.passed)
        outcome.detail = exited && exit_code != 0 && !outcome.passed
                             ? fmt::format("the service exited with {} before answering ({})", exit_code, last_error)
                             : fmt::format("{}: {}", check.url, last_error);
    log.debug(fmt::format("service {} stopped", check.name));
    return outcome;
}

}  // namespace

TestReport run_image_tests(const ImageSpec& spec, const fs::path& layout_dir, const std::string& arch,
                           util::LogSink& log) {
    TestReport report;
    if (spec.test.empty()) return report;
    auto image = UnpackedImage::unpack(layout_dir, arch, default_architecture(), fs::temp_directory_path(), log);
    for (const auto& check : spec.test.files) report.outcomes.push_back(check_file(image.root(), check));
    for (const auto& command : spec.test.commands) report.outcomes.push_back(run_command(image, command));
    for (const auto& service : spec.test.services) report.outcomes.push_back(check_service(image, service, log));
    for (const auto& o : report.outcomes)
        log.info(o.passed ? fmt::format("test {} ({}): passed", o.name, arch)
                          : fmt::format("test {} ({}): FAILED: {}", o.name, arch, o.detail));
    return report;
}

}  // namespace slate::build
