#pragma once
// How the library talks to whoever runs it: log lines and progress. The
// library never prints; front ends implement these sinks.

#include <cstdint>
#include <string_view>

namespace slate::util {

enum class LogLevel { Debug, Info, Warning, Error };

class LogSink {
public:
    virtual ~LogSink() = default;
    virtual void log(LogLevel level, std::string_view message) = 0;

    void debug(std::string_view m) { log(LogLevel::Debug, m); }
    void info(std::string_view m) { log(LogLevel::Info, m); }
    void warning(std::string_view m) { log(LogLevel::Warning, m); }
};

// A transfer or task with a known or unknown (0) total.
class ProgressSink {
public:
    virtual ~ProgressSink() = default;
    virtual void update(std::string_view label, std::uint64_t done, std::uint64_t total) = 0;
    virtual void finish(std::string_view label) = 0;
};

// Sinks that drop everything, for callers that want silence (and tests).
class NullLog final : public LogSink {
public:
    void log(LogLevel, std::string_view) override {}
};
class NullProgress final : public ProgressSink {
public:
    void update(std::string_view, std::uint64_t, std::uint64_t) override {}
    void finish(std::string_view) override {}
};

}  // namespace slate::util
