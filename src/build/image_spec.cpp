#include "slate/build/image_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <regex>
#include <set>
#include <utility>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/text.hpp"

namespace slate::build {
namespace {

constexpr std::array<std::string_view, 9> SupportedArchitectureList = {
    "amd64", "arm64", "armhf", "i386", "ppc64el", "s390x", "riscv64", "armel", "mips64el"};

// Names other tools use for Debian architectures, so a typo gets a useful suggestion.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> ArchitectureAliases = {{
    {"x86_64", "amd64"}, {"x86-64", "amd64"}, {"aarch64", "arm64"}, {"arm64v8", "arm64"},
    {"armv7", "armhf"}, {"i686", "i386"}, {"ppc64le", "ppc64el"}, {"riscv", "riscv64"},
}};

constexpr std::string_view DocsHint = "see docs/image-spec.md for every key, its type and its default";

// ---------------------------------------------------------------- small text helpers

std::string join(const std::vector<std::string_view>& words) {
    std::string out;
    for (auto w : words) {
        if (!out.empty()) out += ", ";
        out += w;
    }
    return out;
}

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::size_t limit = word.size() >= 5 ? 2 : 1;
    std::optional<std::string_view> best;
    std::size_t best_distance = limit + 1;
    for (auto c : candidates) {
        std::size_t d = util::suggestion_distance(word, c);
        if (d < best_distance && d < word.size()) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
    auto c = closest(word, candidates);
    return c ? fmt::format("; did you mean '{}'?", *c) : std::string{};
}

// "<lead>; did you mean 'x'? Allowed: a, b." (or "<lead>. Allowed: a, b.").
std::string not_one_of(std::string_view lead, std::string_view word, const std::vector<std::string_view>& allowed,
                       std::string_view allowed_label = "Allowed") {
    std::string suggestion = did_you_mean(word, allowed);
    return fmt::format("{}{} {}: {}.", lead, suggestion.empty() ? "." : suggestion, allowed_label, join(allowed));
}

bool all_chars(std::string_view s, auto pred) {
    return std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
}
bool is_lower_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

bool is_valid_image_name(std::string_view s) {
    return !s.empty() && s.size() <= 128 && is_lower_alnum(static_cast<unsigned char>(s[0])) &&
           all_chars(s, [](unsigned char c) { return is_lower_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// useradd's default NAME_REGEX: [a-z_][a-z0-9_-]*, at most 32 characters.
bool is_valid_account_name(std::string_view s) {
    return !s.empty() && s.size() <= 32 && (std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
           all_chars(s, [](unsigned char c) { return is_lower_alnum(c) || c == '_' || c == '-'; });
}

// Debian policy 5.6.12: [epoch:]upstream[-revision], upstream starts with a digit.
bool is_plausible_version(std::string_view v) {
    std::size_t colon = v.find(':');
    if (colon != std::string_view::npos) {
        if (colon == 0 || !all_chars(v.substr(0, colon), is_digit)) return false;
        v.remove_prefix(colon + 1);
    }
    return !v.empty() && is_digit(static_cast<unsigned char>(v[0])) &&
           all_chars(v, [](unsigned char c) { return std::isalnum(c) || std::string_view(".+~-:").find(c) != std::string_view::npos; });
}

bool is_supported_architecture(std::string_view arch) {
    return std::find(SupportedArchitectureList.begin(), SupportedArchitectureList.end(), arch) !=
           SupportedArchitectureList.end();
}

std::string architecture_problem(std::string_view arch) {
    std::vector<std::string_view> known(SupportedArchitectureList.begin(), SupportedArchitectureList.end());
    std::string suggestion;
    for (auto [alias, debian] : ArchitectureAliases)
        if (alias == arch) suggestion = fmt::format("; Debian calls it '{}'.", debian);
    if (suggestion.empty()) suggestion = did_you_mean(arch, known);
    if (suggestion.empty()) suggestion = ".";
    return fmt::format("'{}' is not a supported architecture{} Supported: {}", arch, suggestion, join(known));
}

// Returns a problem description, or nothing when `text` is a valid request.
std::optional<std::string> package_request_problem(std::string_view text, PackageRequest& out) {
    std::string_view rest = text;
    std::size_t eq = rest.find('=');
    if (eq != std::string_view::npos) {
        out.version = std::string(rest.substr(eq + 1));
        rest = rest.substr(0, eq);
        if (!is_plausible_version(out.version))
            return fmt::format("'{}' has an invalid version '{}': a Debian version starts with a digit "
                               "(after an optional 'epoch:') and uses letters, digits and . + ~ - :",
                               text, out.version);
    }
    std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
        out.arch = std::string(rest.substr(colon + 1));
        rest = rest.substr(0, colon);
        if (out.arch != "all" && !is_supported_architecture(out.arch))
            return fmt::format("'{}': {}", text, architecture_problem(out.arch));
    }
    out.name = std::string(rest);
    if (!is_valid_package_name(out.name)) {
        std::string lower(out.name);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string hint = lower != out.name && is_valid_package_name(lower) ? fmt::format("; did you mean '{}'?", lower) : "";
        return fmt::format("'{}' is not a valid Debian package name: names are at least two characters of "
                           "lowercase letters, digits and + . -, starting with a letter or digit{}",
                           out.name, hint);
    }
    return std::nullopt;
}

// Splits a command string into argv: whitespace separates words, '...' is literal,
// "..." allows \" and \\, a backslash outside quotes escapes the next character.
// No variables, globs or other shell features: the image may not have a shell.
std::optional<std::string> split_words(std::string_view text, std::vector<std::string>& out) {
    std::string word;
    bool in_word = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) out.push_back(std::exchange(word, {}));
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\'') {
            std::size_t end = text.find('\'', i + 1);
            if (end == std::string_view::npos) return "unterminated ' quote";
            word += text.substr(i + 1, end - i - 1);
            i = end;
        } else if (c == '"') {
            for (++i;; ++i) {
                if (i >= text.size()) return "unterminated \" quote";
                if (text[i] == '"') break;
                if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) ++i;
                word += text[i];
            }
        } else if (c == '\\' && i + 1 < text.size()) {
            word += text[++i];
        } else {
            word += c;
        }
    }
    if (in_word) out.push_back(std::move(word));
    return std::nullopt;
}

// ---------------------------------------------------------------- located values

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "nothing";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar: break;
    }
    const std::string& s = node.Scalar();
    return s.size() > 40 ? fmt::format("'{}...'", s.substr(0, 40)) : fmt::format("'{}'", s);
}

// Turns a YAML mark into the "FILE:LINE:COLUMN: " prefix and throws.
class Reporter {
public:
    explicit Reporter(std::string file) : m_file(std::move(file)) {}

    [[noreturn]] void fail(const YAML::Mark& mark, std::string_view path, std::string_view problem,
                           std::string hint = {}) const {
        int line = mark.is_null() ? 0 : mark.line;
        int column = mark.is_null() ? 0 : mark.column;
        std::string message = fmt::format("{}:{}:{}: ", m_file, line + 1, column + 1);
        if (!path.empty()) message += fmt::format("{}: ", path);
        message += problem;
        throw Error(ErrorCode::Config, std::move(message), hint.empty() ? std::string(DocsHint) : std::move(hint));
    }

private:
    std::string m_file;
};

// A node together with where it is: its key path ("contents.packages[2]") and a
// mark. Null nodes (`key:` with nothing after it) get the key's mark, since
// yaml-cpp places them wherever the next token starts.
class Field {
public:
    Field(const Reporter& reporter, YAML::Node node, std::string path, YAML::Mark fallback)
        : m_reporter(&reporter), m_node(std::move(node)), m_path(std::move(path)),
          m_mark(m_node.IsNull() || m_node.Mark().is_null() ? fallback : m_node.Mark()) {}

    const YAML::Node& node() const { return m_node; }
    const std::string& path() const { return m_path; }
    const YAML::Mark& mark() const { return m_mark; }

    [[noreturn]] void fail(std::string_view problem, std::string hint = {}) const {
        m_reporter->fail(m_mark, m_path, problem, std::move(hint));
    }
    // For problems with part of this node, such as one of its keys.
    [[noreturn]] void fail_at(const YAML::Mark& mark, std::string_view problem, std::string hint = {}) const {
        m_reporter->fail(mark.is_null() ? m_mark : mark, m_path, problem, std::move(hint));
    }
    [[noreturn]] void wrong_type(std::string_view expected) const {
        fail(fmt::format("expected {}, got {}", expected, describe(m_node)));
    }

    Field child(YAML::Node node, std::string_view key, YAML::Mark fallback) const {
        return Field(*m_reporter, std::move(node), m_path.empty() ? std::string(key) : fmt::format("{}.{}", m_path, key),
                     fallback);
    }

    std::vector<Field> items(std::string_view expected = "a list of strings") const {
        if (!m_node.IsSequence()) wrong_type(expected);
        std::vector<Field> out;
        std::size_t i = 0;
        for (const auto& item : m_node)
            out.emplace_back(*m_reporter, item, fmt::format("{}[{}]", m_path, i++), m_mark);
        return out;
    }

    std::string string() const {
        if (!m_node.IsScalar()) wrong_type("a string");
        return m_node.Scalar();
    }

    std::string non_empty_string() const {
        std::string s = string();
        if (s.empty()) fail("must not be empty");
        return s;
    }

    std::vector<std::string> string_list() const {
        if (!m_node.IsSequence()) wrong_type("a list of strings");
        std::vector<std::string> out;
        for (const Field& item : items()) {
            if (!item.node().IsScalar()) item.wrong_type("a string");
            out.push_back(item.node().Scalar());
        }
        return out;
    }

    // A command: a list of arguments, or one string split into words.
    std::vector<std::string> command() const {
        if (m_node.IsSequence()) return string_list();
        if (!m_node.IsScalar()) wrong_type("a string or a list of strings");
        std::vector<std::string> argv;
        if (auto problem = split_words(m_node.Scalar(), argv)) fail(*problem);
        return argv;
    }

    bool boolean() const {
        static const std::set<std::string, std::less<>> truthy{"true", "True", "TRUE"};
        static const std::set<std::string, std::less<>> falsy{"false", "False", "FALSE"};
        if (m_node.IsScalar()) {
            if (truthy.count(m_node.Scalar())) return true;
            if (falsy.count(m_node.Scalar())) return false;
        }
        wrong_type("true or false");
    }

    long long integer(long long min, long long max) const {
        if (!m_node.IsScalar()) wrong_type("a whole number");
        const std::string& s = m_node.Scalar();
        long long value = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) wrong_type("a whole number");
        if (ec == std::errc::result_out_of_range || value < min || value > max)
            fail(fmt::format("must be between {} and {}, got {}", min, max, s));
        return value;
    }

    // A uid or gid; 4294967295 is (uid_t)-1, which means "no change" to chown.
    std::uint32_t id() const { return static_cast<std::uint32_t>(integer(0, 4294967294LL)); }

    std::map<std::string, std::string> string_map() const;

private:
    const Reporter* m_reporter;
    YAML::Node m_node;
    std::string m_path;
    YAML::Mark m_mark;
};

// The keys of one YAML map, checked once against the keys allowed there:
// unknown keys (with a suggestion), duplicate keys and non-string keys fail.
// A key whose value is null counts as absent.
class MapFields {
public:
    MapFields(const Field& map, std::initializer_list<std::string_view> allowed) : m_map(map), m_allowed(allowed) {
        if (!map.node().IsMap()) map.wrong_type(fmt::format("a map with the keys {}", join(m_allowed)));
        // Copies: yaml-cpp's iterators hand out pairs in temporary proxies.
        for (auto it = map.node().begin(); it != map.node().end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            if (!key.IsScalar()) map.fail_at(key.Mark(), fmt::format("expected a plain key, got {}", describe(key)));
            const std::string name = key.Scalar();
            if (std::find(m_allowed.begin(), m_allowed.end(), name) == m_allowed.end()) {
                std::string where = map.path().empty() ? "at the top level" : "in " + map.path();
                map.fail_at(key.Mark(), not_one_of(fmt::format("unknown key '{}' {}", name, where), name, m_allowed,
                                                   "Allowed keys here"));
            }
            for (const auto& e : m_entries)
                if (e.key == name)
                    map.fail_at(key.Mark(),
                                fmt::format("duplicate key '{}' (first set at line {})", name, e.key_mark.line + 1));
            m_entries.push_back({name, key.Mark(), value});
        }
    }

    std::optional<Field> get(std::string_view key) const {
        for (const auto& e : m_entries)
            if (e.key == key && !e.value.IsNull()) return m_map.child(e.value, key, e.key_mark);
        return std::nullopt;
    }

    Field require(std::string_view key) const {
        if (auto f = get(key)) return *f;
        for (const auto& e : m_entries)
            if (e.key == key) m_map.child(e.value, key, e.key_mark).fail("a value is required here");
        std::string where = m_map.path().empty() ? "at the top level" : "in " + m_map.path();
        m_map.fail(fmt::format("missing required key '{}' {}", key, where));
    }

private:
    struct Entry {
        std::string key;
        YAML::Mark key_mark;
        YAML::Node value;
    };
    Field m_map;
    std::vector<std::string_view> m_allowed;
    std::vector<Entry> m_entries;
};

std::map<std::string, std::string> Field::string_map() const {
    if (!m_node.IsMap()) wrong_type("a map of strings");
    std::map<std::string, std::string> out;
    std::map<std::string, int> first_line;
    for (auto it = m_node.begin(); it != m_node.end(); ++it) {
        const YAML::Node key_node = it->first;  // copies, as in MapFields
        const YAML::Node value_node = it->second;
        if (!key_node.IsScalar())
            fail_at(key_node.Mark(), fmt::format("expected a plain key, got {}", describe(key_node)));
        const std::string key = key_node.Scalar();
        Field value = child(value_node, key, key_node.Mark());
        if (key.empty()) value.fail("keys must not be empty");
        if (auto seen = first_line.find(key); seen != first_line.end())
            fail_at(key_node.Mark(), fmt::format("duplicate key '{}' (first set at line {})", key, seen->second));
        if (value_node.IsNull())
            value.fail("expected a string, got nothing", fmt::format("write {}: \"\" for an empty value", key));
        out.emplace(key, value.string());
        first_line.emplace(key, key_node.Mark().line + 1);
    }
    return out;
}

// Remembers where each unique value was first seen, to reject repeats.
class UniqueValues {
public:
    explicit UniqueValues(std::string_view what) : m_what(what) {}
    void add(const Field& at, const std::string& value) {
        auto [it, inserted] = m_first_line.emplace(value, at.mark().line + 1);
        if (!inserted) at.fail(fmt::format("{} '{}' is listed twice (first at line {})", m_what, value, it->second));
    }

private:
    std::string_view m_what;
    std::map<std::string, int> m_first_line;
};

// ---------------------------------------------------------------- sections

void check_absolute_path(const Field& at, const std::string& path, std::string_view example) {
    if (path.empty() || path[0] != '/')
        at.fail(fmt::format("must be an absolute path, got '{}'", path), fmt::format("write it like {}", example));
    std::string_view rest = path;
    while (!rest.empty()) {
        std::size_t slash = rest.find('/');
        if (rest.substr(0, slash) == "..") at.fail(fmt::format("'{}' must not contain '..'", path));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
}

std::string parse_url(const Field& at) {
    std::string url = at.string();
    bool scheme_ok = url.starts_with("http://") || url.starts_with("https://") || url.starts_with("file:/");
    bool has_space = url.find_first_of(" \t\n") != std::string::npos;
    if (!scheme_ok || has_space || url.size() <= 8)
        at.fail(fmt::format("'{}' is not a mirror URL; expected http://, https:// or file:/ followed by a location", url),
                "leave it out to use the mirror from the host's apt sources");
    return url;
}

ArchiveSpec parse_archive(const Field& field) {
    MapFields map(field, {"mirror", "security-mirror", "suites", "components", "keyring"});
    ArchiveSpec archive;
    if (auto f = map.get("mirror")) archive.mirror = parse_url(*f);
    if (auto f = map.get("security-mirror")) archive.security_mirror = parse_url(*f);
    auto word_list = [](const Field& f, std::string_view what, auto valid) {
        UniqueValues unique(what);
        std::vector<std::string> out;
        for (const Field& item : f.items()) {
            std::string s = item.non_empty_string();
            if (!valid(s)) item.fail(fmt::format("'{}' is not a valid {} name", s, what));
            unique.add(item, s);
            out.push_back(std::move(s));
        }
        return out;
    };
    auto is_suite = [](const std::string& s) {
        return is_lower_alnum(static_cast<unsigned char>(s[0])) &&
               all_chars(s, [](unsigned char c) { return is_lower_alnum(c) || c == '-' || c == '.'; });
    };
    auto is_component = [](const std::string& s) {
        return is_lower_alnum(static_cast<unsigned char>(s[0])) &&
               all_chars(s, [](unsigned char c) { return is_lower_alnum(c) || c == '-' || c == '/'; });
    };
    if (auto f = map.get("suites")) archive.suites = word_list(*f, "suite", is_suite);
    if (auto f = map.get("components")) {
        archive.components = word_list(*f, "component", is_component);
        if (archive.components.empty()) f->fail("must list at least one component", "leave it out for [main]");
    }
    if (auto f = map.get("keyring"))
        for (const Field& item : f->items()) archive.keyring.emplace_back(item.non_empty_string());
    return archive;
}

ContentsSpec parse_contents(const Field& field) {
    MapFields map(field, {"packages", "exclude", "recommends", "overwrite"});
    ContentsSpec contents;
    Field packages = map.require("packages");
    std::vector<Field> items = packages.items();
    if (items.empty()) packages.fail("the package list is empty; list at least one package to install");
    UniqueValues unique("package");
    std::set<std::string> names;
    for (const Field& item : items) {
        std::string text = item.string();
        PackageRequest request;
        if (auto problem = package_request_problem(text, request)) item.fail(*problem);
        unique.add(item, request.arch.empty() ? request.name : request.name + ":" + request.arch);
        names.insert(request.name);
        contents.packages.push_back(std::move(text));
    }
    if (auto f = map.get("exclude")) {
        UniqueValues excluded("excluded package");
        for (const Field& item : f->items()) {
            std::string name = item.string();
            if (!is_valid_package_name(name)) {
                PackageRequest ignored;
                auto problem = package_request_problem(name, ignored);
                item.fail(problem ? *problem : fmt::format("'{}': exclude takes bare package names", name));
            }
            if (names.count(name))
                item.fail(fmt::format("'{}' is both in contents.packages and contents.exclude", name));
            excluded.add(item, name);
            contents.exclude.push_back(std::move(name));
        }
    }
    if (auto f = map.get("recommends")) contents.recommends = f->boolean();
    if (auto f = map.get("overwrite"))
        for (const Field& item : f->items()) {
            std::string glob = item.non_empty_string();
            if (glob.front() != '/') item.fail(fmt::format("'{}' must be an absolute glob", glob), "write it like /usr/bin/*");
            contents.overwrite.push_back(std::move(glob));
        }
    return contents;
}

std::vector<std::string> parse_archs(const Field& field) {
    std::vector<std::string> archs;
    UniqueValues unique("architecture");
    for (const Field& item : field.items()) {
        std::string arch = item.string();
        if (!is_supported_architecture(arch)) item.fail(architecture_problem(arch));
        unique.add(item, arch);
        archs.push_back(std::move(arch));
    }
    if (archs.empty()) field.fail("must list at least one architecture", "leave it out to build for the host's");
    return archs;
}

std::string account_name(const Field& f, std::string_view what) {
    std::string name = f.string();
    if (!is_valid_account_name(name))
        f.fail(fmt::format("'{}' is not a valid {}: use up to 32 lowercase letters, digits, _ and -, "
                           "starting with a letter or _",
                           name, what));
    return name;
}

AccountsSpec parse_accounts(const Field& field) {
    MapFields map(field, {"users", "groups", "run-as"});
    AccountsSpec accounts;
    if (auto f = map.get("users")) {
        UniqueValues names("username"), uids("uid");
        for (const Field& item : f->items("a list of users")) {
            MapFields user_map(item, {"username", "uid", "gid", "home", "shell"});
            UserAccount user;
            Field name = user_map.require("username");
            user.username = account_name(name, "username");
            names.add(name, user.username);
            Field uid = user_map.require("uid");
            user.uid = uid.id();
            uids.add(uid, std::to_string(user.uid));
            user.gid = user_map.get("gid") ? user_map.get("gid")->id() : user.uid;
            user.home = "/home/" + user.username;
            if (auto h = user_map.get("home")) check_absolute_path(*h, user.home = h->string(), "/home/" + user.username);
            user.shell = "/sbin/nologin";
            if (auto s = user_map.get("shell")) check_absolute_path(*s, user.shell = s->string(), "/bin/sh");
            accounts.users.push_back(std::move(user));
        }
    }
    if (auto f = map.get("groups")) {
        UniqueValues names("groupname"), gids("gid");
        for (const Field& item : f->items("a list of groups")) {
            MapFields group_map(item, {"groupname", "gid", "members"});
            GroupAccount group;
            Field name = group_map.require("groupname");
            group.groupname = account_name(name, "group name");
            names.add(name, group.groupname);
            Field gid = group_map.require("gid");
            group.gid = gid.id();
            gids.add(gid, std::to_string(group.gid));
            if (auto m = group_map.get("members")) {
                UniqueValues members("member");
                for (const Field& member : m->items()) {
                    group.members.push_back(account_name(member, "username"));
                    members.add(member, group.members.back());
                }
            }
            accounts.groups.push_back(std::move(group));
        }
    }
    if (auto f = map.get("run-as")) {
        accounts.run_as = f->non_empty_string();
        const std::string& r = accounts.run_as;
        std::size_t colon = r.find(':');
        auto numeric = [](std::string_view s) { return !s.empty() && s.size() <= 10 && all_chars(s, is_digit); };
        bool is_ids = colon == std::string::npos ? numeric(r) : numeric(r.substr(0, colon)) && numeric(r.substr(colon + 1));
        bool is_declared = std::any_of(accounts.users.begin(), accounts.users.end(),
                                       [&](const UserAccount& u) { return u.username == r; });
        if (!is_ids && !is_declared && r != "root") {
            std::vector<std::string_view> declared;
            for (const auto& u : accounts.users) declared.push_back(u.username);
            f->fail(fmt::format("'{}' is not a user declared under accounts.users{}", r, did_you_mean(r, declared)),
                    "declare the user, or give a numeric uid or uid:gid");
        }
    }
    return accounts;
}

std::vector<std::string> parse_entrypoint(const Field& field) {
    if (!field.node().IsMap()) return field.command();
    MapFields map(field, {"command"});
    auto command = map.get("command");
    return command ? command->command() : std::vector<std::string>{};
}

std::map<std::string, std::string> parse_environment(const Field& field) {
    auto env = field.string_map();
    for (const auto& [key, value] : env)
        if (key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
            field.fail(fmt::format("'{}' is not a valid variable name: it must not contain '='", key));
    return env;
}

// Octal permissions. Accepted: 0o755, 0755, "0755", "755". A plain 755 is
// refused: YAML reads it as the decimal number 755 (which is 0o1363), so the
// author's intent is ambiguous.
std::uint32_t parse_permissions(const Field& f) {
    if (!f.node().IsScalar()) f.wrong_type("octal permissions such as 0o755");
    std::string text = f.node().Scalar();
    bool plain = f.node().Tag() == "?";
    std::string_view digits = text;
    if (digits.starts_with("0o") || digits.starts_with("0O")) digits.remove_prefix(2);
    else if (plain && !digits.starts_with("0") && !digits.empty() && all_chars(digits, is_digit))
        f.fail(fmt::format("{} is ambiguous: YAML reads it as a decimal number", text),
               fmt::format("write 0o{0} (or \"{0}\") for octal permissions", text));
    if (digits.empty() || digits.size() > 5 || !all_chars(digits, [](unsigned char c) { return c >= '0' && c <= '7'; }))
        f.fail(fmt::format("'{}' is not octal permissions", text), "write them like 0o755 or \"0644\"");
    std::uint32_t mode = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), mode, 8);
    if (mode > 07777) f.fail(fmt::format("'{}' is more than 0o7777", text));
    return mode;
}

// Standard base64 (RFC 4648, with padding; whitespace ignored).
std::optional<std::string> decode_base64(std::string_view text) {
    static constexpr std::string_view Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    std::size_t padding = 0;
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        if (padding > 0) return std::nullopt;  // data after padding
        auto value = Alphabet.find(c);
        if (value == std::string_view::npos) return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    if (padding > 2 || bits >= 6) return std::nullopt;
    return out;
}

PathSpec parse_path(const Field& item) {
    MapFields map(item, {"path", "type", "content", "content-base64", "source", "permissions", "uid", "gid", "recursive"});
    PathSpec entry;
    Field path = map.require("path");
    entry.path = path.string();
    check_absolute_path(path, entry.path, "/etc/app");

    Field type = map.require("type");
    static const std::vector<std::string_view> types{"directory", "file", "symlink", "permissions"};
    std::string type_name = type.string();
    auto found = std::find(types.begin(), types.end(), type_name);
    if (found == types.end())
        type.fail(not_one_of(fmt::format("unknown path type '{}'", type_name), type_name, types));
    entry.type = static_cast<PathType>(found - types.begin());

    auto only_for = [&](std::string_view key, std::initializer_list<PathType> allowed) {
        auto f = map.get(key);
        if (f && std::find(allowed.begin(), allowed.end(), entry.type) == allowed.end())
            f->fail(fmt::format("'{}' does not apply to a path of type {}", key, type_name));
        return f;
    };
    if (auto f = only_for("content", {PathType::File})) entry.content = f->string();
    if (auto f = only_for("content-base64", {PathType::File})) {
        // Binary files (a compiled class, a small executable) as base64.
        if (map.get("content")) f->fail("give either 'content' or 'content-base64', not both");
        auto decoded = decode_base64(f->string());
        if (!decoded) f->fail("not valid base64", "encode the file with base64 -w0");
        entry.content = std::move(*decoded);
    }
    if (auto f = only_for("source", {PathType::Symlink})) entry.source = f->non_empty_string();
    else if (entry.type == PathType::Symlink) map.require("source");
    if (auto f = only_for("recursive", {PathType::Directory, PathType::Permissions})) entry.recursive = f->boolean();

    entry.mode = entry.type == PathType::File ? 0644 : entry.type == PathType::Symlink ? 0777 : 0755;
    if (auto f = only_for("permissions", {PathType::Directory, PathType::File, PathType::Permissions}))
        entry.mode = parse_permissions(*f);
    else if (entry.type == PathType::Permissions) map.require("permissions");
    if (auto f = map.get("uid")) entry.uid = f->id();
    if (auto f = map.get("gid")) entry.gid = f->id();
    return entry;
}

LayeringSpec parse_layering(const Field& field) {
    MapFields map(field, {"strategy", "budget"});
    LayeringSpec layering;
    if (auto f = map.get("strategy")) {
        std::string s = f->string();
        static const std::vector<std::string_view> strategies{"single", "origin"};
        if (s == "single") layering.strategy = LayeringStrategy::Single;
        else if (s == "origin") layering.strategy = LayeringStrategy::Origin;
        else f->fail(not_one_of(fmt::format("unknown strategy '{}'", s), s, strategies));
    }
    // 127: the most layers overlayfs-based runtimes stack reliably.
    if (auto f = map.get("budget")) layering.budget = static_cast<int>(f->integer(1, 127));
    return layering;
}

void check_regex(const Field& field, const std::string& text) {
    try {
        std::regex check(text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        field.fail(fmt::format("'{}' is not a valid regular expression: {}", text, e.what()));
    }
}

void parse_test_files(const Field& field, TestSpec& test) {
    for (const Field& item : field.items("a list of file checks")) {
        MapFields map(item, {"path", "contains"});
        FileCheck check;
        Field path = map.require("path");
        check.path = path.non_empty_string();
        if (check.path.front() != '/') path.fail(fmt::format("'{}' must be an absolute path", check.path));
        if (auto f = map.get("contains")) check.contains = f->string();
        test.files.push_back(std::move(check));
    }
}

void parse_test_services(const Field& field, TestSpec& test, UniqueValues& names) {
    for (const Field& item : field.items("a list of service checks")) {
        MapFields map(item, {"name", "command", "url", "expect-status", "expect-body", "timeout"});
        ServiceCheck check;
        Field name = map.require("name");
        check.name = name.non_empty_string();
        names.add(name, check.name);
        if (auto f = map.get("command")) check.command = f->command();
        Field url = map.require("url");
        check.url = url.non_empty_string();
        if (!check.url.starts_with("http://127.0.0.1:") && !check.url.starts_with("http://localhost:"))
            url.fail(fmt::format("'{}' must be an http://127.0.0.1:PORT/ or http://localhost:PORT/ URL", check.url),
                     "services are probed on the loopback interface only");
        if (auto f = map.get("expect-status")) check.expect_status = static_cast<int>(f->integer(100, 599));
        if (auto f = map.get("expect-body")) {
            check.expect_body = f->string();
            check_regex(*f, check.expect_body);
        }
        if (auto f = map.get("timeout")) check.timeout_seconds = static_cast<int>(f->integer(1, 600));
        test.services.push_back(std::move(check));
    }
}

TestSpec parse_test(const Field& field) {
    MapFields map(field, {"commands", "files", "services"});
    TestSpec test;
    UniqueValues names("test name");
    if (auto f = map.get("files")) parse_test_files(*f, test);
    if (auto f = map.get("services")) parse_test_services(*f, test, names);
    auto commands = map.get("commands");
    if (!commands) return test;
    for (const Field& item : commands->items("a list of test commands")) {
        MapFields command_map(item, {"name", "command", "expect-exit", "expect-output"});
        TestCommand command;
        Field name = command_map.require("name");
        command.name = name.non_empty_string();
        names.add(name, command.name);
        Field command_field = command_map.require("command");
        command.command = command_field.non_empty_string();
        command.argv = command_field.command();
        if (auto f = command_map.get("expect-exit")) command.expect_exit = static_cast<int>(f->integer(0, 255));
        if (auto f = command_map.get("expect-output")) {
            command.expect_output = f->string();
            check_regex(*f, command.expect_output);
        }
        test.commands.push_back(std::move(command));
    }
    return test;
}

ImageSpec parse_root(const Reporter& reporter, const YAML::Node& root) {
    Field doc(reporter, root, "", YAML::Mark());
    if (root.IsNull()) doc.fail("the spec is empty; it needs at least 'name' and 'contents.packages'");
    MapFields map(doc, {"name", "description", "archive", "contents", "archs", "accounts", "entrypoint", "cmd",
                        "environment", "work-dir", "paths", "paths-exclude", "annotations", "layering", "test"});
    ImageSpec spec;
    Field name = map.require("name");
    spec.name = name.string();
    if (!is_valid_image_name(spec.name))
        name.fail(fmt::format("'{}' is not a valid image name: use lowercase letters, digits, '.', '_' and '-', "
                              "starting with a letter or digit (at most 128 characters)",
                              spec.name));
    if (auto f = map.get("description")) spec.description = f->string();
    if (auto f = map.get("archive")) spec.archive = parse_archive(*f);
    spec.contents = parse_contents(map.require("contents"));
    if (auto f = map.get("archs")) spec.archs = parse_archs(*f);
    else spec.archs = {default_architecture()};
    if (auto f = map.get("accounts")) spec.accounts = parse_accounts(*f);
    if (auto f = map.get("entrypoint")) spec.entrypoint = parse_entrypoint(*f);
    if (auto f = map.get("cmd")) spec.cmd = f->command();
    if (auto f = map.get("environment")) spec.environment = parse_environment(*f);
    if (auto f = map.get("work-dir")) check_absolute_path(*f, spec.work_dir = f->string(), "/app");
    if (auto f = map.get("paths"))
        for (const Field& item : f->items("a list of path entries")) spec.paths.push_back(parse_path(item));
    if (auto f = map.get("paths-exclude"))
        for (const Field& item : f->items()) {
            // A leading '!' keeps what earlier patterns removed (see docs/image-spec.md).
            std::string glob = item.non_empty_string();
            if (glob[glob[0] == '!' ? 1 : 0] != '/')
                item.fail(fmt::format("'{}' must be an absolute glob", glob),
                          "write it like /usr/share/doc/* (or !/usr/share/doc/*/copyright to keep files)");
            spec.paths_exclude.push_back(std::move(glob));
        }
    if (auto f = map.get("annotations")) spec.annotations = f->string_map();
    if (auto f = map.get("layering")) spec.layering = parse_layering(*f);
    if (auto f = map.get("test")) spec.test = parse_test(*f);
    return spec;
}

}  // namespace

ImageSpec parse_image_spec(std::string_view yaml_text, const std::string& display_name) {
    Reporter reporter(display_name);
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        reporter.fail(e.mark, "", fmt::format("invalid YAML: {}", e.msg),
                      "check the indentation (spaces, not tabs) and that brackets and quotes are closed");
    }
    if (documents.size() > 1)
        reporter.fail(documents[1].Mark(), "", "the file holds more than one YAML document; a spec is exactly one",
                      "remove the '---' separator or split the file");
    ImageSpec spec = parse_root(reporter, documents.empty() ? YAML::Node() : documents[0]);
    spec.digest = "sha256:" + util::sha256_hex(yaml_text);
    spec.path = display_name;
    return spec;
}

ImageSpec load_image_spec(const std::filesystem::path& path) {
    std::string text;
    try {
        text = util::read_file(path);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::NotFound) throw;
        throw Error(ErrorCode::NotFound, "image spec not found: " + path.string(),
                    "check the path; the image catalog is in the images/ directory of the slate sources");
    }
    ImageSpec spec = parse_image_spec(text, path.string());
    spec.path = path;
    for (auto& keyring : spec.archive.keyring)
        if (keyring.is_relative()) keyring = path.parent_path() / keyring;
    return spec;
}

PackageRequest parse_package_request(std::string_view text) {
    PackageRequest request;
    if (auto problem = package_request_problem(text, request)) throw Error(ErrorCode::Config, *problem);
    return request;
}

bool is_valid_package_name(std::string_view name) {
    return name.size() >= 2 && is_lower_alnum(static_cast<unsigned char>(name[0])) &&
           all_chars(name, [](unsigned char c) { return is_lower_alnum(c) || c == '+' || c == '.' || c == '-'; });
}

std::span<const std::string_view> supported_architectures() { return SupportedArchitectureList; }

std::string default_architecture() {
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
    return "armhf";
#elif defined(__arm__)
    return "armel";
#elif defined(__i386__)
    return "i386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64el";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__mips64) && defined(__MIPSEL__)
    return "mips64el";
#else
    return "amd64";
#endif
}

const char* to_string(PathType type) {
    switch (type) {
    case PathType::Directory: return "directory";
    case PathType::File: return "file";
    case PathType::Symlink: return "symlink";
    case PathType::Permissions: return "permissions";
    }
    return "unknown";
}

const char* to_string(LayeringStrategy strategy) {
    switch (strategy) {
    case LayeringStrategy::Single: return "single";
    case LayeringStrategy::Origin: return "origin";
    }
    return "unknown";
}

}  // namespace slate::build
