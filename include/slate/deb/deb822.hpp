#pragma once
// deb822 control data (Packages, Release, .sources): a fast reader that walks
// paragraphs of a buffer without copying. Field values are views into the
// buffer; multi-line values keep their continuation lines verbatim.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::deb {

struct Field {
    std::string_view name;
    std::string_view value;  // leading/trailing blanks of the first line trimmed
};

class Paragraph {
public:
    const std::vector<Field>& fields() const { return m_fields; }
    // Case-insensitive field lookup (deb822 field names are case-insensitive).
    std::optional<std::string_view> get(std::string_view name) const;
    std::string_view get_or(std::string_view name, std::string_view fallback) const;
    std::size_t line() const { return m_line; }  // 1-based line of the first field
    bool empty() const { return m_fields.empty(); }

private:
    friend class Deb822Reader;
    std::vector<Field> m_fields;
    std::size_t m_line = 0;
};

class Deb822Reader {
public:
    // `display_name` names the input in error messages.
    Deb822Reader(std::string_view text, std::string display_name);

    // Fills `paragraph` with the next paragraph; false at the end of input.
    // Throws slate::Error (Parse) with file:line on malformed input.
    bool next(Paragraph& paragraph);

private:
    std::string_view m_text;
    std::size_t m_pos = 0;
    std::size_t m_line = 1;
    std::string m_name;
};

// Splits a multi-line field value into its non-empty lines, trimmed.
std::vector<std::string_view> split_lines(std::string_view value);
// Splits on runs of whitespace.
std::vector<std::string_view> split_words(std::string_view value);
std::string_view trim(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

}  // namespace slate::deb
