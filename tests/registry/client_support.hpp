#pragma once
// What the library-level registry tests share: a fixed credential source, a
// log that keeps what it was told, image locations, and a Session (one
// ClientPool with its sinks) that copies images between layouts and registries.

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "slate/registry/client.hpp"
#include "slate/registry/transfer.hpp"
#include "slate/util/log.hpp"
#include "support/paths.hpp"

namespace slate::test {

class FixedCredentials final : public registry::CredentialSource {
public:
    explicit FixedCredentials(std::optional<registry::Credentials> credentials = std::nullopt)
        : m_credentials(std::move(credentials)) {}
    std::optional<registry::Credentials> lookup(std::string_view) override { return m_credentials; }

private:
    std::optional<registry::Credentials> m_credentials;
};

// Keeps what the library logged, for assertions and failure messages.
class CaptureLog final : public util::LogSink {
public:
    void log(util::LogLevel, std::string_view message) override {
        std::lock_guard lock(m_mutex);
        m_text += std::string(message) + "\n";
    }
    std::string text() const {
        std::lock_guard lock(m_mutex);
        return m_text;
    }

private:
    mutable std::mutex m_mutex;
    std::string m_text;
};

inline registry::ImageLocation layout_location(const std::filesystem::path& dir) {
    registry::ImageLocation location;
    location.kind = registry::ImageLocation::Kind::Layout;
    location.path = dir;
    return location;
}

inline registry::ImageLocation registry_location(const std::string& text) {
    registry::ImageLocation location;
    location.kind = registry::ImageLocation::Kind::Registry;
    location.reference = registry::parse_reference(text);
    return location;
}

// Short backoff, so retry tests stay quick.
inline registry::ClientOptions fast_options(std::string ca_file = {}, bool insecure = false) {
    registry::ClientOptions options;
    options.backoff = std::chrono::milliseconds(20);
    options.retries = 3;
    options.ca_file = std::move(ca_file);
    options.insecure = insecure;
    return options;
}

// One pool, log and progress for a test.
struct Session {
    explicit Session(std::optional<registry::Credentials> credentials = std::nullopt,
                     registry::ClientOptions options = fast_options())
        : credentials(std::move(credentials)), pool(std::move(options), this->credentials, log, progress) {}

    registry::TransferReport copy(const registry::ImageLocation& from, const registry::ImageLocation& to) {
        TempDir scratch;
        registry::ImageSource source(from, pool, scratch.path());
        return registry::copy_image(source, to, pool, {}, log);
    }
    registry::TransferReport push(const std::filesystem::path& layout, const std::string& ref) {
        return copy(layout_location(layout), registry_location(ref));
    }
    registry::TransferReport pull(const std::string& ref, const std::filesystem::path& layout) {
        return copy(registry_location(ref), layout_location(layout));
    }

    FixedCredentials credentials;
    CaptureLog log;
    util::NullProgress progress;
    registry::ClientPool pool;
};

}  // namespace slate::test
