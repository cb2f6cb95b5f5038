#pragma once
// Running another program (gpgv, tests' dpkg) with captured output. No shell is
// involved: argv is passed as is.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace slate::util {

struct ProcessOptions {
    std::string stdin_data;                                  // written to the child's stdin, then closed
    std::vector<std::pair<std::string, std::string>> env;    // set (or override) in the child's environment
    std::vector<std::string> unset_env;                      // removed from the child's environment
    std::optional<std::filesystem::path> cwd;
    std::chrono::milliseconds timeout{0};                    // 0: no limit; on expiry the child is killed
};

struct ProcessResult {
    int exit_code = -1;   // the exit status, or 128+signal when killed by a signal
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Throws slate::Error (NotFound) when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Looks a program up in PATH; nullopt when absent.
std::optional<std::filesystem::path> find_program(const std::string& name);

}  // namespace slate::util
