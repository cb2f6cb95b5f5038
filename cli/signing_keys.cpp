#include "signing_keys.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <optional>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::cli {
namespace {

constexpr int ExitInterrupted = 130;

// The terminal settings to put back when Ctrl-C arrives while echo is off
// (main's own SIGINT handler would exit and leave the terminal silent). A
// signal handler can only reach them through globals; they are set only while
// a prompt is on screen.
volatile int g_prompt_fd = -1;
struct termios g_saved_termios {};

extern "C" void restore_terminal_and_exit(int) {
    if (g_prompt_fd >= 0) ::tcsetattr(g_prompt_fd, TCSANOW, &g_saved_termios);
    ::_exit(ExitInterrupted);
}

// The controlling terminal, opened for a prompt; absent when there is none
// (a CI job, a daemon, `setsid`).
class Terminal {
public:
    Terminal() : m_fd(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) {
        struct termios probe {};
        if (m_fd >= 0 && ::tcgetattr(m_fd, &probe) != 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }
    ~Terminal() {
        if (m_fd >= 0) ::close(m_fd);
    }
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    bool available() const { return m_fd >= 0; }

    // Shows `prompt`, reads one line with echo off, and restores the terminal
    // however this ends.
    std::string ask(std::string_view prompt) {
        struct termios saved {};
        if (::tcgetattr(m_fd, &saved) != 0) throw Error(ErrorCode::Io, "cannot read the terminal's settings");
        struct termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;  // still echo the newline, so the next output starts on its own line

        g_saved_termios = saved;
        g_prompt_fd = m_fd;
        struct sigaction on_interrupt {}, previous_int {}, previous_term {};
        on_interrupt.sa_handler = restore_terminal_and_exit;
        sigemptyset(&on_interrupt.sa_mask);
        ::sigaction(SIGINT, &on_interrupt, &previous_int);
        ::sigaction(SIGTERM, &on_interrupt, &previous_term);
        struct Restore {
            int fd;
            const struct termios& saved;
            const struct sigaction& old_int;
            const struct sigaction& old_term;
            ~Restore() {
                ::tcsetattr(fd, TCSAFLUSH, &saved);
                g_prompt_fd = -1;
                ::sigaction(SIGINT, &old_int, nullptr);
                ::sigaction(SIGTERM, &old_term, nullptr);
            }
        } restore{m_fd, saved, previous_int, previous_term};

        if (::tcsetattr(m_fd, TCSAFLUSH, &quiet) != 0) throw Error(ErrorCode::Io, "cannot turn off the terminal's echo");
        write_all(prompt);
        std::string line;
        for (;;) {
            char c = 0;
            ssize_t n = ::read(m_fd, &c, 1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw Error(ErrorCode::Io, "cannot read the password from the terminal");
            if (n == 0 || c == '\n') break;
            line.push_back(c);
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }

private:
    void write_all(std::string_view text) {
        while (!text.empty()) {
            ssize_t n = ::write(m_fd, text.data(), text.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            text.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    int m_fd;
};

}  // namespace

std::string read_password(std::string_view what, bool confirm) {
    if (const char* env = std::getenv("SLATE_PASSWORD")) return env;
    Terminal terminal;
    if (!terminal.available())
        throw Error(ErrorCode::Usage, "cannot ask for the password of " + std::string(what) + ": there is no terminal",
                    "Set SLATE_PASSWORD to the password (it may be empty) when running without a terminal.");
    std::string password = terminal.ask("Enter password for " + std::string(what) + ": ");
    if (confirm && terminal.ask("Enter password for " + std::string(what) + " again: ") != password)
        throw Error(ErrorCode::Usage, "the passwords do not match", "Run the command again and type the same password twice.");
    return password;
}

sign::PrivateKey load_signing_key(const std::filesystem::path& path) {
    std::string text = util::read_file(path);
    return sign::PrivateKey::from_pem(
        text, [&] { return read_password(path.string(), false); }, path.string());
}

sign::PublicKey load_verification_key(const std::filesystem::path& path) {
    return sign::PublicKey::from_pem(util::read_file(path), path.string());
}

}  // namespace slate::cli
