#include "terminal.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace slate::cli {

void TerminalLog::log(util::LogLevel level, std::string_view message) {
    switch (level) {
    case util::LogLevel::Debug:
        if (m_verbosity > 0) fmt::print(stderr, "debug: {}\n", message);
        break;
    case util::LogLevel::Info:
        if (m_verbosity >= 0) fmt::print(stderr, "{}\n", message);
        break;
    case util::LogLevel::Warning:
        fmt::print(stderr, "warning: {}\n", message);
        break;
    case util::LogLevel::Error:
        fmt::print(stderr, "error: {}\n", message);
        break;
    }
}

TerminalProgress::TerminalProgress() : m_enabled(::isatty(STDERR_FILENO) == 1) {}

namespace {
std::string human_size(std::uint64_t bytes) {
    if (bytes >= 1024 * 1024) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    if (bytes >= 1024) return fmt::format("{:.0f} KiB", static_cast<double>(bytes) / 1024.0);
    return fmt::format("{} B", bytes);
}
}  // namespace

void TerminalProgress::update(std::string_view label, std::uint64_t done, std::uint64_t total) {
    if (!m_enabled) return;
    std::lock_guard lock(m_mutex);
    // A stage without a byte count ("unpacking 38 packages") shows its label alone.
    std::string line = total == 0 && done == 0 ? std::string(label)
        : total > 0
        ? fmt::format("{} {} / {} ({:.0f}%)", label, human_size(done), human_size(total),
                      100.0 * static_cast<double>(done) / static_cast<double>(total))
        : fmt::format("{} {}", label, human_size(done));
    if (line == m_last) return;
    m_last = line;
    fmt::print(stderr, "\r\033[K{}", line);
    std::fflush(stderr);
}

void TerminalProgress::finish(std::string_view) {
    if (!m_enabled) return;
    std::lock_guard lock(m_mutex);
    if (m_last.empty()) return;
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    m_last.clear();
}

}  // namespace slate::cli
