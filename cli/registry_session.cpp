#include "registry_session.hpp"

#include <cstdlib>

namespace slate::cli {

CliCredentials::CliCredentials() : m_store(registry::docker_config_path(std::getenv("DOCKER_CONFIG"), std::getenv("HOME"))) {}

std::optional<registry::Credentials> CliCredentials::lookup(std::string_view registry) {
    const char* user = std::getenv("SLATE_REGISTRY_USERNAME");
    const char* password = std::getenv("SLATE_REGISTRY_PASSWORD");
    if (user && *user && password) return registry::Credentials{user, password, {}};
    return m_store.lookup(registry);
}

registry::ClientOptions registry_options(const Settings& settings, unsigned jobs, std::uint64_t chunk_size) {
    registry::ClientOptions options;
    options.retries = settings.retries;
    options.insecure = settings.insecure_registry;
    options.ca_file = settings.ca_file;
    options.jobs = jobs;
    if (chunk_size) options.chunk_size = chunk_size;
    return options;
}

RegistrySession::RegistrySession(const Settings& settings, unsigned jobs, std::uint64_t chunk_size)
    : m_log(settings.verbosity()),
      m_pool(registry_options(settings, jobs, chunk_size), m_credentials, m_log, m_progress) {
    if (settings.insecure_registry)
        m_log.warning("--insecure: registries may be reached over plain HTTP and their TLS certificates are not checked");
}

LocalImage::LocalImage(const Settings& settings, std::string_view location) {
    registry::ImageLocation where = registry::parse_image_location(location);
    if (where.kind == registry::ImageLocation::Kind::Layout && where.layout_ref.empty()) {
        m_dir = where.path;
        return;
    }
    RegistrySession session(settings, 4);
    util::TempDir scratch(std::filesystem::temp_directory_path(), "slate-source-");
    m_temp.emplace(std::filesystem::temp_directory_path(), "slate-image-");
    m_dir = m_temp->path() / "layout";
    registry::ImageLocation destination;
    destination.kind = registry::ImageLocation::Kind::Layout;
    destination.path = m_dir;
    destination.layout_ref = "latest";
    registry::ImageSource source(where, session.pool(), scratch.path());
    registry::copy_image(source, destination, session.pool(), {}, session.log());
}

}  // namespace slate::cli
