// CycloneDX 1.6 JSON writer.
#include "slate/sbom/cyclonedx.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "slate/oci/image.hpp"

namespace slate::sbom {

using Json = nlohmann::ordered_json;

// The pieces both writers share (declared in spdx.hpp). They live here to
// keep spdx.cpp a readable size.
namespace detail {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool is_hex(std::string_view text, std::size_t length) {
    return text.size() == length &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string digest_hex(std::string_view digest) {
    if (!digest.starts_with("sha256:") || !is_hex(digest.substr(7), 64)) return {};
    return lower(digest.substr(7));
}

bool is_url(std::string_view text) {
    bool scheme = text.starts_with("https://") || text.starts_with("http://") || text.starts_with("ftp://");
    if (!scheme || text.size() > 2048) return false;
    auto host = text.substr(text.find("://") + 3);
    if (host.empty() || host.front() == '/') return false;
    return std::none_of(text.begin(), text.end(), [](unsigned char c) {
        return c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '{' || c == '}' ||
               c == '|' || c == '^' || c == '`';
    });
}

Contact parse_contact(std::string_view text) {
    auto clean = [](std::string_view part) {
        std::string out;
        for (unsigned char c : part) {
            if (c == '(' || c == ')' || c == '<' || c == '>' || c < 0x20 || c == 0x7f) continue;
            out += static_cast<char>(c);
        }
        auto first = out.find_first_not_of(' ');
        if (first == std::string::npos) return std::string();
        return out.substr(first, out.find_last_not_of(' ') - first + 1);
    };
    Contact contact;
    auto open = text.find('<');
    auto close = text.find('>', open == std::string_view::npos ? 0 : open);
    if (open != std::string_view::npos && close != std::string_view::npos) {
        contact.name = clean(text.substr(0, open));
        contact.email = clean(text.substr(open + 1, close - open - 1));
    } else {
        contact.name = clean(text);
    }
    // A bare address: it names the person too.
    if (contact.email.empty() && contact.name.find('@') != std::string::npos &&
        contact.name.find(' ') == std::string::npos)
        contact.email = contact.name;
    if (contact.name.empty()) contact.name = contact.email;
    if (contact.email.find('@') == std::string::npos || contact.email.find(' ') != std::string::npos)
        contact.email.clear();
    return contact;
}

bool is_organization(std::string_view name) {
    static constexpr std::string_view Words[] = {"team",    "maintainers", "developers", "group",     "project",
                                                 "foundation", "packagers", "community", "consortium", "authors"};
    std::string text = lower(name);
    for (auto word : Words) {
        for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
            bool start = at == 0 || !std::isalpha(static_cast<unsigned char>(text[at - 1]));
            auto end = at + word.size();
            bool stop = end == text.size() || !std::isalpha(static_cast<unsigned char>(text[end]));
            if (start && stop) return true;
        }
    }
    return false;
}

std::vector<std::pair<std::string, std::string>> package_checksums(const Package& package) {
    static const std::map<std::string, std::pair<std::string, std::size_t>> Known{
        {"SHA1", {"SHA1", 40}},     {"SHA224", {"SHA224", 56}}, {"SHA256", {"SHA256", 64}},
        {"SHA384", {"SHA384", 96}}, {"SHA512", {"SHA512", 128}}, {"MD5", {"MD5", 32}}};
    std::map<std::string, std::string> out;
    for (const auto& [algorithm, value] : package.checksums) {
        std::string key;
        for (unsigned char c : algorithm)
            if (c != '-' && c != '_') key += static_cast<char>(std::toupper(c));
        auto known = Known.find(key);
        if (known == Known.end() || !is_hex(value, known->second.second)) continue;
        out.emplace(known->second.first, lower(value));
    }
    return {out.begin(), out.end()};
}

std::vector<std::pair<std::size_t, std::vector<std::size_t>>> resolve_dependencies(
    const std::vector<const Package*>& sorted) {
    std::map<std::pair<PackageType, std::string>, std::vector<std::size_t>> by_name;
    for (std::size_t i = 0; i < sorted.size(); ++i) by_name[{sorted[i]->type, sorted[i]->name}].push_back(i);
    std::vector<std::pair<std::size_t, std::vector<std::size_t>>> result;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const Package& package = *sorted[i];
        std::set<std::size_t> targets;
        for (const auto& name : package.depends) {
            auto found = by_name.find({package.type, name});
            if (found == by_name.end()) continue;
            std::vector<std::size_t> same_arch;
            for (std::size_t candidate : found->second) {
                const std::string& arch = sorted[candidate]->arch;
                if (arch == package.arch || arch == "all" || package.arch == "all" || arch.empty())
                    same_arch.push_back(candidate);
            }
            for (std::size_t candidate : same_arch.empty() ? found->second : same_arch)
                if (candidate != i) targets.insert(candidate);
        }
        if (!targets.empty()) result.emplace_back(i, std::vector<std::size_t>(targets.begin(), targets.end()));
    }
    return result;
}

}  // namespace detail

std::string cyclonedx_serial(const Subject& subject) {
    return "urn:uuid:" + name_based_uuid("cyclonedx\n" + document_identity(subject));
}

std::string cyclonedx_serial(const Catalog& catalog, const DocumentOptions& options) {
    return "urn:uuid:" + name_based_uuid("cyclonedx\n" + document_identity(catalog, options));
}

namespace {

constexpr const char* SchemaUri = "http://cyclonedx.org/schema/bom-1.6.schema.json";

// SPDX algorithm names (detail::package_checksums) to CycloneDX's.
std::string cyclonedx_algorithm(const std::string& spdx) {
    static const std::map<std::string, std::string> Names{
        {"SHA1", "SHA-1"}, {"SHA256", "SHA-256"}, {"SHA384", "SHA-384"}, {"SHA512", "SHA-512"}, {"MD5", "MD5"}};
    auto found = Names.find(spdx);
    return found == Names.end() ? std::string() : found->second;  // SHA-224 has no CycloneDX name
}

Json hash(const std::string& algorithm, const std::string& hex) { return {{"alg", algorithm}, {"content", hex}}; }

Json property(const std::string& name, const std::string& value) { return {{"name", name}, {"value", value}}; }

Json contact_json(const detail::Contact& contact) {
    Json json{{"name", contact.name}};
    if (!contact.email.empty()) json["email"] = contact.email;
    return json;
}

Json document_head(const std::string& serial, std::int64_t created, const DocumentOptions& options) {
    Json doc;
    doc["$schema"] = SchemaUri;
    doc["bomFormat"] = "CycloneDX";
    doc["specVersion"] = "1.6";
    doc["serialNumber"] = serial;
    doc["version"] = 1;
    Json tool{{"type", "application"}, {"name", "slate"}, {"version", options.tool_version}};
    doc["metadata"] = {{"timestamp", oci::format_rfc3339(created)},
                       {"tools", {{"components", Json::array({std::move(tool)})}}}};
    return doc;
}

// The image as a container component; its bom-ref is its purl when it has one.
Json image_component(const Subject& subject, const std::string& ref) {
    Json component;
    component["type"] = "container";
    component["bom-ref"] = ref;
    component["name"] = subject.name.empty() ? std::string("unnamed") : subject.name;
    if (!subject.digest.empty()) component["version"] = subject.digest;
    else if (!subject.version.empty()) component["version"] = subject.version;
    if (auto hex = detail::digest_hex(subject.digest); !hex.empty())
        component["hashes"] = Json::array({hash("SHA-256", hex)});
    if (auto purl = image_purl(subject); !purl.empty()) component["purl"] = purl;
    Json properties = Json::array();
    if (!subject.platform.empty()) properties.push_back(property("slate:image:platform", subject.platform));
    if (!subject.version.empty()) properties.push_back(property("slate:image:tag", subject.version));
    if (!properties.empty()) component["properties"] = std::move(properties);
    return component;
}

// bom-refs are unique in a BOM: a second holder of the same ref (two copies
// of one Python distribution) gets "package-id=2" (then 3...) as a qualifier,
// so it still reads as the same purl.
std::string unique_ref(std::set<std::string>& used, const std::string& ref) {
    if (used.insert(ref).second) return ref;
    char separator = ref.find('?') == std::string::npos ? '?' : '&';
    for (int n = 2;; ++n)
        if (auto candidate = ref + separator + "package-id=" + std::to_string(n); used.insert(candidate).second)
            return candidate;
}

std::string image_ref(const Subject& subject) {
    auto purl = image_purl(subject);
    return purl.empty() ? "image:" + (subject.name.empty() ? std::string("unnamed") : subject.name) : purl;
}

// CycloneDX allows either license objects or one expression. The declared
// license is preferred (the concluded one when only it is known); text that
// is no SPDX expression is kept as a license name rather than lost.
std::optional<Json> licenses_json(const Package& p) {
    auto usable = [](const std::string& e) { return !e.empty() && e != "NOASSERTION" && e != "NONE"; };
    for (auto [expression, acknowledgement] : {std::pair{&p.license_declared, "declared"},
                                               std::pair{&p.license_concluded, "concluded"}}) {
        if (!usable(*expression)) continue;
        if (is_license_expression(*expression))
            return Json::array({{{"expression", *expression}, {"acknowledgement", acknowledgement}}});
        return Json::array({{{"license", {{"name", *expression}, {"acknowledgement", acknowledgement}}}}});
    }
    return std::nullopt;
}

class CycloneDxWriter {
public:
    CycloneDxWriter(const Catalog& catalog, const DocumentOptions& options) : m_catalog(catalog), m_options(options) {}

    std::string write() {
        Json doc = document_head(cyclonedx_serial(m_catalog, m_options), m_catalog.created, m_options);
        std::string root = claim(image_ref(m_catalog.subject));
        doc["metadata"]["component"] = image_component(m_catalog.subject, root);

        Json components = Json::array();
        Json dependencies = Json::array();
        Json root_depends = Json::array();
        std::string os_ref;
        if (!m_catalog.os.empty()) {
            os_ref = claim("os:" + (m_catalog.os.id.empty() ? std::string("unknown") : m_catalog.os.id) + "@" +
                           (m_catalog.os.version_id.empty() ? m_catalog.os.version_codename : m_catalog.os.version_id));
            components.push_back(os_component(os_ref));
            root_depends.push_back(os_ref);
        }
        auto sorted = sorted_packages(m_catalog.packages);
        std::vector<std::string> refs;
        for (const Package* p : sorted) {
            std::string base = p->purl.empty() ? "package:" + std::string(to_string(p->type)) + "/" + p->name + "@" +
                                                     p->version
                                               : p->purl;
            refs.push_back(claim(base));
            components.push_back(package_component(*p, refs.back()));
            root_depends.push_back(refs.back());
        }
        if (m_options.files) add_files(components);

        dependencies.push_back({{"ref", root}, {"dependsOn", std::move(root_depends)}});
        if (!os_ref.empty()) dependencies.push_back({{"ref", os_ref}});
        std::map<std::size_t, std::vector<std::size_t>> depends;
        for (auto& [from, targets] : detail::resolve_dependencies(sorted)) depends[from] = std::move(targets);
        for (std::size_t i = 0; i < sorted.size(); ++i) {
            Json entry{{"ref", refs[i]}};
            if (auto found = depends.find(i); found != depends.end()) {
                Json on = Json::array();
                for (std::size_t target : found->second) on.push_back(refs[target]);
                entry["dependsOn"] = std::move(on);
            }
            dependencies.push_back(std::move(entry));
        }
        doc["components"] = std::move(components);
        doc["dependencies"] = std::move(dependencies);
        return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    }

private:
    std::string claim(const std::string& ref) { return unique_ref(m_refs, ref); }

    Json os_component(const std::string& ref) const {
        const OsInfo& os = m_catalog.os;
        Json component;
        component["type"] = "operating-system";
        component["bom-ref"] = ref;
        component["name"] = os.id.empty() ? std::string("unknown") : os.id;
        if (!os.version_id.empty()) component["version"] = os.version_id;
        else if (!os.version_codename.empty()) component["version"] = os.version_codename;
        if (!os.pretty_name.empty()) component["description"] = os.pretty_name;
        if (!os.version_codename.empty())
            component["properties"] = Json::array({property("slate:os:codename", os.version_codename)});
        return component;
    }

    static Json package_component(const Package& p, const std::string& ref) {
        Json component;
        component["type"] = "library";
        component["bom-ref"] = ref;
        auto contact = detail::parse_contact(p.maintainer);
        bool is_deb = p.type == PackageType::Deb;
        // Debian's maintainer supplies the .deb; a language package's
        // maintainer field is its author.
        if (!contact.name.empty()) {
            if (is_deb) {
                Json supplier{{"name", contact.name}};
                if (!contact.email.empty()) supplier["contact"] = Json::array({contact_json(contact)});
                component["supplier"] = std::move(supplier);
            } else {
                component["authors"] = Json::array({contact_json(contact)});
            }
        }
        component["name"] = p.name;
        if (!p.version.empty()) component["version"] = p.version;
        if (!p.description.empty()) component["description"] = p.description;
        Json hashes = Json::array();
        for (const auto& [algorithm, hex] : detail::package_checksums(p))
            if (auto name = cyclonedx_algorithm(algorithm); !name.empty()) hashes.push_back(hash(name, hex));
        if (!hashes.empty()) component["hashes"] = std::move(hashes);
        if (auto licenses = licenses_json(p)) component["licenses"] = std::move(*licenses);
        if (p.purl.starts_with("pkg:")) component["purl"] = p.purl;
        Json references = Json::array();
        if (detail::is_url(p.homepage)) references.push_back({{"url", p.homepage}, {"type", "website"}});
        if (detail::is_url(p.download_location))
            references.push_back({{"url", p.download_location}, {"type", "distribution"}});
        if (!references.empty()) component["externalReferences"] = std::move(references);

        std::vector<std::pair<std::string, std::string>> properties{{"slate:package:type", to_string(p.type)}};
        if (is_deb) {
            if (!p.arch.empty()) properties.emplace_back("slate:deb:arch", p.arch);
            properties.emplace_back("slate:deb:source", p.source.empty() ? p.name : p.source);
            properties.emplace_back("slate:deb:source-version",
                                    p.source_version.empty() ? p.version : p.source_version);
            if (p.installed_size > 0)
                properties.emplace_back("slate:deb:installed-size", std::to_string(p.installed_size));
        }
        for (const auto& evidence : p.evidence) properties.emplace_back("slate:location", evidence.path);
        std::sort(properties.begin(), properties.end());
        properties.erase(std::unique(properties.begin(), properties.end()), properties.end());
        Json property_list = Json::array();
        for (const auto& [name, value] : properties) property_list.push_back(property(name, value));
        component["properties"] = std::move(property_list);

        std::set<std::string> locations;
        for (const auto& evidence : p.evidence)
            if (!evidence.path.empty()) locations.insert(evidence.path);
        if (!locations.empty()) {
            Json occurrences = Json::array();
            for (const auto& location : locations) occurrences.push_back({{"location", location}});
            component["evidence"] = {{"occurrences", std::move(occurrences)}};
        }
        return component;
    }

    void add_files(Json& components) {
        std::map<std::string, const FileEntry*> files;  // by path: sorted, one per path
        for (const auto& file : m_catalog.files) {
            auto [it, inserted] = files.try_emplace(file.path, &file);
            if (!inserted && std::tie(file.sha1, file.sha256, file.size) <
                                 std::tie(it->second->sha1, it->second->sha256, it->second->size))
                it->second = &file;  // the same choice whatever the input order
        }
        for (const auto& [path, file] : files) {
            Json component;
            component["type"] = "file";
            component["bom-ref"] = claim("file:" + path);
            component["name"] = path;
            Json hashes = Json::array();
            if (detail::is_hex(file->sha1, 40)) hashes.push_back(hash("SHA-1", detail::lower(file->sha1)));
            if (detail::is_hex(file->sha256, 64)) hashes.push_back(hash("SHA-256", detail::lower(file->sha256)));
            if (!hashes.empty()) component["hashes"] = std::move(hashes);
            component["properties"] = Json::array({property("slate:file:size", std::to_string(file->size))});
            components.push_back(std::move(component));
        }
    }

    const Catalog& m_catalog;
    const DocumentOptions& m_options;
    std::set<std::string> m_refs;
};

}  // namespace

std::string to_cyclonedx_json(const Catalog& catalog, const DocumentOptions& options) {
    return CycloneDxWriter(catalog, options).write();
}

std::string to_cyclonedx_index_json(const Subject& index_subject, std::int64_t created,
                                    const std::vector<PlatformDocument>& platforms, const DocumentOptions& options) {
    Json doc = document_head(cyclonedx_serial(index_subject), created, options);
    std::string root = image_ref(index_subject);
    doc["metadata"]["component"] = image_component(index_subject, root);

    std::vector<const PlatformDocument*> sorted;
    for (const auto& platform : platforms) sorted.push_back(&platform);
    std::stable_sort(sorted.begin(), sorted.end(), [](const PlatformDocument* a, const PlatformDocument* b) {
        return std::tie(a->subject.platform, a->subject.digest, a->document_namespace_or_serial) <
               std::tie(b->subject.platform, b->subject.digest, b->document_namespace_or_serial);
    });
    std::set<std::string> used{root};
    Json components = Json::array();
    Json root_depends = Json::array();
    Json dependencies = Json::array();
    for (const PlatformDocument* platform : sorted) {
        std::string ref = unique_ref(used, image_ref(platform->subject));
        Json component = image_component(platform->subject, ref);
        // A BOM-Link names a document by serial number and version:
        // "urn:cdx:<uuid>/1".
        std::string serial = platform->document_namespace_or_serial;
        std::string link = serial.starts_with("urn:uuid:") ? "urn:cdx:" + serial.substr(9) + "/1" : serial;
        Json reference{{"url", link}, {"type", "bom"}};
        if (detail::is_hex(platform->sha256_of_bytes, 64))
            reference["hashes"] = Json::array({hash("SHA-256", detail::lower(platform->sha256_of_bytes))});
        component["externalReferences"] = Json::array({std::move(reference)});
        components.push_back(std::move(component));
        root_depends.push_back(ref);
    }
    dependencies.push_back({{"ref", root}, {"dependsOn", root_depends}});
    for (const auto& ref : root_depends) dependencies.push_back({{"ref", ref}});
    doc["components"] = std::move(components);
    doc["dependencies"] = std::move(dependencies);
    return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace slate::sbom
