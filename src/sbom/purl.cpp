#include "slate/sbom/purl.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace slate::sbom {

namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_' || c == '~';
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

// Each '/'-separated segment encoded on its own; empty segments dropped (the
// specification strips leading and trailing slashes of a namespace).
std::string encode_segments(std::string_view path) {
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        std::string_view segment = path.substr(start, slash - start);
        if (!segment.empty()) {
            if (!out.empty()) out += '/';
            out += purl_encode(segment);
        }
        start = slash + 1;
    }
    return out;
}

using Qualifiers = std::vector<std::pair<std::string_view, std::string_view>>;

// "pkg:<type>/<path>[@<version>][?<qualifiers>]"; `path` is namespace/name,
// already encoded.
std::string build(std::string_view type, const std::string& path, std::string_view version,
                  Qualifiers qualifiers = {}) {
    std::string out = "pkg:";
    out += type;
    out += '/';
    out += path;
    if (!version.empty()) {
        out += '@';
        out += purl_encode(version);
    }
    std::erase_if(qualifiers, [](const auto& q) { return q.second.empty(); });
    std::sort(qualifiers.begin(), qualifiers.end());
    char separator = '?';
    for (const auto& [key, value] : qualifiers) {
        out += separator;
        out += key;
        out += '=';
        out += purl_encode(value, true);
        separator = '&';
    }
    return out;
}

}  // namespace

std::string purl_encode(std::string_view component, bool keep_slash) {
    static constexpr char Hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(component.size());
    for (char ch : component) {
        auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || c == ':' || (keep_slash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += Hex[c >> 4];
            out += Hex[c & 0x0f];
        }
    }
    return out;
}

std::string deb_purl(std::string_view name, std::string_view version, std::string_view arch,
                     std::string_view distro, std::string_view upstream, std::string_view vendor) {
    // The deb type lowercases vendor and name (Debian names are lowercase already).
    return build("deb", purl_encode(lowercase(vendor)) + "/" + purl_encode(lowercase(name)), version,
                 {{"arch", arch}, {"distro", distro}, {"upstream", upstream}});
}

std::string python_purl(std::string_view name, std::string_view version) {
    std::string normalised;
    bool in_separator_run = false;
    for (char c : name) {
        if (c == '-' || c == '_' || c == '.') {
            if (!in_separator_run) normalised += '-';
            in_separator_run = true;
        } else {
            normalised += lower(c);
            in_separator_run = false;
        }
    }
    return build("pypi", purl_encode(normalised), version);
}

std::string npm_purl(std::string_view name, std::string_view version) {
    std::string lowered = lowercase(name);
    std::string_view n = lowered;
    std::string path;
    if (n.starts_with('@')) {
        // "@scope/name": the scope is the namespace, '@' included (and encoded).
        std::size_t slash = n.find('/');
        std::string_view scope = n.substr(0, slash);
        std::string_view rest = slash == std::string_view::npos ? std::string_view() : n.substr(slash + 1);
        path = purl_encode(scope);
        if (!rest.empty()) path += "/" + purl_encode(rest);
    } else {
        path = purl_encode(n);
    }
    return build("npm", path, version);
}

std::string golang_purl(std::string_view module_path, std::string_view version) {
    return build("golang", encode_segments(module_path), version);
}

std::string maven_purl(std::string_view group, std::string_view artifact, std::string_view version) {
    std::string path = purl_encode(group);
    if (!path.empty()) path += '/';
    path += purl_encode(artifact);
    return build("maven", path, version);
}

}  // namespace slate::sbom

namespace slate::sbom {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> purl_decode(std::string_view component) {
    std::string out;
    out.reserve(component.size());
    for (std::size_t i = 0; i < component.size(); ++i) {
        if (component[i] != '%') {
            out += component[i];
            continue;
        }
        int high = i + 1 < component.size() ? hex_value(component[i + 1]) : -1;
        int low = i + 2 < component.size() ? hex_value(component[i + 2]) : -1;
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

std::optional<Purl> parse_purl(std::string_view text, std::string* error) {
    auto fail = [&](const char* why) -> std::optional<Purl> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (text.size() < 4 || lowercase(text.substr(0, 4)) != "pkg:") return fail("it does not start with \"pkg:\"");
    std::string_view rest = text.substr(4);
    while (rest.starts_with('/')) rest.remove_prefix(1);  // "pkg://type/..." is tolerated by the spec
    Purl purl;
    // Right to left, as the specification parses: #subpath, ?qualifiers, @version.
    if (auto hash = rest.rfind('#'); hash != std::string_view::npos) {
        std::string_view subpath = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
        while (subpath.starts_with('/')) subpath.remove_prefix(1);
        while (subpath.ends_with('/')) subpath.remove_suffix(1);
        auto decoded = purl_decode(subpath);
        if (!decoded) return fail("a malformed %-escape in the subpath");
        purl.subpath = std::move(*decoded);
    }
    if (auto question = rest.rfind('?'); question != std::string_view::npos) {
        std::string_view qualifiers = rest.substr(question + 1);
        rest = rest.substr(0, question);
        while (!qualifiers.empty()) {
            auto amp = qualifiers.find('&');
            std::string_view pair = qualifiers.substr(0, amp);
            qualifiers = amp == std::string_view::npos ? std::string_view{} : qualifiers.substr(amp + 1);
            auto equals = pair.find('=');
            if (equals == std::string_view::npos || equals == 0) continue;
            auto value = purl_decode(pair.substr(equals + 1));
            if (!value) return fail("a malformed %-escape in a qualifier");
            if (!value->empty()) purl.qualifiers[lowercase(pair.substr(0, equals))] = std::move(*value);
        }
    }
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        auto version = purl_decode(rest.substr(at + 1));
        if (!version) return fail("a malformed %-escape in the version");
        purl.version = std::move(*version);
        rest = rest.substr(0, at);
    }
    while (rest.ends_with('/')) rest.remove_suffix(1);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return fail("it has no type or no name");
    purl.type = lowercase(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
    auto last = rest.rfind('/');
    std::string_view name = last == std::string_view::npos ? rest : rest.substr(last + 1);
    std::string_view name_space = last == std::string_view::npos ? std::string_view{} : rest.substr(0, last);
    auto decoded_name = purl_decode(name);
    if (!decoded_name || decoded_name->empty()) return fail("it has no name or a malformed %-escape in it");
    purl.name = std::move(*decoded_name);
    std::string decoded_space;
    while (!name_space.empty()) {
        auto cut = name_space.find('/');
        auto segment = purl_decode(name_space.substr(0, cut));
        if (!segment) return fail("a malformed %-escape in the namespace");
        if (!segment->empty()) {
            if (!decoded_space.empty()) decoded_space += '/';
            decoded_space += *segment;
        }
        name_space = cut == std::string_view::npos ? std::string_view{} : name_space.substr(cut + 1);
    }
    purl.name_space = std::move(decoded_space);
    return purl;
}

}  // namespace slate::sbom
