#pragma once
// Glue between the CLI's settings and the library's archive client: which
// suites from which mirrors, the cache, the HTTP client and the sinks.

#include <memory>
#include <string>
#include <vector>

#include "settings.hpp"
#include "slate/build/image_spec.hpp"
#include "slate/deb/archive.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/http.hpp"
#include "terminal.hpp"

namespace slate::cli {

struct ArchiveOverrides {
    std::vector<std::string> suites;      // --suite
    std::vector<std::string> components;  // --component
};

class ArchiveSession {
public:
    // `spec` may be null (packages named on the command line only).
    ArchiveSession(const Settings& settings, const build::ArchiveSpec* spec, const ArchiveOverrides& overrides);

    TerminalLog& log() { return m_log; }
    TerminalProgress& progress() { return m_progress; }
    util::BlobCache& cache() { return m_cache; }
    const util::HttpOptions& http_options() const { return m_http.options(); }
    deb::ArchiveClient& archive() { return *m_archive; }
    const std::vector<deb::SuiteSource>& suites() const { return m_suites; }

private:
    TerminalLog m_log;
    TerminalProgress m_progress;
    util::BlobCache m_cache;
    util::CurlHttpClient m_http;
    std::unique_ptr<deb::ArchiveClient> m_archive;
    std::vector<deb::SuiteSource> m_suites;
};

// The default keyring: the debian-archive-keyring package's.
inline constexpr const char* DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

}  // namespace slate::cli
