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
