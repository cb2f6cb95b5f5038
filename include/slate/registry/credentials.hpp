#pragma once
// Registry credentials, read from and written to Docker's config.json the way
// docker/cli's configfile package does (credential helpers, credsStore, auths),
// and the parsing of WWW-Authenticate challenges.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/util/base64.hpp"

namespace slate::registry {

struct Credentials {
    std::string username;
    std::string password;
    std::string identity_token;  // an OAuth2 refresh token, used instead of a password

    bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
    bool operator==(const Credentials&) const = default;
};

// Docker's credential store for one config.json file.
//
// lookup() tries, in order: credHelpers[registry] (the helper program
// docker-credential-<name>), then credsStore (one helper for every
// registry), then the "auths" map. For docker.io the keys
// "https://index.docker.io/v1/", "index.docker.io" and "docker.io" all match;
// any key may carry a scheme and a path ("https://host:5000/v1/"), matching on
// its host[:port].
//
// store() and erase() use the registry's helper when one is configured, and
// otherwise rewrite config.json atomically (mode 0600, directory 0700 when
// created) keeping every other key of the file as it was.
//
// The file is read afresh by every call; a missing file is an empty config.
// No exception message ever contains a password, token or auth string.
class CredentialStore {
public:
    // `helper_dirs` are searched for docker-credential-<name> before PATH.
    explicit CredentialStore(std::filesystem::path config_file, std::vector<std::filesystem::path> helper_dirs = {},
                             std::chrono::milliseconds helper_timeout = std::chrono::seconds(60));

    const std::filesystem::path& path() const { return m_config_file; }

    // nullopt when nothing is stored for `registry` (a host[:port] such as
    // "docker.io" or "localhost:5000"). Throws slate::Error: Parse for a
    // malformed file or entry, NotFound for a configured helper that is not
    // installed, Config for a helper that fails.
    std::optional<Credentials> lookup(std::string_view registry) const;
    void store(std::string_view registry, const Credentials& credentials);
    // False when nothing was stored for `registry`.
    bool erase(std::string_view registry);

private:
    std::filesystem::path m_config_file;
    std::vector<std::filesystem::path> m_helper_dirs;
    std::chrono::milliseconds m_helper_timeout;
};

// Where Docker keeps config.json: $DOCKER_CONFIG/config.json when
// DOCKER_CONFIG is set and not empty, else $HOME/.docker/config.json. The
// caller passes getenv("DOCKER_CONFIG") and getenv("HOME") (either may be
// null). Throws slate::Error (Config) when neither is set.
std::filesystem::path docker_config_path(const char* docker_config_env, const char* home_env);

// The key Docker files a registry's credentials under: "https://index.docker.io/v1/"
// for docker.io, the host[:port] otherwise. Helpers get it as the ServerURL.
std::string credential_server_url(std::string_view registry);

// One challenge of a WWW-Authenticate header (RFC 7235).
struct Challenge {
    std::string scheme;                         // lowercased: "basic", "bearer"
    std::map<std::string, std::string> params;  // names lowercased, values unquoted and unescaped
    std::string token68;                        // the token68 form ("Negotiate abc=="), else empty
};

// Every challenge in `header_value`, in order, e.g.
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"
// Commas inside quoted values are kept; malformed pieces are skipped.
std::vector<Challenge> parse_www_authenticate(std::string_view header_value);

// Basic credentials are base64 (util/base64.hpp).
using util::base64_decode;
using util::base64_encode;

}  // namespace slate::registry
