#pragma once
// The CLI's implementations of the library's log and progress sinks: plain
// lines on stderr, and a redrawn progress line only when stderr is a TTY.
// Both may be called from several threads at once.

#include <mutex>
#include <string>

#include "slate/util/log.hpp"

namespace slate::cli {

class TerminalLog final : public util::LogSink {
public:
    explicit TerminalLog(int verbosity) : m_verbosity(verbosity) {}
    void log(util::LogLevel level, std::string_view message) override;

private:
    int m_verbosity;  // -1 quiet, 0 normal, 1 verbose
};

class TerminalProgress final : public util::ProgressSink {
public:
    TerminalProgress();
    void update(std::string_view label, std::uint64_t done, std::uint64_t total) override;
    void finish(std::string_view label) override;

private:
    bool m_enabled;
    std::mutex m_mutex;  // parallel transfers report from several threads
    std::string m_last;
};

}  // namespace slate::cli
