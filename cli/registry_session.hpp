#pragma once
// Glue between the CLI's settings and the library's registry client: options,
// credentials (environment, then Docker's config.json) and the sinks.

#include <optional>
#include <string>

#include "settings.hpp"
#include "slate/registry/credentials.hpp"
#include "slate/registry/transfer.hpp"
#include "slate/util/fs.hpp"
#include "terminal.hpp"

namespace slate::cli {

// SLATE_REGISTRY_USERNAME / SLATE_REGISTRY_PASSWORD (for every registry), then
// the credentials `slate login` or `docker login` stored.
class CliCredentials final : public registry::CredentialSource {
public:
    CliCredentials();
    std::optional<registry::Credentials> lookup(std::string_view registry) override;
    registry::CredentialStore& store() { return m_store; }

private:
    registry::CredentialStore m_store;
};

class RegistrySession {
public:
    // chunk_size 0 keeps the library's default.
    RegistrySession(const Settings& settings, unsigned jobs, std::uint64_t chunk_size = 0);

    TerminalLog& log() { return m_log; }
    registry::ClientPool& pool() { return m_pool; }
    CliCredentials& credentials() { return m_credentials; }

private:
    TerminalLog m_log;
    TerminalProgress m_progress;
    CliCredentials m_credentials;
    registry::ClientPool m_pool;
};

// An image as an OCI layout directory on disk, for commands that unpack it
// (run, test): a layout given as a directory is used where it is; an
// image anywhere else (a registry, a docker-archive, a named entry of a
// layout) is copied into a temporary layout first, removed afterwards.
class LocalImage {
public:
    LocalImage(const Settings& settings, std::string_view location);
    const std::filesystem::path& dir() const { return m_dir; }

private:
    std::optional<util::TempDir> m_temp;
    std::filesystem::path m_dir;
};

registry::ClientOptions registry_options(const Settings& settings, unsigned jobs, std::uint64_t chunk_size = 0);

}  // namespace slate::cli
