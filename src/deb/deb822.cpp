#include "slate/deb/deb822.hpp"

#include <cstring>

#include <fmt/format.h>

#include "slate/error.hpp"

namespace slate::deb {

namespace {
inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
}  // namespace

std::string_view trim(std::string_view text) {
    while (!text.empty() && (is_blank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
    while (!text.empty() && (is_blank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::optional<std::string_view> Paragraph::get(std::string_view name) const {
    for (const auto& field : m_fields)
        if (field.name.size() == name.size() && (field.name == name || iequals(field.name, name))) return field.value;
    return std::nullopt;
}

std::string_view Paragraph::get_or(std::string_view name, std::string_view fallback) const {
    auto value = get(name);
    return value ? *value : fallback;
}

Deb822Reader::Deb822Reader(std::string_view text, std::string display_name)
    : m_text(text), m_name(std::move(display_name)) {}

bool Deb822Reader::next(Paragraph& paragraph) {
    paragraph.m_fields.clear();
    const char* const begin = m_text.data();
    const char* const end = begin + m_text.size();
    const char* p = begin + m_pos;

    // Skip blank lines and comment lines between paragraphs.
    for (;;) {
        if (p >= end) {
            m_pos = m_text.size();
            return false;
        }
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* line_end = nl ? nl : end;
        const char* q = p;
        while (q < line_end && is_blank(*q)) ++q;
        if (q == line_end || *p == '#') {
            p = nl ? nl + 1 : end;
            ++m_line;
            continue;
        }
        break;
    }

    paragraph.m_line = m_line;
    Field* current = nullptr;
    while (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const char* line_end = nl ? nl : end;
        const char* next = nl ? nl + 1 : end;

        if (*p == ' ' || *p == '\t') {
            // Continuation line, or a blank line made of blanks ending the paragraph.
            const char* q = p;
            while (q < line_end && is_blank(*q)) ++q;
            if (q == line_end) break;
            if (!current)
                throw Error(ErrorCode::Parse,
                            fmt::format("{}:{}: continuation line without a field", m_name, m_line));
            // Extend the value up to the end of this line (value stays contiguous in the buffer).
            const char* value_end = line_end;
            while (value_end > current->value.data() && is_blank(value_end[-1])) --value_end;
            current->value = std::string_view(current->value.data(),
                                              static_cast<std::size_t>(value_end - current->value.data()));
        } else if (p == line_end || (*p == '\r' && p + 1 == line_end)) {
            break;  // empty line: end of paragraph
        } else if (*p == '#') {
            // comment line inside a paragraph (allowed in deb822 sources files)
        } else {
            const char* colon = static_cast<const char*>(std::memchr(p, ':', static_cast<std::size_t>(line_end - p)));
            if (!colon || colon == p)
                throw Error(ErrorCode::Parse, fmt::format("{}:{}: expected \"Field: value\", got \"{}\"", m_name, m_line,
                                                          std::string_view(p, static_cast<std::size_t>(line_end - p))));
            const char* v = colon + 1;
            while (v < line_end && is_blank(*v)) ++v;
            const char* value_end = line_end;
            while (value_end > v && is_blank(value_end[-1])) --value_end;
            paragraph.m_fields.push_back(Field{std::string_view(p, static_cast<std::size_t>(colon - p)),
                                               std::string_view(v, static_cast<std::size_t>(value_end - v))});
            current = &paragraph.m_fields.back();
        }
        p = next;
        ++m_line;
    }
    // Step past the terminating empty line, if any.
    if (p < end) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        p = nl ? nl + 1 : end;
        ++m_line;
    }
    m_pos = static_cast<std::size_t>(p - begin);
    return true;
}

std::vector<std::string_view> split_lines(std::string_view value) {
    std::vector<std::string_view> lines;
    while (!value.empty()) {
        auto nl = value.find('\n');
        auto line = trim(value.substr(0, nl));
        if (!line.empty()) lines.push_back(line);
        if (nl == std::string_view::npos) break;
        value.remove_prefix(nl + 1);
    }
    return lines;
}

std::vector<std::string_view> split_words(std::string_view value) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < value.size()) {
        while (i < value.size() && (is_blank(value[i]) || value[i] == '\n')) ++i;
        std::size_t start = i;
        while (i < value.size() && !(is_blank(value[i]) || value[i] == '\n')) ++i;
        if (i > start) words.push_back(value.substr(start, i - start));
    }
    return words;
}

}  // namespace slate::deb
