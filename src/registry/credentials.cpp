#include "slate/registry/credentials.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "slate/error.hpp"
#include "slate/registry/reference.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"

namespace slate::registry {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // ordered: a rewritten config.json keeps its key order

namespace {

// Docker Hub's key in config.json, as `docker login` writes it.
constexpr std::string_view DockerHubServerUrl = "https://index.docker.io/v1/";
// A helper's Username meaning "Secret is an identity token" (docker-credential-helpers).
constexpr std::string_view TokenUsername = "<token>";

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string trim(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

// The host[:port] of a config key or registry name: "https://host:5000/v1/"
// -> "host:5000" (docker/cli's ConvertToHostname), lowercased, with
// index.docker.io folded into docker.io.
std::string registry_host(std::string_view key) {
    if (auto scheme = key.find("://"); scheme != std::string_view::npos) key = key.substr(scheme + 3);
    key = key.substr(0, key.find('/'));
    std::string host = lowercase(key);
    if (host == "index.docker.io") host = std::string(DockerHub);
    return host;
}

// Keys tried first, in order, before any other key with the same host.
std::vector<std::string> preferred_keys(const std::string& host) {
    if (host == DockerHub) return {std::string(DockerHubServerUrl), "index.docker.io", "docker.io"};
    return {host, "https://" + host, "http://" + host};
}

// The keys of `object` that name `host`, preferred ones first.
std::vector<std::string> matching_keys(const Json& object, const std::string& host) {
    std::vector<std::string> keys;
    for (const auto& key : preferred_keys(host))
        if (object.contains(key)) keys.push_back(key);
    for (const auto& [key, value] : object.items())
        if (registry_host(key) == host && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    return keys;
}

// Replaces every secret in `text` (a helper's own error output, which a buggy
// helper might fill with what it was given) so it never reaches a message.
std::string redact(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets) {
        if (secret.empty()) continue;
        for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
            text.replace(pos, secret.size(), "***");
    }
    return text;
}

// The first line of a helper's complaint, short enough for a message.
std::string helper_complaint(const util::ProcessResult& result) {
    std::string text = trim(result.err.empty() ? result.out : result.err);
    text = text.substr(0, text.find('\n'));
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    return text.empty() ? "no output" : text;
}

bool says_not_found(const util::ProcessResult& result) {
    return result.out.find("credentials not found") != std::string::npos ||
           result.err.find("credentials not found") != std::string::npos;
}

}  // namespace

// -------------------------------------------------------- where config.json is

fs::path docker_config_path(const char* docker_config_env, const char* home_env) {
    if (docker_config_env && *docker_config_env) return fs::path(docker_config_env) / "config.json";
    if (home_env && *home_env) return fs::path(home_env) / ".docker" / "config.json";
    throw Error(ErrorCode::Config, "cannot find Docker's config.json: neither DOCKER_CONFIG nor HOME is set",
                "set DOCKER_CONFIG to the directory that holds config.json");
}

std::string credential_server_url(std::string_view registry) {
    std::string host = registry_host(registry);
    return host == DockerHub ? std::string(DockerHubServerUrl) : host;
}

// ----------------------------------------------------------------- the store

namespace {

// config.json and what is needed to read and rewrite it.
class ConfigFile {
public:
    explicit ConfigFile(const fs::path& path) : m_path(path) {
        std::error_code ec;
        if (!fs::exists(m_path, ec)) {
            m_json = Json::object();
            return;
        }
        std::string text = util::read_file(m_path);
        if (trim(text).empty()) {  // Docker accepts an empty file
            m_json = Json::object();
            return;
        }
        try {
            m_json = Json::parse(text);
        } catch (const Json::parse_error& e) {
            // e.what() quotes the text near the error, which may be a secret:
            // report the position only.
            throw Error(ErrorCode::Parse,
                        "cannot read " + m_path.string() + ": not valid JSON (byte " + std::to_string(e.byte) + ")",
                        "fix the file, or move it away and log in again");
        }
        if (!m_json.is_object()) bad("the file is not a JSON object");
        for (const char* section : {"auths", "credHelpers"})
            if (m_json.contains(section) && !m_json[section].is_object())
                bad(std::string("\"") + section + "\" is not a JSON object");
        if (m_json.contains("credsStore") && !m_json["credsStore"].is_string()) bad("\"credsStore\" is not a string");
    }

    [[noreturn]] void bad(const std::string& why) const {
        throw Error(ErrorCode::Parse, "cannot read " + m_path.string() + ": " + why,
                    "fix the file, or move it away and log in again");
    }

    // The helper configured for `host`: credHelpers first, then credsStore.
    std::optional<std::string> helper_for(const std::string& host) const {
        if (m_json.contains("credHelpers")) {
            for (const auto& key : matching_keys(m_json["credHelpers"], host)) {
                const Json& name = m_json["credHelpers"][key];
                if (!name.is_string()) bad("credHelpers[\"" + key + "\"] is not a string");
                if (!name.get<std::string>().empty()) return name.get<std::string>();
            }
        }
        if (m_json.contains("credsStore") && !m_json["credsStore"].get<std::string>().empty())
            return m_json["credsStore"].get<std::string>();
        return std::nullopt;
    }

    std::optional<Credentials> auths_lookup(const std::string& host) const {
        if (!m_json.contains("auths")) return std::nullopt;
        for (const auto& key : matching_keys(m_json["auths"], host))
            if (auto credentials = decode_entry(key, m_json["auths"][key])) return credentials;
        return std::nullopt;
    }

    Json& auths() {
        if (!m_json.contains("auths")) m_json["auths"] = Json::object();
        return m_json["auths"];
    }

    // Writes the file atomically with mode 0600. A symlinked config.json (a
    // dotfiles checkout) stays a symlink: its target is rewritten, as Docker does.
    void save() const {
        std::error_code ec;
        fs::path target = m_path;
        if (fs::is_symlink(m_path, ec)) target = fs::weakly_canonical(m_path);
        create_private_directories(target.parent_path());
        util::write_file_atomic(target, m_json.dump(1, '\t') + "\n", 0600);
    }

private:
    std::string field(const std::string& key, const Json& entry, const char* name) const {
        if (!entry.contains(name)) return {};
        if (!entry[name].is_string()) bad("auths[\"" + key + "\"]." + name + " is not a string");
        return entry[name].get<std::string>();
    }

    std::optional<Credentials> decode_entry(const std::string& key, const Json& entry) const {
        if (!entry.is_object()) bad("auths[\"" + key + "\"] is not a JSON object");
        Credentials credentials{field(key, entry, "username"), field(key, entry, "password"),
                                field(key, entry, "identitytoken")};
        if (std::string auth = field(key, entry, "auth"); !auth.empty()) {
            auto decoded = base64_decode(auth);
            if (!decoded) bad("the \"auth\" value for \"" + key + "\" is not valid base64");
            auto colon = decoded->find(':');
            if (colon == std::string::npos) bad("the \"auth\" value for \"" + key + "\" does not hold user:password");
            credentials.username = decoded->substr(0, colon);
            credentials.password = decoded->substr(colon + 1);
            // docker/cli trims NULs some tools leave at the end of the password.
            while (!credentials.password.empty() && credentials.password.back() == '\0') credentials.password.pop_back();
        }
        if (credentials.empty()) return std::nullopt;
        return credentials;
    }

    static void create_private_directories(const fs::path& dir) {
        if (dir.empty()) return;
        std::error_code ec;
        if (fs::exists(dir, ec)) return;
        create_private_directories(dir.parent_path());
        fs::create_directory(dir, ec);
        if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
        if (ec)
            throw Error(ErrorCode::Io, "cannot create directory " + dir.string() + ": " + ec.message(),
                        "check that its parent is writable, or set DOCKER_CONFIG to a writable directory");
    }

    fs::path m_path;
    Json m_json;
};

}  // namespace

CredentialStore::CredentialStore(fs::path config_file, std::vector<fs::path> helper_dirs,
                                 std::chrono::milliseconds helper_timeout)
    : m_config_file(std::move(config_file)), m_helper_dirs(std::move(helper_dirs)), m_helper_timeout(helper_timeout) {}

namespace {

// Runs `docker-credential-<helper> <action>` with `input` on stdin.
util::ProcessResult run_helper(const std::string& helper, const char* action, const std::string& input,
                               const std::vector<fs::path>& dirs, std::chrono::milliseconds timeout) {
    std::string program = "docker-credential-" + helper;
    if (helper.find('/') != std::string::npos || helper == "." || helper == "..")
        throw Error(ErrorCode::Config, "credential helper name \"" + helper + "\" is not valid",
                    "credsStore and credHelpers name a helper such as \"pass\" or \"secretservice\", not a path");
    std::optional<fs::path> found;
    for (const auto& dir : dirs)
        if (::access((dir / program).c_str(), X_OK) == 0) {
            found = dir / program;
            break;
        }
    if (!found) found = util::find_program(program);
    if (!found)
        throw Error(ErrorCode::NotFound, "credential helper " + program + " is not installed",
                    "install " + program + " into PATH, or remove it from credsStore/credHelpers in Docker's config.json");
    util::ProcessOptions options;
    options.stdin_data = input;
    options.timeout = timeout;
    util::ProcessResult result = util::run_process({found->string(), action}, options);
    if (result.timed_out)
        throw Error(ErrorCode::Config,
                    program + " " + action + " did not finish within " + std::to_string(timeout.count() / 1000) + " s",
                    "check that the helper can run without asking for input (unlock its keyring first)");
    return result;
}

}  // namespace

std::optional<Credentials> CredentialStore::lookup(std::string_view registry) const {
    const std::string host = registry_host(registry);
    ConfigFile config(m_config_file);
    if (auto helper = config.helper_for(host)) {
        const std::string server = credential_server_url(host);
        auto result = run_helper(*helper, "get", server, m_helper_dirs, m_helper_timeout);
        if (result.exit_code != 0) {
            if (!says_not_found(result))
                throw Error(ErrorCode::Config,
                            "docker-credential-" + *helper + " could not get credentials for " + server + " (exit " +
                                std::to_string(result.exit_code) + "): " + helper_complaint(result),
                            "check the helper works: echo " + server + " | docker-credential-" + *helper + " get");
        } else {
            Json answer;
            try {
                answer = Json::parse(result.out);
            } catch (const Json::parse_error&) {
                answer = nullptr;  // the output may hold a secret: never quote it
            }
            if (!answer.is_object() || !answer.value("Username", Json("")).is_string() ||
                !answer.value("Secret", Json("")).is_string())
                throw Error(ErrorCode::Parse,
                            "docker-credential-" + *helper + " answered for " + server + " with something other than "
                            "a JSON object of strings {\"ServerURL\",\"Username\",\"Secret\"}",
                            "update the helper, or remove it from Docker's config.json");
            std::string username = answer.value("Username", "");
            std::string secret = answer.value("Secret", "");
            Credentials credentials;
            if (username == TokenUsername) credentials.identity_token = secret;
            else credentials = {username, secret, {}};
            if (!credentials.empty()) return credentials;
        }
    }
    return config.auths_lookup(host);
}

void CredentialStore::store(std::string_view registry, const Credentials& credentials) {
    const std::string host = registry_host(registry);
    if (credentials.empty())
        throw Error(ErrorCode::Usage, "no credentials to store for " + host, "give a username and password, or a token");
    ConfigFile config(m_config_file);
    const std::string server = credential_server_url(host);
    std::string auth = credentials.username.empty() && credentials.password.empty()
                           ? std::string{}
                           : base64_encode(credentials.username + ":" + credentials.password);
    if (auto helper = config.helper_for(host)) {
        Json request = {{"ServerURL", server}};
        if (!credentials.identity_token.empty()) {
            request["Username"] = TokenUsername;
            request["Secret"] = credentials.identity_token;
        } else {
            request["Username"] = credentials.username;
            request["Secret"] = credentials.password;
        }
        auto result = run_helper(*helper, "store", request.dump(), m_helper_dirs, m_helper_timeout);
        if (result.exit_code != 0)
            throw Error(ErrorCode::Config,
                        "docker-credential-" + *helper + " could not store credentials for " + server + " (exit " +
                            std::to_string(result.exit_code) + "): " +
                            redact(helper_complaint(result), {credentials.password, credentials.identity_token, auth}),
                        "check that the helper works and its keyring is unlocked");
        return;
    }
    // Update the entry in place: other fields Docker or other tools keep there
    // ("email", ...) survive; the credential fields are replaced.
    Json& auths = config.auths();
    Json& entry = auths[server];
    if (!entry.is_object()) entry = Json::object();
    for (const char* name : {"auth", "username", "password", "identitytoken"}) entry.erase(name);
    if (!auth.empty()) entry["auth"] = auth;
    if (!credentials.identity_token.empty()) entry["identitytoken"] = credentials.identity_token;
    config.save();
}

bool CredentialStore::erase(std::string_view registry) {
    const std::string host = registry_host(registry);
    ConfigFile config(m_config_file);
    bool erased = false;
    if (auto helper = config.helper_for(host)) {
        const std::string server = credential_server_url(host);
        auto result = run_helper(*helper, "erase", server, m_helper_dirs, m_helper_timeout);
        if (result.exit_code == 0) erased = true;
        else if (!says_not_found(result))
            throw Error(ErrorCode::Config,
                        "docker-credential-" + *helper + " could not erase credentials for " + server + " (exit " +
                            std::to_string(result.exit_code) + "): " + helper_complaint(result),
                        "check that the helper works and its keyring is unlocked");
    }
    // Like docker/cli, also drop what the file itself holds for the registry.
    Json& auths = config.auths();
    auto keys = matching_keys(auths, host);
    if (!keys.empty()) {
        for (const auto& key : keys) auths.erase(key);
        config.save();
        erased = true;
    }
    return erased;
}

// ------------------------------------------------------- WWW-Authenticate

namespace {

bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token68_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("-._~+/").find(c) != std::string_view::npos;
}

// A cursor over the header, following RFC 7235's grammar:
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
// Challenges are separated by commas as well, so after a comma a token
// followed by "=" continues the parameters and anything else starts a new
// challenge.
class ChallengeParser {
public:
    explicit ChallengeParser(std::string_view text) : m_s(text) {}

    std::vector<Challenge> parse() {
        std::vector<Challenge> out;
        while (skip_separators(), m_i < m_s.size()) {
            std::string_view scheme = token();
            if (scheme.empty()) {  // junk where a scheme should be
                ++m_i;
                skip_past_comma();
                continue;
            }
            Challenge challenge{lowercase(scheme), {}, {}};
            if (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t')) {
                skip_ows();
                if (!read_token68(challenge.token68)) read_params(challenge);
            }
            out.push_back(std::move(challenge));
        }
        return out;
    }

private:
    void skip_ows() {
        while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t')) ++m_i;
    }
    void skip_separators() {
        while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == ',')) ++m_i;
    }
    void skip_past_comma() {
        while (m_i < m_s.size() && m_s[m_i] != ',') ++m_i;
    }
    std::string_view token() {
        std::size_t start = m_i;
        while (m_i < m_s.size() && is_tchar(m_s[m_i])) ++m_i;
        return m_s.substr(start, m_i - start);
    }

    // token68 ("abc==") stands alone: it ends the challenge.
    bool read_token68(std::string& out) {
        std::size_t j = m_i;
        while (j < m_s.size() && is_token68_char(m_s[j])) ++j;
        if (j == m_i) return false;
        while (j < m_s.size() && m_s[j] == '=') ++j;
        std::size_t end = j;
        while (j < m_s.size() && (m_s[j] == ' ' || m_s[j] == '\t')) ++j;
        if (j < m_s.size() && m_s[j] != ',') return false;
        out = std::string(m_s.substr(m_i, end - m_i));
        m_i = j;
        return true;
    }

    void read_params(Challenge& challenge) {
        for (;;) {
            std::size_t mark = m_i;
            skip_separators();
            std::string_view name = token();
            skip_ows();
            if (name.empty() || m_i >= m_s.size() || m_s[m_i] != '=') {
                m_i = mark;  // not a parameter: the next challenge starts here
                return;
            }
            ++m_i;
            skip_ows();
            std::string value = m_i < m_s.size() && m_s[m_i] == '"' ? quoted() : std::string(token());
            challenge.params.emplace(lowercase(name), std::move(value));  // the first of duplicates wins
            skip_ows();
            if (m_i >= m_s.size()) return;
            if (m_s[m_i] != ',') skip_past_comma();  // junk after a value
        }
    }

    // A quoted-string, with backslash escapes; an unterminated one runs to the end.
    std::string quoted() {
        std::string out;
        ++m_i;
        while (m_i < m_s.size() && m_s[m_i] != '"') {
            if (m_s[m_i] == '\\' && m_i + 1 < m_s.size()) ++m_i;
            out.push_back(m_s[m_i++]);
        }
        if (m_i < m_s.size()) ++m_i;
        return out;
    }

    std::string_view m_s;
    std::size_t m_i = 0;
};

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view header_value) {
    return ChallengeParser(header_value).parse();
}

}  // namespace slate::registry
