#include "sbom/language_support.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "slate/sbom/licenses.hpp"
#include "slate/util/hash.hpp"

namespace slate::sbom::lang {
namespace {

// Exceptions allowed after WITH.
constexpr std::array k_exception_ids{
    "Classpath-exception-2.0", "LLVM-exception",  "GCC-exception-3.1",
    "Autoconf-exception-3.0",  "Bison-exception-2.2", "Font-exception-2.0",
};

struct NameMapping {
    const char* name;  // lowercase, single spaces
    const char* id;
};

// Deprecated SPDX ids (still common in npm) and licence names people write,
// each naming exactly one licence. Names that do not say which variant
// ("BSD", "LGPL", "Apache Software License", "GPLv2") are deliberately absent:
// they become LicenseRef- ids rather than a guess.
constexpr std::array k_names{
    NameMapping{"gpl-2.0", "GPL-2.0-only"},
    NameMapping{"gpl-2.0+", "GPL-2.0-or-later"},
    NameMapping{"gpl-3.0", "GPL-3.0-only"},
    NameMapping{"gpl-3.0+", "GPL-3.0-or-later"},
    NameMapping{"lgpl-2.0", "LGPL-2.0-only"},
    NameMapping{"lgpl-2.0+", "LGPL-2.0-or-later"},
    NameMapping{"lgpl-2.1", "LGPL-2.1-only"},
    NameMapping{"lgpl-2.1+", "LGPL-2.1-or-later"},
    NameMapping{"lgpl-3.0", "LGPL-3.0-only"},
    NameMapping{"lgpl-3.0+", "LGPL-3.0-or-later"},
    NameMapping{"agpl-3.0", "AGPL-3.0-only"},
    NameMapping{"mit license", "MIT"},
    NameMapping{"the mit license", "MIT"},
    NameMapping{"expat", "MIT"},
    NameMapping{"expat license", "MIT"},
    NameMapping{"isc license", "ISC"},
    NameMapping{"isc license (iscl)", "ISC"},
    NameMapping{"iscl", "ISC"},
    NameMapping{"apache 2.0", "Apache-2.0"},
    NameMapping{"apache 2", "Apache-2.0"},
    NameMapping{"apache2", "Apache-2.0"},
    NameMapping{"apache license 2.0", "Apache-2.0"},
    NameMapping{"apache license, version 2.0", "Apache-2.0"},
    NameMapping{"apache license version 2.0", "Apache-2.0"},
    NameMapping{"apache software license 2.0", "Apache-2.0"},
    NameMapping{"asl 2.0", "Apache-2.0"},
    NameMapping{"bsd 3-clause", "BSD-3-Clause"},
    NameMapping{"bsd 3-clause license", "BSD-3-Clause"},
    NameMapping{"3-clause bsd", "BSD-3-Clause"},
    NameMapping{"new bsd", "BSD-3-Clause"},
    NameMapping{"new bsd license", "BSD-3-Clause"},
    NameMapping{"modified bsd", "BSD-3-Clause"},
    NameMapping{"bsd 2-clause", "BSD-2-Clause"},
    NameMapping{"bsd 2-clause license", "BSD-2-Clause"},
    NameMapping{"2-clause bsd", "BSD-2-Clause"},
    NameMapping{"simplified bsd", "BSD-2-Clause"},
    NameMapping{"psf", "PSF-2.0"},
    NameMapping{"psfl", "PSF-2.0"},
    NameMapping{"psf license", "PSF-2.0"},
    NameMapping{"python software foundation license", "PSF-2.0"},
    NameMapping{"mpl 2.0", "MPL-2.0"},
    NameMapping{"mozilla public license 2.0 (mpl 2.0)", "MPL-2.0"},
    NameMapping{"the unlicense", "Unlicense"},
    NameMapping{"the unlicense (unlicense)", "Unlicense"},
    NameMapping{"cc0", "CC0-1.0"},
    NameMapping{"cc0 1.0 universal (cc0 1.0) public domain dedication", "CC0-1.0"},
    NameMapping{"zlib/libpng license", "Zlib"},
    NameMapping{"boost software license 1.0 (bsl-1.0)", "BSL-1.0"},
    NameMapping{"eclipse public license 2.0 (epl-2.0)", "EPL-2.0"},
    NameMapping{"mit no attribution license (mit-0)", "MIT-0"},
    NameMapping{"aflv2.1", "AFL-2.1"},
    NameMapping{"gplv2+", "GPL-2.0-or-later"},
    NameMapping{"gplv3+", "GPL-3.0-or-later"},
    NameMapping{"lgplv2+", "LGPL-2.0-or-later"},
    NameMapping{"lgplv3+", "LGPL-3.0-or-later"},
    NameMapping{"gnu general public license v2 or later (gplv2+)", "GPL-2.0-or-later"},
    NameMapping{"gnu general public license v3 or later (gplv3+)", "GPL-3.0-or-later"},
    NameMapping{"gnu lesser general public license v2 or later (lgplv2+)", "LGPL-2.0-or-later"},
    NameMapping{"gnu lesser general public license v3 or later (lgplv3+)", "LGPL-3.0-or-later"},
    NameMapping{"gnu affero general public license v3 or later (agplv3+)", "AGPL-3.0-or-later"},
    NameMapping{"http://www.apache.org/licenses/license-2.0", "Apache-2.0"},
    NameMapping{"http://www.apache.org/licenses/license-2.0.txt", "Apache-2.0"},
    NameMapping{"https://www.apache.org/licenses/license-2.0", "Apache-2.0"},
    NameMapping{"https://www.apache.org/licenses/license-2.0.txt", "Apache-2.0"},
    NameMapping{"https://opensource.org/licenses/mit", "MIT"},
};

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Lowercase with each whitespace run made one space.
std::string normalise_name(std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : trim(text)) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

template <std::size_t N>
std::optional<std::string> find_id(const std::array<const char*, N>& ids, std::string_view word) {
    for (const char* id : ids)
        if (iequals(id, word)) return std::string(id);
    return std::nullopt;
}

std::optional<std::string> name_to_id(std::string_view text) {
    std::string key = normalise_name(text);
    for (const auto& mapping : k_names)
        if (key == mapping.name) return std::string(mapping.id);
    return std::nullopt;
}

// A small recursive-descent reader of SPDX expressions:
//   expr   := term (("AND" | "OR") term)*
//   term   := simple ("WITH" exception)?
//   simple := id ["+"] | "LicenseRef-..." | "(" expr ")"
class ExpressionReader {
public:
    explicit ExpressionReader(std::string_view text) { tokenize(text); }

    std::optional<std::string> read() {
        if (m_tokens.empty()) return std::nullopt;
        auto out = expression(0);
        if (!out || m_pos != m_tokens.size()) return std::nullopt;
        return out;
    }

private:
    void tokenize(std::string_view text) {
        std::string word;
        auto flush = [&] {
            if (!word.empty()) m_tokens.push_back(std::move(word));
            word.clear();
        };
        for (char c : text) {
            if (c == '(' || c == ')') {
                flush();
                m_tokens.emplace_back(1, c);
            } else if (std::isspace(static_cast<unsigned char>(c))) {
                flush();
            } else {
                word += c;
            }
        }
        flush();
    }

    bool at_operator(std::string_view op) const {
        return m_pos < m_tokens.size() && iequals(m_tokens[m_pos], op);
    }

    std::optional<std::string> expression(int depth) {
        if (depth > 16) return std::nullopt;
        auto out = term(depth);
        while (out && (at_operator("AND") || at_operator("OR"))) {
            std::string op = lower(m_tokens[m_pos++]) == "and" ? " AND " : " OR ";
            auto next = term(depth);
            if (!next) return std::nullopt;
            *out += op + *next;
        }
        return out;
    }

    std::optional<std::string> term(int depth) {
        auto out = simple(depth);
        if (out && at_operator("WITH")) {
            ++m_pos;
            if (m_pos >= m_tokens.size()) return std::nullopt;
            auto exception = find_id(k_exception_ids, m_tokens[m_pos++]);
            if (!exception) return std::nullopt;
            *out += " WITH " + *exception;
        }
        return out;
    }

    std::optional<std::string> simple(int depth) {
        if (m_pos >= m_tokens.size()) return std::nullopt;
        std::string word = m_tokens[m_pos++];
        if (word == "(") {
            auto inner = expression(depth + 1);
            if (!inner || m_pos >= m_tokens.size() || m_tokens[m_pos] != ")") return std::nullopt;
            ++m_pos;
            return "(" + *inner + ")";
        }
        if (word.size() > 11 && iequals(std::string_view(word).substr(0, 11), "LicenseRef-")) {
            bool valid = std::all_of(word.begin() + 11, word.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
            });
            if (!valid) return std::nullopt;
            return "LicenseRef-" + word.substr(11);
        }
        if (auto id = spdx_license_id(word)) return id;
        // Deprecated ids ("GPL-2.0", "GPL-3.0+") are written as their
        // current equivalents.
        if (auto id = name_to_id(word); id && word.find(' ') == std::string::npos &&
                                        word.find('-') != std::string::npos)
            return id;
        if (word.size() > 1 && word.back() == '+') {
            if (auto id = spdx_license_id(std::string_view(word).substr(0, word.size() - 1))) return *id + "+";
        }
        return std::nullopt;
    }

    std::vector<std::string> m_tokens;
    std::size_t m_pos = 0;
};

}  // namespace

std::string spdx_license(std::string_view text) {
    text = trim(text);
    if (text.empty() || text.size() > 512) return {};
    if (auto expression = ExpressionReader(text).read()) return *expression;
    if (auto id = name_to_id(text)) return *id;
    return {};
}

std::string license_ref(std::string_view name) {
    name = trim(name);
    if (name.empty() || iequals(name, "UNKNOWN") || iequals(name, "NOASSERTION") || iequals(name, "NONE") ||
        name.size() > 64 || name.find('\n') != std::string_view::npos)
        return "NOASSERTION";
    while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.front()))) name.remove_prefix(1);
    if (name.empty()) return "NOASSERTION";
    // The same LicenseRef- spelling the Debian copyright reader uses.
    return sbom::license_ref(name);
}

std::string declared_license(std::string_view text) {
    if (auto id = spdx_license(text); !id.empty()) return id;
    return license_ref(text);
}

FileEntry evidence(std::string_view path, std::string_view content) { return file_entry(path, content); }

std::string_view trim(std::string_view text) {
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view dir_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

}  // namespace slate::sbom::lang
