// npm packages: the package.json at the root of each node_modules/<name>/.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "sbom/language_support.hpp"
#include "slate/sbom/languages.hpp"
#include "slate/sbom/purl.hpp"

namespace slate::sbom {
namespace {

using nlohmann::json;

std::string string_field(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// "author": "Name <mail> (url)" or {"name", "email", "url"}.
std::string npm_person(const json& value) {
    if (value.is_string()) return std::string(lang::trim(value.get<std::string>()));
    if (!value.is_object()) return {};
    std::string name = string_field(value, "name");
    std::string email = string_field(value, "email");
    if (email.empty()) return name;
    return name.empty() ? email : name + " <" + email + ">";
}

// One licence entry: "MIT", or the {"type": "MIT", "url": ...} object form.
std::string license_entry(const json& value) {
    if (value.is_string()) {
        std::string text = value.get<std::string>();
        // "SEE LICENSE IN <file>" points at a file this cataloger does not read.
        if (text.starts_with("SEE LICENSE IN") || text.starts_with("SEE LICENCE IN")) return "NOASSERTION";
        return lang::declared_license(text);
    }
    if (value.is_object()) return lang::declared_license(string_field(value, "type"));
    return "NOASSERTION";
}

// "license" (a string or an object), or the deprecated "licenses" array,
// whose entries are alternatives: each becomes one operand of an OR.
std::string npm_license(const json& package) {
    if (auto it = package.find("license"); it != package.end()) return license_entry(*it);
    auto it = package.find("licenses");
    if (it == package.end() || !it->is_array()) return "NOASSERTION";
    std::vector<std::string> parts;
    for (const json& entry : *it) {
        std::string part = license_entry(entry);
        if (part == "NOASSERTION") continue;
        bool compound = part.find(' ') != std::string::npos;
        parts.push_back(compound ? "(" + part + ")" : part);
    }
    if (parts.empty()) return "NOASSERTION";
    if (parts.size() == 1 && parts[0].front() == '(') return parts[0].substr(1, parts[0].size() - 2);
    std::string joined;
    for (const std::string& part : parts) joined += (joined.empty() ? "" : " OR ") + part;
    return joined;
}

}  // namespace

std::optional<Package> npm_package(std::string_view path, std::string_view package_json,
                                   std::vector<Warning>& warnings) {
    // Parsed without exceptions: a broken file is a warning, not an error.
    json document = json::parse(package_json.begin(), package_json.end(), nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
        warnings.push_back(Warning{std::string(path), "package.json is not a JSON object, so this npm package is "
                                                      "not listed. Reinstall the package to repair it."});
        return std::nullopt;
    }
    Package package;
    package.type = PackageType::Npm;
    package.name = string_field(document, "name");
    package.version = string_field(document, "version");
    if (package.name.empty() || package.version.empty()) {
        std::string missing = package.name.empty() ? "name" : "version";
        warnings.push_back(Warning{std::string(path), "package.json has no \"" + missing +
                                                          "\" string, so this npm package is not listed."});
        return std::nullopt;
    }
    package.purl = npm_purl(package.name, package.version);
    package.license_declared = npm_license(document);
    package.description = string_field(document, "description");
    package.homepage = string_field(document, "homepage");
    if (auto it = document.find("author"); it != document.end()) package.maintainer = npm_person(*it);
    package.evidence.push_back(lang::evidence(path, package_json));
    return package;
}

}  // namespace slate::sbom
