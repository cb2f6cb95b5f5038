// Python distributions: the core metadata (METADATA in *.dist-info, PKG-INFO
// in *.egg-info, or a *.egg-info file), an RFC 822-style header block.

#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sbom/language_support.hpp"
#include "slate/sbom/languages.hpp"
#include "slate/sbom/purl.hpp"

namespace slate::sbom {
namespace {

// The header fields of a metadata file in order, names lowercased. A
// continuation line (starting with a space or tab) is appended to the field
// above with a newline; the headers end at the first empty line (the body is
// the long description, which is not needed).
std::vector<std::pair<std::string, std::string>> read_headers(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> fields;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') {
            if (!fields.empty()) {
                fields.back().second += '\n';
                fields.back().second += lang::trim(line);
            }
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;  // not a header: ignored, as Python's email parser does
        std::string key(lang::trim(line.substr(0, colon)));
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        fields.emplace_back(std::move(key), std::string(lang::trim(line.substr(colon + 1))));
    }
    return fields;
}

class Headers {
public:
    explicit Headers(std::string_view text) : m_fields(read_headers(text)) {}

    std::string get(std::string_view key) const {
        for (const auto& [name, value] : m_fields)
            if (name == key) return value;
        return {};
    }

    std::vector<std::string> all(std::string_view key) const {
        std::vector<std::string> values;
        for (const auto& [name, value] : m_fields)
            if (name == key) values.push_back(value);
        return values;
    }

private:
    std::vector<std::pair<std::string, std::string>> m_fields;
};

// "Name <mail>" from a name field and an e-mail field, either possibly empty;
// an e-mail field may already hold "Name <mail>".
std::string person(const std::string& name, const std::string& email) {
    if (email.empty()) return name;
    if (name.empty() || email.find('<') != std::string::npos) return email;
    return name + " <" + email + ">";
}

// The declared licence, most reliable source first: License-Expression (core
// metadata 2.4), a License field that is an SPDX id or a well-known name, a
// single licence classifier that names one licence, then the License field or
// classifier as a LicenseRef-, then NOASSERTION.
std::string python_license(const Headers& headers) {
    std::string expression = headers.get("license-expression");
    if (!expression.empty()) return lang::declared_license(expression);

    std::string field = headers.get("license");
    if (auto id = lang::spdx_license(field); !id.empty()) return id;

    std::set<std::string> names;  // the licence part of "License :: OSI Approved :: MIT License"
    for (const std::string& classifier : headers.all("classifier")) {
        std::string_view text = classifier;
        if (!text.starts_with("License ::")) continue;
        auto last = text.rfind("::");
        std::string_view name = lang::trim(text.substr(last + 2));
        if (name == "OSI Approved" || name.empty()) continue;  // says nothing about which licence
        names.emplace(name);
    }
    if (names.size() == 1) {
        if (auto id = lang::spdx_license(*names.begin()); !id.empty()) return id;
    }
    if (!lang::trim(field).empty() && !lang::iequals(lang::trim(field), "UNKNOWN")) return lang::license_ref(field);
    if (names.size() == 1) return lang::license_ref(*names.begin());
    return "NOASSERTION";
}

std::string python_homepage(const Headers& headers) {
    std::string homepage = headers.get("home-page");
    if (!homepage.empty() && !lang::iequals(homepage, "UNKNOWN")) return homepage;
    // Project-URL: Homepage, https://...
    for (const std::string& value : headers.all("project-url")) {
        std::string_view text = value;
        auto comma = text.find(',');
        if (comma == std::string_view::npos) continue;
        std::string_view label = lang::trim(text.substr(0, comma));
        if (lang::iequals(label, "Homepage") || lang::iequals(label, "Home"))
            return std::string(lang::trim(text.substr(comma + 1)));
    }
    return {};
}

}  // namespace

std::optional<Package> python_package(std::string_view path, std::string_view metadata,
                                      std::vector<Warning>& warnings) {
    Headers headers(metadata);
    Package package;
    package.type = PackageType::Python;
    package.name = headers.get("name");
    package.version = headers.get("version");
    if (package.name.empty() || package.version.empty()) {
        std::string missing = package.name.empty() ? "Name" : "Version";
        warnings.push_back(Warning{std::string(path), "Python package metadata has no " + missing +
                                                          " field, so the distribution is not listed. "
                                                          "Reinstall it with a current pip to rewrite its metadata."});
        return std::nullopt;
    }
    package.purl = python_purl(package.name, package.version);
    package.license_declared = python_license(headers);
    package.description = headers.get("summary");
    if (lang::iequals(package.description, "UNKNOWN")) package.description.clear();
    package.homepage = python_homepage(headers);
    package.maintainer = person(headers.get("author"), headers.get("author-email"));
    if (package.maintainer.empty())
        package.maintainer = person(headers.get("maintainer"), headers.get("maintainer-email"));
    if (lang::iequals(package.maintainer, "UNKNOWN")) package.maintainer.clear();
    package.evidence.push_back(lang::evidence(path, metadata));
    return package;
}

}  // namespace slate::sbom
