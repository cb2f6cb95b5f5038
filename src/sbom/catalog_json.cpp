#include "slate/sbom/catalog_json.hpp"

#include <nlohmann/json.hpp>

namespace slate::sbom {
namespace {

using nlohmann::json;

constexpr PackageType AllTypes[] = {PackageType::Deb, PackageType::Python, PackageType::Npm, PackageType::Go,
                                    PackageType::Java};

std::optional<PackageType> type_named(const std::string& name) {
    for (PackageType type : AllTypes)
        if (name == to_string(type)) return type;
    return std::nullopt;
}

}  // namespace

std::string catalog_to_json(const Catalog& catalog) {
    json out;
    out["format"] = CatalogFormatVersion;
    out["subject"] = {{"name", catalog.subject.name},
                      {"digest", catalog.subject.digest},
                      {"platform", catalog.subject.platform},
                      {"version", catalog.subject.version}};
    out["os"] = {{"id", catalog.os.id},
                 {"version_id", catalog.os.version_id},
                 {"codename", catalog.os.version_codename},
                 {"pretty_name", catalog.os.pretty_name}};
    out["created"] = catalog.created;
    json packages = json::array();
    for (const auto& p : catalog.packages)
        packages.push_back({{"type", to_string(p.type)},
                            {"name", p.name},
                            {"version", p.version},
                            {"arch", p.arch},
                            {"source", p.source},
                            {"source_version", p.source_version},
                            {"purl", p.purl},
                            {"license", p.license_declared}});
    out["packages"] = std::move(packages);
    return out.dump();
}

std::optional<Catalog> catalog_from_json(std::string_view text) {
    try {
        json in = json::parse(text);
        if (!in.is_object() || in.value("format", 0) != CatalogFormatVersion) return std::nullopt;
        Catalog catalog;
        const json& subject = in.at("subject");
        catalog.subject.name = subject.at("name").get<std::string>();
        catalog.subject.digest = subject.at("digest").get<std::string>();
        catalog.subject.platform = subject.at("platform").get<std::string>();
        catalog.subject.version = subject.at("version").get<std::string>();
        const json& os = in.at("os");
        catalog.os.id = os.at("id").get<std::string>();
        catalog.os.version_id = os.at("version_id").get<std::string>();
        catalog.os.version_codename = os.at("codename").get<std::string>();
        catalog.os.pretty_name = os.at("pretty_name").get<std::string>();
        catalog.created = in.at("created").get<std::int64_t>();
        for (const json& p : in.at("packages")) {
            auto type = type_named(p.at("type").get<std::string>());
            if (!type) return std::nullopt;
            Package package;
            package.type = *type;
            package.name = p.at("name").get<std::string>();
            package.version = p.at("version").get<std::string>();
            package.arch = p.at("arch").get<std::string>();
            package.source = p.at("source").get<std::string>();
            package.source_version = p.at("source_version").get<std::string>();
            package.purl = p.at("purl").get<std::string>();
            package.license_declared = p.at("license").get<std::string>();
            catalog.packages.push_back(std::move(package));
        }
        return catalog;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

}  // namespace slate::sbom
