#pragma once
// Running `slate tlog serve` from the transparency-log tests: a real server
// process on 127.0.0.1 (port 0, learned through --port-file), with its
// output captured. It can never outlive the test: the destructor kills it,
// it dies with the test process (PR_SET_PDEATHSIG), and it is started with
// --idle-exit so that it stops by itself if everything else fails.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "slate/sign/keys.hpp"
#include "slate/sign/tlog_client.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/http.hpp"
#include "slate/util/log.hpp"
#include "support/paths.hpp"

namespace slate::test {

// A log key pair written as files: NAME.key (unencrypted PKCS#8) and NAME.pub.
struct LogKey {
    sign::PrivateKey key;
    std::filesystem::path key_path;
    std::filesystem::path pub_path;
};

inline LogKey make_log_key(const std::filesystem::path& dir, const std::string& name) {
    LogKey out{sign::PrivateKey::generate_p256(), dir / (name + ".key"), dir / (name + ".pub")};
    util::write_file_atomic(out.key_path, out.key.to_pkcs8_pem(), 0600);
    util::write_file_atomic(out.pub_path, out.key.public_key().pem());
    return out;
}

// One thread's connection to a log: the real libcurl client under TlogClient.
struct LogConnection {
    explicit LogConnection(const std::string& url, int retries = 0)
        : http(options(retries), log, progress), client(url, http) {}

    static util::HttpOptions options(int retries) {
        util::HttpOptions o;
        o.retries = retries;
        o.backoff = std::chrono::milliseconds(50);
        o.connect_timeout = std::chrono::seconds(5);
        o.stall_timeout = std::chrono::seconds(10);
        return o;
    }

    util::NullLog log;
    util::NullProgress progress;
    util::CurlHttpClient http;
    sign::TlogClient client;
};

class TlogProcess {
public:
    // Starts `slate tlog serve --data DIR --key KEY` plus `extra` and waits
    // until it listens. Throws std::runtime_error with its stderr when it
    // exits instead (see start_failure() for tests that expect that).
    TlogProcess(const std::filesystem::path& data, const std::filesystem::path& key,
                const std::vector<std::string>& extra = {}, const std::string& password = {}) {
        const auto port_file = m_scratch.path() / "port";
        std::vector<std::string> args = {slate_binary().string(), "tlog", "serve", "--data", data.string(),
                                         "--key", key.string(), "--listen", "127.0.0.1:0",
                                         "--port-file", port_file.string(), "--idle-exit", "120"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<std::string> env = {"PATH=/usr/bin:/bin", "SLATE_PASSWORD=" + password};
        spawn(args, env);

        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            std::error_code ec;
            if (std::filesystem::exists(port_file, ec)) {
                m_port = std::stoi(util::read_file(port_file));
                return;
            }
            if (reap(false)) {
                m_failure = stderr_text();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill_now();
        throw std::runtime_error("slate tlog serve did not start within 30s: " + stderr_text());
    }

    ~TlogProcess() {
        kill_now();
    }
    TlogProcess(const TlogProcess&) = delete;
    TlogProcess& operator=(const TlogProcess&) = delete;

    // Set when the server exited instead of listening: its stderr.
    const std::optional<std::string>& start_failure() const { return m_failure; }
    int exit_code() const { return m_exit_code; }
    bool running() { return !reap(false); }

    std::string url() const {
        if (m_failure) throw std::runtime_error("slate tlog serve failed to start: " + *m_failure);
        return "http://127.0.0.1:" + std::to_string(m_port);
    }
    pid_t pid() const { return m_pid; }
    std::string stderr_text() const { return read_or_empty(m_scratch.path() / "stderr"); }
    std::string stdout_text() const { return read_or_empty(m_scratch.path() / "stdout"); }

    // SIGKILL: no cleanup of any kind in the server.
    void kill_now() {
        if (m_pid > 0 && !m_reaped) {
            ::kill(m_pid, SIGKILL);
            reap(true);
        }
    }
    // SIGTERM and wait (at most 10s); the exit code.
    int terminate() {
        if (m_pid > 0 && !m_reaped) {
            ::kill(m_pid, SIGTERM);
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (!reap(false) && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            kill_now();
        }
        return m_exit_code;
    }
    // Waits up to `timeout` for the server to exit on its own.
    bool exits_within(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!reap(false)) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }

private:
    static std::string read_or_empty(const std::filesystem::path& path) {
        std::error_code ec;
        return std::filesystem::exists(path, ec) ? util::read_file(path) : std::string();
    }

    void spawn(const std::vector<std::string>& args, const std::vector<std::string>& env) {
        // Everything the child needs is prepared before fork(): between fork
        // and exec only async-signal-safe calls are allowed.
        std::vector<char*> argv, envp;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        const std::string out = (m_scratch.path() / "stdout").string(), err = (m_scratch.path() / "stderr").string();
        const pid_t parent = ::getpid();
        m_pid = ::fork();
        if (m_pid < 0) throw std::runtime_error("fork failed");
        if (m_pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            int devnull = ::open("/dev/null", O_RDONLY);
            int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(devnull, 0);
            ::dup2(out_fd, 1);
            ::dup2(err_fd, 2);
            // The test process may block signals in its threads; the server must not inherit that.
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
    }

    // True once the child has exited (reaped now or before).
    bool reap(bool block) {
        if (m_pid <= 0 || m_reaped) return true;
        int status = 0;
        pid_t r = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
        if (r != m_pid) return false;
        m_reaped = true;
        m_exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
    }

    TempDir m_scratch;  // the port file and the captured output
    pid_t m_pid = -1;
    bool m_reaped = false;
    int m_exit_code = -1;
    int m_port = 0;
    std::optional<std::string> m_failure;
};

}  // namespace slate::test
