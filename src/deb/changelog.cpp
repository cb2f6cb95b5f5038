#include "slate/deb/changelog.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include <fmt/format.h>

namespace slate::deb {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = lower(c);
    return out;
}

// Text for a warning: the line, shortened.
std::string excerpt(std::string_view line) {
    line = trim(line);
    if (line.size() <= 60) return std::string(line);
    return std::string(line.substr(0, 57)) + "...";
}

// ---- Dates -------------------------------------------------------------------

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    constexpr std::array<unsigned, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

std::optional<unsigned> month_number(std::string_view name) {
    constexpr std::array<std::string_view, 12> months{"january", "february", "march",     "april",   "may",      "june",
                                                      "july",    "august",   "september", "october", "november", "december"};
    if (name.size() < 3) return std::nullopt;
    for (unsigned i = 0; i < months.size(); ++i) {
        // "Oct" or "October", nothing in between.
        if (iequals(name, months[i].substr(0, 3)) || iequals(name, months[i])) return i + 1;
    }
    return std::nullopt;
}

std::optional<unsigned> number(std::string_view s, std::size_t min_digits, std::size_t max_digits) {
    if (s.size() < min_digits || s.size() > max_digits) return std::nullopt;
    unsigned value = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value;
}

// The zone's offset east of UTC, in seconds.
std::optional<std::int64_t> zone_offset(std::string_view zone) {
    if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
        auto hh = number(zone.substr(1, 2), 2, 2);
        auto mm = number(zone.substr(3, 2), 2, 2);
        if (!hh || !mm || *hh > 23 || *mm > 59) return std::nullopt;
        std::int64_t offset = (*hh * 60 + *mm) * 60;
        return zone[0] == '-' ? -offset : offset;
    }
    // RFC 2822 section 4.3, obsolete zones.
    constexpr std::array<std::pair<std::string_view, int>, 12> named{{
        {"UT", 0}, {"UTC", 0}, {"GMT", 0}, {"Z", 0}, {"EST", -5}, {"EDT", -4},
        {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7},
    }};
    for (const auto& [name, hours] : named)
        if (iequals(zone, name)) return static_cast<std::int64_t>(hours) * 3600;
    return std::nullopt;
}

std::vector<std::string_view> date_tokens(std::string_view text) {
    std::vector<std::string_view> tokens;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (is_blank(text[i]) || text[i] == ',')) ++i;
        std::size_t start = i;
        while (i < text.size() && !is_blank(text[i]) && text[i] != ',') ++i;
        if (i > start) tokens.push_back(text.substr(start, i - start));
    }
    return tokens;
}

// ---- Entries -----------------------------------------------------------------

bool is_source_char(char c) { return is_alnum(c) || c == '-' || c == '+' || c == '.' || c == '_'; }
bool is_distribution_char(char c) { return is_alnum(c) || c == '-' || c == '+' || c == '.' || c == '_' || c == '/'; }

struct Header {
    std::string source, version, urgency;
    std::vector<std::string> distributions;
};

// dpkg's header syntax (Dpkg::Changelog::Entry::Debian):
//   ^(\w[-+0-9a-z.]*) \(([^\(\) \t]+)\)((?:\s+[-+0-9a-z.]+)+)\;(.*?)\s*$
// nullopt when `line` is not such a header.
std::optional<Header> parse_header(std::string_view line) {
    line = trim(line);
    Header h;
    std::size_t i = 0;
    while (i < line.size() && is_source_char(line[i])) ++i;
    if (i == 0 || !is_alnum(line[0])) return std::nullopt;
    h.source = std::string(line.substr(0, i));
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i >= line.size() || line[i] != '(') return std::nullopt;
    auto close = line.find(')', i);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view version = line.substr(i + 1, close - i - 1);
    if (version.empty() || version.find_first_of("( \t") != std::string_view::npos) return std::nullopt;
    h.version = std::string(version);
    auto semicolon = line.find(';', close);
    if (semicolon == std::string_view::npos) return std::nullopt;
    std::string_view dists = line.substr(close + 1, semicolon - close - 1);
    if (dists.empty() || !is_blank(dists.front())) return std::nullopt;
    std::size_t j = 0;
    while (j < dists.size()) {
        while (j < dists.size() && is_blank(dists[j])) ++j;
        std::size_t start = j;
        while (j < dists.size() && !is_blank(dists[j])) {
            if (!is_distribution_char(dists[j])) return std::nullopt;
            ++j;
        }
        if (j > start) h.distributions.emplace_back(dists.substr(start, j - start));
    }
    if (h.distributions.empty()) return std::nullopt;
    // Keywords: "urgency=medium, binary-only=yes"; unknown ones are ignored.
    std::string_view options = line.substr(semicolon + 1);
    std::size_t k = 0;
    while (k <= options.size()) {
        auto comma = options.find(',', k);
        if (comma == std::string_view::npos) comma = options.size();
        std::string_view option = trim(options.substr(k, comma - k));
        auto eq = option.find('=');
        if (eq != std::string_view::npos && iequals(trim(option.substr(0, eq)), "urgency")) {
            std::string_view value = trim(option.substr(eq + 1));
            // "high (security fix)" -> "high"
            auto end = std::find_if(value.begin(), value.end(), [](char c) { return is_blank(c) || c == '('; });
            h.urgency = to_lower(value.substr(0, static_cast<std::size_t>(end - value.begin())));
        }
        k = comma + 1;
    }
    return h;
}

// A line that starts an entry (or tries to): a word at column 0 followed by
// "(". Such a line that parse_header() rejects is a malformed header.
bool looks_like_header(std::string_view line) {
    if (line.empty() || !is_alnum(line.front())) return false;
    std::size_t i = 0;
    while (i < line.size() && is_source_char(line[i])) ++i;
    while (i < line.size() && is_blank(line[i])) ++i;
    return i < line.size() && line[i] == '(' && line.find(')', i) != std::string_view::npos;
}

bool is_trailer(std::string_view line) { return line.starts_with(" -- ") || line.starts_with("-- ") || line == " --"; }

struct Trailer {
    std::string maintainer;
    std::int64_t date = 0;
};

// " -- Name <mail>  Mon, 23 Oct 2023 19:52:22 +0200"; nullopt with `why` set
// when malformed.
std::optional<Trailer> parse_trailer(std::string_view line, std::string& why) {
    line = trim(line);
    line.remove_prefix(std::min<std::size_t>(2, line.size()));  // "--"
    line = trim(line);
    std::string_view maintainer, date;
    if (auto gt = line.find('>'); gt != std::string_view::npos && line.find('<') < gt) {
        maintainer = trim(line.substr(0, gt + 1));
        date = trim(line.substr(gt + 1));
    } else if (auto gap = line.find("  "); gap != std::string_view::npos) {
        maintainer = trim(line.substr(0, gap));
        date = trim(line.substr(gap));
    } else {
        why = "its trailer has no maintainer and date";
        return std::nullopt;
    }
    if (maintainer.empty()) {
        why = "its trailer names no maintainer";
        return std::nullopt;
    }
    auto seconds = parse_changelog_date(date);
    if (!seconds) {
        why = fmt::format("its trailer's date \"{}\" is not an RFC 2822 date", excerpt(date));
        return std::nullopt;
    }
    return Trailer{std::string(maintainer), *seconds};
}

// Dpkg stops at these (at the start of a line, case-insensitively): an Emacs
// local-variables block, a vim modeline and the start of a changelog kept in
// an older format.
bool ends_changelog(std::string_view line) {
    std::string_view t = trim(line);
    if (t.starts_with(";;")) t = trim(t.substr(2));
    return istarts_with(t, "local variables:") || istarts_with(t, "vim:") || istarts_with(t, "old changelog:");
}

// Lines that carry nothing between entries: comments and RCS keywords ($Id: ...$).
bool is_comment(std::string_view line) {
    std::string_view t = trim(line);
    return t.starts_with('#') || (t.size() > 2 && t.front() == '$' && t.back() == '$');
}

class ChangelogParser {
public:
    ChangelogParser(std::string_view text, const std::string& name) : m_text(text), m_name(name) {}

    Changelog parse() {
        std::size_t pos = 0;
        while (pos < m_text.size()) {
            auto end = m_text.find('\n', pos);
            if (end == std::string_view::npos) end = m_text.size();
            std::string_view line = m_text.substr(pos, end - pos);
            if (line.ends_with('\r')) line.remove_suffix(1);
            pos = end + 1;
            ++m_line;
            if (!feed(line)) break;
        }
        if (m_state == State::Body) warn(m_entry.line, "entry {} {} has no trailer (the text ends); skipped", m_entry.source, m_entry.version);
        return std::move(m_out);
    }

private:
    enum class State { Seeking, Body, SkippingEntry };

    template <typename... Args>
    void warn(std::size_t line, fmt::format_string<Args...> format, Args&&... args) {
        m_out.warnings.push_back(fmt::format("{}:{}: {}", m_name, line, fmt::format(format, std::forward<Args>(args)...)));
    }

    // False when parsing stops here.
    bool feed(std::string_view line) {
        const bool indented = !line.empty() && is_blank(line.front());
        if (!indented && !is_trailer(line) && ends_changelog(line)) {
            if (m_state == State::Body)
                warn(m_entry.line, "entry {} {} has no trailer before line {}; skipped", m_entry.source, m_entry.version, m_line);
            m_state = State::Seeking;
            return false;
        }
        if (!indented && looks_like_header(line)) {
            if (m_state == State::Body)
                warn(m_entry.line, "entry {} {} has no trailer before the next entry; skipped", m_entry.source, m_entry.version);
            start_entry(line);
            return true;
        }
        switch (m_state) {
        case State::Seeking:
            if (!trim(line).empty() && !is_comment(line) && !m_in_unexpected) {
                // Old free-form entries: one warning for everything up to the next entry.
                m_in_unexpected = true;
                warn(m_line, "unexpected text outside an entry ignored: \"{}\"", excerpt(line));
            }
            return true;
        case State::SkippingEntry:
            if (is_trailer(line)) m_state = State::Seeking;
            return true;
        case State::Body:
            if (is_trailer(line)) {
                finish_entry(line);
            } else {
                m_body.push_back(line);
            }
            return true;
        }
        return true;
    }

    void start_entry(std::string_view line) {
        m_in_unexpected = false;
        m_body.clear();
        auto header = parse_header(line);
        if (!header) {
            warn(m_line, "malformed entry header \"{}\" (expected \"source (version) distribution; urgency=...\"); entry skipped",
                 excerpt(line));
            m_state = State::SkippingEntry;
            return;
        }
        m_entry = ChangelogEntry{};
        m_entry.source = std::move(header->source);
        m_entry.version = std::move(header->version);
        m_entry.distributions = std::move(header->distributions);
        m_entry.urgency = std::move(header->urgency);
        m_entry.line = m_line;
        m_state = State::Body;
    }

    void finish_entry(std::string_view line) {
        m_state = State::Seeking;
        std::string why;
        auto trailer = parse_trailer(line, why);
        if (!trailer) {
            warn(m_line, "entry {} {} skipped: {}", m_entry.source, m_entry.version, why);
            return;
        }
        m_entry.maintainer = std::move(trailer->maintainer);
        m_entry.date = trailer->date;
        std::size_t first = 0, last = m_body.size();
        while (first < last && trim(m_body[first]).empty()) ++first;
        while (last > first && trim(m_body[last - 1]).empty()) --last;
        for (std::size_t i = first; i < last; ++i) {
            if (i > first) m_entry.text += '\n';
            m_entry.text += m_body[i];
        }
        m_entry.cves = find_cve_ids(m_entry.text);
        m_out.entries.push_back(std::move(m_entry));
        m_entry = ChangelogEntry{};
    }

    std::string_view m_text;
    const std::string& m_name;
    Changelog m_out;
    State m_state = State::Seeking;
    std::size_t m_line = 0;
    bool m_in_unexpected = false;
    ChangelogEntry m_entry;
    std::vector<std::string_view> m_body;
};

}  // namespace

Changelog parse_changelog(std::string_view text, const std::string& display_name) {
    return ChangelogParser(text, display_name).parse();
}

std::vector<std::string> find_cve_ids(std::string_view text) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i + 13 <= text.size(); ++i) {
        if (lower(text[i]) != 'c' || (i > 0 && is_alnum(text[i - 1]))) continue;
        if (!istarts_with(text.substr(i), "cve-")) continue;
        std::size_t j = i + 4;
        std::size_t year_start = j;
        while (j < text.size() && is_digit(text[j])) ++j;
        if (j - year_start != 4 || j >= text.size() || text[j] != '-') continue;
        std::size_t seq_start = ++j;
        while (j < text.size() && is_digit(text[j])) ++j;
        if (j - seq_start < 4) continue;
        std::string id = "CVE-" + std::string(text.substr(year_start, j - year_start));
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
        i = j - 1;
    }
    return ids;
}

std::optional<std::int64_t> parse_changelog_date(std::string_view text) {
    // A trailing comment: "+0000 (UTC)".
    if (auto paren = text.find('('); paren != std::string_view::npos) text = text.substr(0, paren);
    auto tokens = date_tokens(text);
    std::size_t t = 0;
    // An optional day name ("Mon" or "Monday"), which is not checked against the date.
    if (t < tokens.size() && !tokens[t].empty() && std::isalpha(static_cast<unsigned char>(tokens[t][0]))) ++t;
    if (tokens.size() - t != 5) return std::nullopt;
    auto day = number(tokens[t], 1, 2);
    auto month = month_number(tokens[t + 1]);
    auto year = number(tokens[t + 2], 2, 4);
    if (!day || !month || !year || tokens[t + 2].size() == 3) return std::nullopt;
    std::int64_t y = *year;
    if (tokens[t + 2].size() == 2) y += y < 50 ? 2000 : 1900;  // RFC 2822 obsolete two-digit years
    if (*day < 1 || *day > days_in_month(y, *month)) return std::nullopt;
    // HH:MM or HH:MM:SS
    std::string_view time = tokens[t + 3];
    std::optional<unsigned> hh, mm, ss = 0u;
    if (time.size() == 5 && time[2] == ':') {
        hh = number(time.substr(0, 2), 2, 2);
        mm = number(time.substr(3, 2), 2, 2);
    } else if (time.size() == 8 && time[2] == ':' && time[5] == ':') {
        hh = number(time.substr(0, 2), 2, 2);
        mm = number(time.substr(3, 2), 2, 2);
        ss = number(time.substr(6, 2), 2, 2);
    }
    if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
    auto offset = zone_offset(tokens[t + 4]);
    if (!offset) return std::nullopt;
    return days_from_civil(y, *month, *day) * 86400 + static_cast<std::int64_t>(*hh) * 3600 + *mm * 60 + *ss - *offset;
}

}  // namespace slate::deb
