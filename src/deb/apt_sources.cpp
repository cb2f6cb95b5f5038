#include "slate/deb/apt_sources.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "slate/deb/deb822.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::deb {
namespace {
namespace fs = std::filesystem;

constexpr std::string_view KeyBlockBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

// ---------------------------------------------------------------------------
// Which files apt reads from a ".d" directory (apt-pkg's GetListOfFilesInDir):
// no hidden files, an accepted extension (or none, when "" is accepted), only
// [A-Za-z0-9_:-] and '.' in the name, not ending in '.'. Sorted by name.

bool apt_accepts_name(const std::string& name, const std::vector<std::string>& extensions) {
    if (name.empty() || name.front() == '.' || name.back() == '.') return false;
    auto dot = name.rfind('.');
    std::string ext = dot == std::string::npos ? std::string() : name.substr(dot + 1);
    if (std::find(extensions.begin(), extensions.end(), ext) == extensions.end()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':' || c == '.';
    });
}

std::vector<fs::path> apt_config_files(const fs::path& dir, const std::vector<std::string>& extensions) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        std::error_code type_ec;
        if (apt_accepts_name(name, extensions) && fs::is_regular_file(it->path(), type_ec)) files.push_back(it->path());
    }
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot list {}: {}", dir.string(), ec.message()));
    std::sort(files.begin(), files.end());
    return files;
}

// Reads a file that may legitimately be absent.
std::optional<std::string> read_if_present(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    return util::read_file(path);
}

// ---------------------------------------------------------------------------
// Shared value helpers

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<std::string> split_any(std::string_view text, std::string_view separators) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && separators.find(text[i]) != std::string_view::npos) ++i;
        std::size_t start = i;
        while (i < text.size() && separators.find(text[i]) == std::string_view::npos) ++i;
        if (i > start) out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

void check_type(const std::string& type, const std::string& where) {
    if (type != "deb" && type != "deb-src")
        throw Error(ErrorCode::Parse, fmt::format("{}: unknown source type \"{}\" (expected deb or deb-src)", where, type),
                    "fix or remove the entry; apt rejects it too");
}

// A suite ending in '/' is an exact path and takes no components; any other
// suite needs at least one.
void check_components(const AptSource& source, const std::string& where) {
    bool exact = std::all_of(source.suites.begin(), source.suites.end(), [](const std::string& s) { return s.ends_with('/'); });
    if (exact && !source.components.empty())
        throw Error(ErrorCode::Parse, fmt::format("{}: the exact-path suite \"{}\" cannot have components", where, source.suites.front()));
    if (!exact && source.components.empty())
        throw Error(ErrorCode::Parse, fmt::format("{}: no components given (e.g. main)", where));
}

// ---------------------------------------------------------------------------
// One-line format: deb [ option=value ... ] uri suite [component ...]

std::vector<AptSource> parse_one_line(std::string_view text, const fs::path& file) {
    std::vector<AptSource> sources;
    std::size_t number = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string line(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++number;
        const std::string where = fmt::format("{}:{}", file.string(), number);

        // '#' starts a comment, except inside [options] (apt keeps that for compatibility).
        for (std::size_t pos = 0; (pos = line.find('#', pos)) != std::string::npos; ++pos) {
            auto open = std::count(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(pos), '[');
            auto close = std::count(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(pos), ']');
            if (open <= close) {
                line.erase(pos);
                break;
            }
        }
        std::string_view rest = line;
        auto next_word = [&rest]() {
            while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
            std::size_t end = 0;
            while (end < rest.size() && !is_space(rest[end])) ++end;
            std::string word(rest.substr(0, end));
            rest.remove_prefix(end);
            return word;
        };
        std::string type = next_word();
        if (type.empty()) continue;  // blank or comment-only line

        AptSource source;
        source.origin_file = file.string();
        check_type(type, where);
        source.types.push_back(type);

        while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
        if (rest.starts_with('[')) {
            auto close = rest.find(']');
            if (close == std::string_view::npos)
                throw Error(ErrorCode::Parse, fmt::format("{}: the option list '[' is not closed with ']'", where));
            for (const auto& option : split_any(rest.substr(1, close - 1), " \t\r")) {
                auto eq = option.find('=');
                if (eq == std::string::npos || eq == 0 || eq + 1 == option.size())
                    throw Error(ErrorCode::Parse,
                                fmt::format("{}: malformed option \"{}\" (expected name=value)", where, option));
                std::string name = option.substr(0, eq);
                auto values = split_any(std::string_view(option).substr(eq + 1), ",");
                if (name == "arch") source.architectures = values;
                else if (name == "signed-by") source.signed_by = values;
                // other options (trusted=, lang=, arch+=, by-hash=, ...) do not concern slate
            }
            rest.remove_prefix(close + 1);
        }
        std::string uri = next_word();
        std::string suite = next_word();
        if (uri.empty() || suite.empty())
            throw Error(ErrorCode::Parse, fmt::format("{}: expected \"{} URI SUITE [COMPONENT...]\"", where, type));
        source.uris.push_back(uri);
        source.suites.push_back(suite);
        for (auto component = next_word(); !component.empty(); component = next_word())
            source.components.push_back(component);
        check_components(source, where);
        sources.push_back(std::move(source));
    }
    return sources;
}

// ---------------------------------------------------------------------------
// deb822 format (.sources)

// The lines of a field value without comment lines: apt drops lines starting
// with '#' even in the middle of a multi-line value. (Values are views into the
// file, so a continuation line's first character is its first column.)
std::vector<std::string_view> value_lines(std::string_view value) {
    std::vector<std::string_view> lines;
    bool first = true;
    while (true) {
        auto nl = value.find('\n');
        auto line = value.substr(0, nl);
        if (first || !line.starts_with('#')) lines.push_back(line);
        first = false;
        if (nl == std::string_view::npos) break;
        value.remove_prefix(nl + 1);
    }
    return lines;
}

std::vector<std::string> words_of(std::string_view value) {
    std::vector<std::string> words;
    for (auto line : value_lines(value))
        for (auto& word : split_any(line, " \t\r,")) words.push_back(std::move(word));
    return words;
}

// Signed-By: keyring paths / fingerprints, or an embedded ASCII-armored key,
// kept whole (continuation lines unindented, "." lines made empty).
std::vector<std::string> signed_by_of(std::string_view value) {
    if (value.find(KeyBlockBegin) == std::string_view::npos) return words_of(value);
    std::string block;
    for (auto line : value_lines(value)) {
        auto trimmed = trim(line);
        if (block.empty() && trimmed.empty()) continue;
        block += trimmed == "." ? std::string_view() : trimmed;
        block += '\n';
    }
    return {block};
}

std::optional<bool> parse_bool(std::string_view value) {
    std::string v(trim(value));
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (v == "yes" || v == "true" || v == "with" || v == "on" || v == "enable") return true;
    if (v == "no" || v == "false" || v == "without" || v == "off" || v == "disable") return false;
    if (!v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }))
        return v.find_first_not_of('0') != std::string::npos;
    return std::nullopt;
}

std::vector<AptSource> parse_deb822(std::string_view text, const fs::path& file) {
    std::vector<AptSource> sources;
    Deb822Reader reader(text, file.string());
    Paragraph paragraph;
    while (reader.next(paragraph)) {
        const std::string where = fmt::format("{}:{}", file.string(), paragraph.line());
        AptSource source;
        source.origin_file = file.string();
        auto required = [&](std::string_view name) {
            auto words = words_of(paragraph.get_or(name, ""));
            if (words.empty())
                throw Error(ErrorCode::Parse, fmt::format("{}: the entry has no {} field", where, name),
                            "each stanza needs Types, URIs, Suites and (unless the suite ends in '/') Components");
            return words;
        };
        source.types = required("Types");
        for (const auto& type : source.types) check_type(type, where);
        source.uris = required("URIs");
        source.suites = required("Suites");
        source.components = words_of(paragraph.get_or("Components", ""));
        source.architectures = words_of(paragraph.get_or("Architectures", ""));
        source.signed_by = signed_by_of(paragraph.get_or("Signed-By", ""));
        if (auto enabled = paragraph.get("Enabled")) {
            auto value = parse_bool(*enabled);
            if (!value)
                throw Error(ErrorCode::Parse,
                            fmt::format("{}: Enabled must be yes or no, not \"{}\"", where, trim(*enabled)));
            source.enabled = *value;
        }
        check_components(source, where);
        sources.push_back(std::move(source));
    }
    return sources;
}

// ---------------------------------------------------------------------------
// apt.conf: "Name::Sub value;" and "Name { Sub value; };" statements, with
// "//", "/* */" and '#' comments and the #clear / #include directives.

struct ConfToken {
    enum class Kind { Word, String, Open, Close, End, Directive } kind;
    std::string text;
    std::size_t line;
};

std::vector<ConfToken> tokenize_apt_conf(std::string_view text, const fs::path& file) {
    std::vector<ConfToken> tokens;
    std::size_t line = 1;
    std::size_t i = 0;
    auto word_char = [](char c) { return !is_space(c) && c != '{' && c != '}' && c != ';' && c != '"'; };
    while (i < text.size()) {
        char c = text[i];
        if (c == '\n') ++line;
        if (is_space(c)) {
            ++i;
        } else if (text.substr(i).starts_with("//")) {
            i = std::min(text.find('\n', i), text.size());
        } else if (text.substr(i).starts_with("/*")) {
            auto end = text.find("*/", i + 2);
            if (end == std::string_view::npos)
                throw Error(ErrorCode::Parse, fmt::format("{}:{}: unterminated /* comment", file.string(), line));
            line += static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(i),
                                                        text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
            i = end + 2;
        } else if (c == '#') {
            std::size_t start = i;
            while (i < text.size() && word_char(text[i])) ++i;
            auto word = text.substr(start, i - start);
            if (word == "#clear" || word == "#include") tokens.push_back({ConfToken::Kind::Directive, std::string(word), line});
            else i = std::min(text.find('\n', start), text.size());  // a comment up to the end of the line
        } else if (c == '"') {
            auto end = text.find('"', i + 1);
            if (end == std::string_view::npos)
                throw Error(ErrorCode::Parse, fmt::format("{}:{}: unterminated quoted string", file.string(), line));
            tokens.push_back({ConfToken::Kind::String, std::string(text.substr(i + 1, end - i - 1)), line});
            line += static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(i),
                                                        text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
            i = end + 1;
        } else if (c == '{' || c == '}' || c == ';') {
            auto kind = c == '{' ? ConfToken::Kind::Open : c == '}' ? ConfToken::Kind::Close : ConfToken::Kind::End;
            tokens.push_back({kind, std::string(1, c), line});
            ++i;
        } else {
            std::size_t start = i;
            while (i < text.size() && word_char(text[i])) ++i;
            tokens.push_back({ConfToken::Kind::Word, std::string(text.substr(start, i - start)), line});
        }
    }
    return tokens;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Applies one apt.conf file to `value` (the current Check-Valid-Until setting).
void apply_apt_conf(std::string_view text, const fs::path& file, std::optional<bool>& value) {
    const std::string key = "acquire::check-valid-until";
    auto tokens = tokenize_apt_conf(text, file);
    std::vector<std::string> scope;
    std::vector<const ConfToken*> statement;
    auto full_name = [&](const std::string& name) {
        std::string out;
        for (const auto& s : scope) out += s + "::";
        return lower(out + name);
    };
    auto error = [&](std::size_t line, const std::string& what) {
        return Error(ErrorCode::Parse, fmt::format("{}:{}: {}", file.string(), line, what),
                     "fix the apt configuration file; apt rejects it too");
    };
    for (const auto& token : tokens) {
        if (token.kind == ConfToken::Kind::Word || token.kind == ConfToken::Kind::String ||
            token.kind == ConfToken::Kind::Directive) {
            statement.push_back(&token);
            continue;
        }
        if (token.kind == ConfToken::Kind::Close) {
            if (!statement.empty()) throw error(token.line, "missing ';' before '}'");
            if (scope.empty()) throw error(token.line, "'}' without a matching '{'");
            scope.pop_back();
            continue;
        }
        // End of a statement (';') or start of a scope ('{').
        const bool opens = token.kind == ConfToken::Kind::Open;
        if (!statement.empty() && statement.front()->kind == ConfToken::Kind::Directive) {
            // "#clear Name;" forgets Name and everything below it; "#include" is not followed.
            if (statement.front()->text == "#clear")
                for (std::size_t k = 1; k < statement.size(); ++k) {
                    auto cleared = full_name(statement[k]->text);
                    if (key == cleared || key.starts_with(cleared + "::")) value.reset();
                }
            statement.clear();
            if (opens) scope.emplace_back();
            continue;
        }
        std::string name;
        if (!statement.empty() && statement.front()->kind == ConfToken::Kind::Word) name = statement.front()->text;
        if (!name.empty() && statement.size() >= 2) {
            if (statement.size() > 2) throw error(statement[2]->line, fmt::format("extra value after \"{}\"", name));
            if (full_name(name) == key) value = parse_bool(statement[1]->text).value_or(true);
        }
        if (opens) scope.push_back(name);  // "" for an anonymous list scope
        statement.clear();
    }
    if (!statement.empty()) throw error(statement.back()->line, "the last statement has no ';'");
    if (!scope.empty()) throw error(tokens.empty() ? 1 : tokens.back().line, "a '{' is not closed");
}

}  // namespace

std::vector<AptSource> read_apt_sources(const fs::path& apt_root) {
    const fs::path etc = apt_root / "etc/apt";
    std::vector<AptSource> sources;
    if (auto text = read_if_present(etc / "sources.list")) sources = parse_one_line(*text, etc / "sources.list");
    for (const auto& file : apt_config_files(etc / "sources.list.d", {"list", "sources"})) {
        auto text = util::read_file(file);
        auto more = file.extension() == ".list" ? parse_one_line(text, file) : parse_deb822(text, file);
        sources.insert(sources.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    return sources;
}

bool apt_checks_valid_until(const fs::path& apt_root) {
    const fs::path etc = apt_root / "etc/apt";
    std::optional<bool> value;
    // apt reads the parts directory first, then the main file.
    for (const auto& file : apt_config_files(etc / "apt.conf.d", {"conf", ""}))
        apply_apt_conf(util::read_file(file), file, value);
    if (auto text = read_if_present(etc / "apt.conf")) apply_apt_conf(*text, etc / "apt.conf", value);
    return value.value_or(true);
}

}  // namespace slate::deb
