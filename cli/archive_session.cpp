#include "archive_session.hpp"

#include "slate/deb/apt_sources.hpp"
#include "slate/deb/sources.hpp"

namespace slate::cli {

namespace {

util::HttpOptions make_http_options(const Settings& settings) {
    util::HttpOptions options;
    options.retries = settings.retries;
    return options;
}

}  // namespace

ArchiveSession::ArchiveSession(const Settings& settings, const build::ArchiveSpec* spec,
                               const ArchiveOverrides& overrides)
    : m_log(settings.verbosity()), m_cache(settings.effective_cache_dir()), m_http(make_http_options(settings), m_log, m_progress) {
    // Precedence: flag/environment > image spec > host apt sources.
    deb::SourceSettings sources;
    sources.mirror = !settings.mirror.empty() ? settings.mirror : (spec ? spec->mirror : "");
    sources.security_mirror = !settings.security_mirror.empty() ? settings.security_mirror
                                                                 : (spec ? spec->security_mirror : "");
    sources.suites = !overrides.suites.empty() ? overrides.suites : (spec ? spec->suites : std::vector<std::string>{});
    if (!overrides.components.empty()) sources.components = overrides.components;
    else if (spec) sources.components = spec->components;

    std::vector<deb::AptSource> host;
    if (sources.mirror.empty() || sources.suites.empty()) host = deb::read_apt_sources(settings.apt_root);
    m_suites = deb::plan_suite_sources(sources, host, deb::host_codename(settings.apt_root));

    deb::ArchiveOptions options;
    if (!settings.keyring.empty()) options.keyrings = {settings.keyring};
    else if (spec && !spec->keyring.empty()) options.keyrings = spec->keyring;
    else options.keyrings = {DefaultKeyring};
    options.insecure_skip_verify = settings.insecure_skip_verify;
    options.offline = settings.offline;
    options.check_valid_until = !settings.ignore_valid_until && deb::apt_checks_valid_until(settings.apt_root);
    m_archive = std::make_unique<deb::ArchiveClient>(m_cache, m_http, m_log, std::move(options));
}

}  // namespace slate::cli
