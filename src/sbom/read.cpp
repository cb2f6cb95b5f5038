// Reading SPDX 2.x and CycloneDX 1.x JSON SBOMs back into a Catalog (read.hpp).
#include "slate/sbom/read.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/util/fs.hpp"
#include "sbom/read_json.hpp"

namespace slate::sbom {

namespace {

using Json = nlohmann::json;

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_hex_text(std::string_view text, std::size_t length) {
    return text.size() == length &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// "sha256:<64 hex>" (an OCI digest).
bool is_sha256_digest(std::string_view text) {
    return text.starts_with("sha256:") && is_hex_text(text.substr(7), 64);
}

// A qualifier's value, "" when absent.
std::string qualifier(const Purl& purl, const std::string& key) {
    auto it = purl.qualifiers.find(key);
    return it == purl.qualifiers.end() ? std::string() : it->second;
}

// ---------------------------------------------------------------- JSON access

const Json* member(const Json& object, std::string_view key) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

// The string member `key`, "" when absent or not a string.
std::string text_of(const Json& object, std::string_view key) {
    const Json* value = member(object, key);
    return value && value->is_string() ? value->get<std::string>() : std::string();
}

const char* json_kind(const Json& value) {
    switch (value.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    default: return "a number";
    }
}

// ---------------------------------------------------------------- operating systems

// Debian's codenames and versions (os-release VERSION_CODENAME, VERSION_ID).
constexpr std::pair<std::string_view, std::string_view> DebianReleases[] = {
    {"jessie", "8"}, {"stretch", "9"}, {"buster", "10"}, {"bullseye", "11"},
    {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},
};

std::string debian_version_for(std::string_view codename) {
    for (auto [name, version] : DebianReleases)
        if (name == codename) return std::string(version);
    return {};
}

std::string debian_codename_for(std::string_view version) {
    for (auto [name, v] : DebianReleases)
        if (v == version) return std::string(name);
    return {};
}

// Lowercases the id and, for Debian, writes the version as os-release does:
// a point release "12.5" (Trivy writes /etc/debian_version) becomes "12", a
// codename given as the version becomes the number, and the codename is
// filled from the number.
void normalise_os(OsInfo& os) {
    os.id = lowercase(os.id);
    if (os.id != "debian") return;
    if (auto known = debian_version_for(lowercase(os.version_id)); !known.empty()) {
        os.version_codename = lowercase(os.version_id);
        os.version_id = known;
    }
    if (auto dot = os.version_id.find('.'); dot != std::string::npos) os.version_id.erase(dot);
    if (os.version_codename.empty()) os.version_codename = debian_codename_for(os.version_id);
}

// A deb purl's distro qualifier: "debian-12", "debian-12.5", "ubuntu-22.04",
// or a codename alone ("bookworm", the purl specification's own examples),
// whose vendor is the purl's namespace.
OsInfo os_of_distro(std::string_view distro, std::string_view vendor) {
    OsInfo os;
    auto dash = distro.find('-');
    if (dash != std::string_view::npos && dash + 1 < distro.size()) {
        os.id = std::string(distro.substr(0, dash));
        os.version_id = std::string(distro.substr(dash + 1));
    } else {
        os.id = std::string(vendor);
        os.version_id = std::string(distro);
    }
    normalise_os(os);
    return os;
}

// ---------------------------------------------------------------- the reader

// A package entry of either format, before its purl is parsed.
struct Entry {
    std::string where;  // how warnings name it: "package 'libc6' (SPDXRef-...)"
    std::string name;
    std::string version;
    std::string purl;
    std::string license_declared = "NOASSERTION";
    std::string license_concluded = "NOASSERTION";
    std::string source;          // the Debian source package, when the document says so outside the purl
    std::string source_version;
};

// "<name>@<version>" (Syft's and slate's upstream qualifier) or "<name>".
std::pair<std::string, std::string> split_upstream(std::string_view upstream) {
    auto at = upstream.find('@');
    if (at == std::string_view::npos) return {std::string(upstream), {}};
    return {std::string(upstream.substr(0, at)), std::string(upstream.substr(at + 1))};
}

class Reader {
public:
    explicit Reader(std::string origin) : m_origin(std::move(origin)) {}

    Catalog read(std::string_view text);

private:
    [[noreturn]] void fail(const std::string& reason, const std::string& hint) const;
    void warn(std::string message) { m_catalog.warnings.push_back({m_origin, std::move(message)}); }

    void read_document(const Json& doc, int nesting);
    void read_spdx(const Json& doc);
    void read_spdx_subject(const Json& root);
    void read_cyclonedx(const Json& doc);
    void read_cyclonedx_subject(const Json& component);
    void read_components(const Json& components, const std::string& path, int depth);
    void read_os_component(const Json& component);
    void read_package_component(const Json& component, const Json* purl, const std::string& position);
    void add(Entry entry);
    void finish();

    std::string m_origin;  // "<document>" or the file's path
    Catalog m_catalog;
    std::unordered_set<std::string> m_purls;        // packages already read, by purl as written
    std::map<std::string, std::size_t> m_unscanned;  // purl type -> packages skipped
    std::string m_distro;                           // the first deb purl's distro qualifier
    std::string m_vendor;                           // ... and namespace
    std::set<std::string> m_other_distros;
};

void Reader::fail(const std::string& reason, const std::string& hint) const {
    std::string what = m_origin == "<document>" ? std::string("cannot read the SBOM")
                                                : "cannot read the SBOM " + m_origin;
    throw Error(ErrorCode::Parse, what + ": " + reason, hint);
}

constexpr const char* FormatsHint =
    "slate reads SPDX 2.2/2.3 JSON and CycloneDX 1.4-1.6 JSON SBOMs (e.g. syft -o spdx-json, "
    "trivy --format cyclonedx, slate sbom)";

// What a text that is not JSON looks like, for the error message.
std::string describe_non_json(std::string_view text) {
    std::string_view head = text.substr(0, 4096);
    if (head.starts_with("<")) {
        if (head.find("cyclonedx") != std::string_view::npos)
            return "it is a CycloneDX XML document: convert it to JSON (cyclonedx convert --output-format json)";
        if (head.find("spdx") != std::string_view::npos)
            return "it is an SPDX RDF/XML document: convert it to JSON (pyspdxtools -i <file> -o <file>.json)";
        return "it is XML, not JSON";
    }
    // The first line that is not blank or a comment.
    std::string_view rest = head;
    while (!rest.empty()) {
        auto newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
        if (line.empty() || line.starts_with('#')) continue;
        if (line.starts_with("SPDXVersion:"))
            return "it is an SPDX tag-value document: convert it to JSON (pyspdxtools -i <file> -o <file>.json)";
        if (line.starts_with("spdxVersion:") || line.starts_with("bomFormat:"))
            return "it is a YAML document: convert it to JSON";
        break;
    }
    return {};
}

Catalog Reader::read(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
    std::string_view trimmed = text;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
    if (trimmed.empty()) fail("the document is empty", FormatsHint);
    if (auto what = describe_non_json(trimmed); !what.empty()) fail(what, FormatsHint);

    Json doc;
    if (auto error = detail::parse_read_members(text, doc)) {
        // The scan reached the end inside a value (an unclosed string, array
        // or object): the text was cut short.
        if (error->position >= text.size())
            fail("not JSON: it ends at byte " + std::to_string(text.size()) +
                     " in the middle of a value (a truncated file?)",
                 "produce or download the SBOM again");
        fail("not JSON: " + error->message, FormatsHint);
    }
    read_document(doc, 0);
    finish();
    return std::move(m_catalog);
}

void Reader::read_document(const Json& doc, int nesting) {
    if (!doc.is_object())
        fail(std::string("JSON but not an SBOM: the top level is ") + json_kind(doc) + ", not an object", FormatsHint);
    if (const Json* version = member(doc, "spdxVersion")) {
        std::string text = version->is_string() ? version->get<std::string>() : std::string();
        if (!text.starts_with("SPDX-2."))
            fail("an SPDX document of version '" + (text.empty() ? json_kind(*version) : text) +
                     "': slate reads SPDX 2.2 and 2.3",
                 "export the SBOM as SPDX 2.3 JSON");
        return read_spdx(doc);
    }
    if (const Json* format = member(doc, "bomFormat")) {
        if (!format->is_string() || format->get<std::string>() != "CycloneDX")
            fail("bomFormat is not \"CycloneDX\"", FormatsHint);
        return read_cyclonedx(doc);
    }
    if (member(doc, "@context") || member(doc, "@graph"))
        fail("it is a JSON-LD document (SPDX 3?): slate reads SPDX 2.2/2.3 and CycloneDX JSON", FormatsHint);
    std::string type = text_of(doc, "_type");
    if (type.find("in-toto.io/Statement") != std::string::npos && nesting == 0) {
        const Json* predicate = member(doc, "predicate");
        if (!predicate || !predicate->is_object())
            fail("an in-toto statement without a predicate object (" + text_of(doc, "predicateType") + ")",
                 FormatsHint);
        return read_document(*predicate, nesting + 1);
    }
    if (member(doc, "payloadType") && member(doc, "payload"))
        fail("it is a DSSE envelope (a signed attestation): verify it and decode its payload first "
             "(e.g. cosign verify-attestation ... | jq -r .payload | base64 -d)",
             FormatsHint);
    if (member(doc, "artifacts") && member(doc, "schema"))
        fail("it is Syft's own JSON format", "ask syft for SPDX or CycloneDX JSON: syft -o spdx-json");
    if (member(doc, "SchemaVersion") && member(doc, "ArtifactName"))
        fail("it is a Trivy report, not an SBOM", "ask trivy for an SBOM: trivy image --format cyclonedx");
    std::string keys;
    std::size_t shown = 0;
    for (const auto& [key, value] : doc.items()) {
        if (shown++ == 5) {
            keys += ", ...";
            break;
        }
        keys += (keys.empty() ? "" : ", ") + key;
    }
    fail("JSON but neither SPDX (no spdxVersion) nor CycloneDX (no bomFormat); its members: " +
             (keys.empty() ? std::string("none") : keys),
         FormatsHint);
}

// ---------------------------------------------------------------- SPDX

// "OPERATING-SYSTEM" (as some tools write it) -> "OPERATING_SYSTEM".
std::string spdx_purpose(const Json& package) {
    std::string purpose = text_of(package, "primaryPackagePurpose");
    std::replace(purpose.begin(), purpose.end(), '-', '_');
    for (char& c : purpose) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return purpose;
}

// Purposes of packages that are not software to scan when they have no purl.
bool is_non_software_purpose(std::string_view purpose) {
    return purpose == "CONTAINER" || purpose == "OPERATING_SYSTEM" || purpose == "SOURCE" || purpose == "FILE" ||
           purpose == "DEVICE" || purpose == "ARCHIVE";
}

void Reader::read_spdx(const Json& doc) {
    if (const Json* info = member(doc, "creationInfo"))
        if (auto created = oci::parse_rfc3339(text_of(*info, "created"))) m_catalog.created = *created;

    // The document's subject: documentDescribes (SPDX 2.2) or DESCRIBES.
    std::set<std::string> described;
    if (const Json* describes = member(doc, "documentDescribes"); describes && describes->is_array())
        for (const auto& id : *describes)
            if (id.is_string()) described.insert(id.get<std::string>());
    if (const Json* relationships = member(doc, "relationships"); relationships && relationships->is_array())
        for (const auto& r : *relationships) {
            std::string type = text_of(r, "relationshipType");
            if (type == "DESCRIBES" && text_of(r, "spdxElementId") == "SPDXRef-DOCUMENT")
                described.insert(text_of(r, "relatedSpdxElement"));
            else if (type == "DESCRIBED_BY" && text_of(r, "relatedSpdxElement") == "SPDXRef-DOCUMENT")
                described.insert(text_of(r, "spdxElementId"));
        }

    const Json* packages = member(doc, "packages");
    if (packages && !packages->is_array())
        fail(std::string("'packages' is ") + json_kind(*packages) + ", not an array", "check the SBOM's generator");
    static const Json NoPackages = Json::array();
    if (!packages) packages = &NoPackages;

    // The root: the described CONTAINER package, else the only described
    // package, else the only CONTAINER package.
    const Json* root = nullptr;
    std::size_t described_found = 0;
    std::vector<const Json*> containers;
    for (const auto& p : *packages) {
        if (!p.is_object()) continue;
        bool is_described = described.count(text_of(p, "SPDXID")) > 0;
        bool is_container = spdx_purpose(p) == "CONTAINER";
        if (is_container) containers.push_back(&p);
        if (!is_described) continue;
        ++described_found;
        if (!root || (is_container && spdx_purpose(*root) != "CONTAINER")) root = &p;
    }
    if (root && spdx_purpose(*root) != "CONTAINER" && described_found > 1) root = nullptr;
    if (!root && containers.size() == 1) root = containers.front();
    if (root) read_spdx_subject(*root);
    else m_catalog.subject.name = text_of(doc, "name");

    std::size_t index = 0;
    for (const auto& p : *packages) {
        std::string position = "packages[" + std::to_string(index++) + "]";
        if (!p.is_object()) {
            warn(position + " is " + json_kind(p) + ", not an object: skipped");
            continue;
        }
        std::string purpose = spdx_purpose(p);
        Entry entry;
        entry.name = text_of(p, "name");
        entry.version = text_of(p, "versionInfo");
        std::string id = text_of(p, "SPDXID");
        entry.where = "package '" + entry.name + "' (" + (id.empty() ? position : id) + ")";
        if (purpose == "OPERATING_SYSTEM") {
            if (m_catalog.os.empty()) m_catalog.os = {entry.name, entry.version, "", text_of(p, "description")};
            continue;
        }
        if (purpose == "SOURCE") continue;  // what a binary was built from, named by the binary itself

        bool has_cpe = false;
        bool has_purl = false;
        if (const Json* refs = member(p, "externalRefs"); refs && refs->is_array()) {
            for (const auto& ref : *refs) {
                std::string type = text_of(ref, "referenceType");
                if (type.starts_with("cpe")) has_cpe = true;
                if (type != "purl" || has_purl) continue;
                has_purl = true;
                const Json* locator = member(ref, "referenceLocator");
                if (locator && locator->is_string()) entry.purl = locator->get<std::string>();
            }
        } else if (member(p, "externalRefs")) {
            warn(entry.where + ": externalRefs is not an array");
        }
        bool is_root = &p == root;
        if (entry.purl.empty()) {
            if (has_purl) warn(entry.where + ": its purl reference is not a string: skipped");
            else if (!is_root && !is_non_software_purpose(purpose))
                warn(entry.where + " has no purl" + (has_cpe ? " (only a CPE)" : "") +
                     ": skipped; slate matches packages by purl");
            continue;
        }
        if (std::string declared = text_of(p, "licenseDeclared"); !declared.empty()) entry.license_declared = declared;
        if (std::string concluded = text_of(p, "licenseConcluded"); !concluded.empty())
            entry.license_concluded = concluded;
        // "built package from: glibc 2.36-9+deb12u4" (slate, Trivy).
        constexpr std::string_view BuiltFrom = "built package from: ";
        if (std::string info = text_of(p, "sourceInfo"); info.starts_with(BuiltFrom)) {
            std::string_view rest = std::string_view(info).substr(BuiltFrom.size());
            auto space = rest.find(' ');
            entry.source = std::string(rest.substr(0, space));
            if (space != std::string_view::npos) entry.source_version = std::string(rest.substr(space + 1));
        }
        add(std::move(entry));
    }
}

void Reader::read_spdx_subject(const Json& root) {
    Subject& subject = m_catalog.subject;
    subject.name = text_of(root, "name");
    if (const Json* refs = member(root, "externalRefs"); refs && refs->is_array())
        for (const auto& ref : *refs) {
            if (text_of(ref, "referenceType") != "purl") continue;
            auto purl = parse_purl(text_of(ref, "referenceLocator"));
            if (!purl || purl->type != "oci") continue;
            if (is_sha256_digest(purl->version)) subject.digest = purl->version;
            subject.version = qualifier(*purl, "tag");
            if (auto arch = qualifier(*purl, "arch"); !arch.empty()) subject.platform = "linux/" + arch;
            break;
        }
    if (subject.digest.empty())
        if (const Json* checksums = member(root, "checksums"); checksums && checksums->is_array())
            for (const auto& checksum : *checksums)
                if (text_of(checksum, "algorithm") == "SHA256" && is_hex_text(text_of(checksum, "checksumValue"), 64))
                    subject.digest = "sha256:" + lowercase(text_of(checksum, "checksumValue"));
    std::string version = text_of(root, "versionInfo");
    if (is_sha256_digest(version)) {
        if (subject.digest.empty()) subject.digest = version;
    } else if (subject.version.empty()) {
        subject.version = version;
    }
    // slate writes the platform as the comment "platform linux/arm64/v8".
    if (std::string comment = text_of(root, "comment"); comment.starts_with("platform "))
        subject.platform = comment.substr(9);
}

// ---------------------------------------------------------------- CycloneDX

std::map<std::string, std::string, std::less<>> properties_of(const Json& component) {
    std::map<std::string, std::string, std::less<>> properties;
    if (const Json* list = member(component, "properties"); list && list->is_array())
        for (const auto& property : *list) properties.emplace(text_of(property, "name"), text_of(property, "value"));
    return properties;
}

std::string property(const std::map<std::string, std::string, std::less<>>& properties, std::string_view name) {
    auto it = properties.find(name);
    return it == properties.end() ? std::string() : it->second;
}

// Several licenses as one expression: each part that is not a single id is
// parenthesised, then the parts are ANDed.
std::string join_licenses(const std::vector<std::string>& parts) {
    if (parts.empty()) return "NOASSERTION";
    if (parts.size() == 1) return parts.front();
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) out += " AND ";
        out += part.find(' ') == std::string::npos ? part : "(" + part + ")";
    }
    return out;
}

// CycloneDX licenses: [{"expression": ...}] or [{"license": {"id"|"name"}}],
// each declared unless its acknowledgement (1.6) says concluded.
void read_licenses(const Json& component, Entry& entry) {
    const Json* licenses = member(component, "licenses");
    if (!licenses || !licenses->is_array()) return;
    std::vector<std::string> declared;
    std::vector<std::string> concluded;
    for (const auto& choice : *licenses) {
        std::string text = text_of(choice, "expression");
        std::string acknowledgement = text_of(choice, "acknowledgement");
        if (const Json* license = member(choice, "license"); license && text.empty()) {
            text = text_of(*license, "id");
            if (text.empty()) text = text_of(*license, "name");
            acknowledgement = text_of(*license, "acknowledgement");
        }
        if (text.empty()) continue;
        (acknowledgement == "concluded" ? concluded : declared).push_back(std::move(text));
    }
    entry.license_declared = join_licenses(declared);
    entry.license_concluded = join_licenses(concluded);
}

// The Debian source package as slate, Syft and Trivy write it in properties.
void read_source_properties(const Json& component, Entry& entry) {
    auto properties = properties_of(component);
    if (auto source = property(properties, "slate:deb:source"); !source.empty()) {
        entry.source = source;
        entry.source_version = property(properties, "slate:deb:source-version");
    } else if (auto syft = property(properties, "syft:metadata:source"); !syft.empty()) {
        entry.source = syft;
        entry.source_version = property(properties, "syft:metadata:sourceVersion");
    } else if (auto trivy = property(properties, "aquasecurity:trivy:SrcName"); !trivy.empty()) {
        // Trivy splits the version: SrcEpoch, SrcVersion (upstream), SrcRelease (Debian revision).
        entry.source = trivy;
        std::string version = property(properties, "aquasecurity:trivy:SrcVersion");
        std::string release = property(properties, "aquasecurity:trivy:SrcRelease");
        std::string epoch = property(properties, "aquasecurity:trivy:SrcEpoch");
        if (!version.empty()) {
            entry.source_version = (epoch.empty() || epoch == "0" ? "" : epoch + ":") + version +
                                   (release.empty() ? "" : "-" + release);
        }
    }
}

void Reader::read_cyclonedx(const Json& doc) {
    std::string spec = text_of(doc, "specVersion");
    if (spec.empty()) fail("a CycloneDX document without a specVersion string", "check the SBOM's generator");
    if (!spec.starts_with("1."))
        fail("a CycloneDX document of version " + spec + ": slate reads CycloneDX 1.4-1.6", FormatsHint);
    const Json* metadata = member(doc, "metadata");
    if (metadata && !metadata->is_object())
        fail(std::string("'metadata' is ") + json_kind(*metadata) + ", not an object", "check the SBOM's generator");
    const Json* components = member(doc, "components");
    if (components && !components->is_array())
        fail(std::string("'components' is ") + json_kind(*components) + ", not an array",
             "check the SBOM's generator");

    if (metadata) {
        if (auto created = oci::parse_rfc3339(text_of(*metadata, "timestamp"))) m_catalog.created = *created;
        if (const Json* component = member(*metadata, "component"); component && component->is_object())
            read_cyclonedx_subject(*component);
    }
    if (components) read_components(*components, "components", 0);
}

void Reader::read_cyclonedx_subject(const Json& component) {
    Subject& subject = m_catalog.subject;
    subject.name = text_of(component, "name");
    std::string version = text_of(component, "version");
    bool is_image = text_of(component, "type") == "container";
    if (auto purl = parse_purl(text_of(component, "purl")); purl && purl->type == "oci") {
        is_image = true;
        if (is_sha256_digest(purl->version)) subject.digest = purl->version;
        subject.version = qualifier(*purl, "tag");
        if (auto arch = qualifier(*purl, "arch"); !arch.empty()) subject.platform = "linux/" + arch;
    } else if (!purl && !text_of(component, "purl").empty()) {
        warn("metadata.component: its purl cannot be read");
    }
    if (is_sha256_digest(version)) {
        if (subject.digest.empty()) subject.digest = version;
    } else if (subject.version.empty()) {
        subject.version = version;
    }
    if (is_image && subject.digest.empty())
        if (const Json* hashes = member(component, "hashes"); hashes && hashes->is_array())
            for (const auto& hash : *hashes)
                if (text_of(hash, "alg") == "SHA-256" && is_hex_text(text_of(hash, "content"), 64))
                    subject.digest = "sha256:" + lowercase(text_of(hash, "content"));
    auto properties = properties_of(component);
    if (auto platform = property(properties, "slate:image:platform"); !platform.empty()) subject.platform = platform;
    if (auto tag = property(properties, "slate:image:tag"); !tag.empty()) subject.version = tag;

    // The subject may itself be a package (an SBOM of one application).
    if (!text_of(component, "purl").empty() && !is_image) {
        Entry entry;
        entry.where = "metadata.component '" + subject.name + "'";
        entry.name = subject.name;
        entry.version = version;
        entry.purl = text_of(component, "purl");
        read_licenses(component, entry);
        add(std::move(entry));
    }
}

void Reader::read_os_component(const Json& component) {
    auto properties = properties_of(component);
    OsInfo os;
    os.id = property(properties, "syft:distro:id");
    if (os.id.empty()) os.id = text_of(component, "name");
    os.version_id = property(properties, "syft:distro:versionID");
    if (os.version_id.empty()) os.version_id = text_of(component, "version");
    os.version_codename = property(properties, "slate:os:codename");
    if (os.version_codename.empty()) os.version_codename = property(properties, "syft:distro:versionCodename");
    os.pretty_name = property(properties, "syft:distro:prettyName");
    if (os.pretty_name.empty()) os.pretty_name = text_of(component, "description");
    if (m_catalog.os.empty()) {
        m_catalog.os = std::move(os);
    } else if (lowercase(os.id) != lowercase(m_catalog.os.id) || os.version_id != m_catalog.os.version_id) {
        warn("a second operating system (" + os.id + " " + os.version_id + ") is named; using " +
             m_catalog.os.id + " " + m_catalog.os.version_id);
    }
}

void Reader::read_components(const Json& components, const std::string& path, int depth) {
    if (depth > 32) {
        warn(path + ": components nested more than 32 deep: skipped");
        return;
    }
    for (std::size_t index = 0; index < components.size(); ++index) {
        const Json& component = components[index];
        auto position = [&] { return path + "[" + std::to_string(index) + "]"; };
        if (!component.is_object()) {
            warn(position() + " is " + json_kind(component) + ", not an object: skipped");
            continue;
        }
        std::string type = text_of(component, "type");
        const Json* purl = member(component, "purl");
        if (type == "operating-system") read_os_component(component);
        else if (purl || type == "library" || type == "application" || type == "framework")
            read_package_component(component, purl, position());
        // Other types (file, container, data, ...) are no software to scan.
        if (const Json* nested = member(component, "components")) {
            if (nested->is_array()) read_components(*nested, position() + ".components", depth + 1);
            else warn(position() + ".components is not an array: skipped");
        }
    }
}

void Reader::read_package_component(const Json& component, const Json* purl, const std::string& position) {
    Entry entry;
    entry.name = text_of(component, "name");
    entry.version = text_of(component, "version");
    std::string ref = text_of(component, "bom-ref");
    entry.where = "component '" + entry.name + "' (" + (ref.empty() ? position : ref) + ")";
    if (!purl) {
        warn(entry.where + " has no purl" + (member(component, "cpe") ? " (only a CPE)" : "") +
             ": skipped; slate matches packages by purl");
    } else if (!purl->is_string()) {
        warn(entry.where + ": purl is " + json_kind(*purl) + ", not a string: skipped");
    } else {
        entry.purl = purl->get<std::string>();
        read_licenses(component, entry);
        read_source_properties(component, entry);
        add(std::move(entry));
    }
}

// ---------------------------------------------------------------- packages

void Reader::add(Entry entry) {
    std::string why;
    auto purl = parse_purl(entry.purl, &why);
    if (!purl) {
        warn(entry.where + ": cannot read its purl '" + entry.purl + "': " + why + "; skipped");
        return;
    }
    Package package;
    if (purl->type == "deb") package.type = PackageType::Deb;
    else if (purl->type == "pypi") package.type = PackageType::Python;
    else if (purl->type == "npm") package.type = PackageType::Npm;
    else if (purl->type == "golang") package.type = PackageType::Go;
    else if (purl->type == "maven") package.type = PackageType::Java;
    else {
        if (purl->type != "oci") ++m_unscanned[purl->type];  // an image named inside the document is not a package
        return;
    }
    if (!m_purls.insert(entry.purl).second) return;  // the same package listed twice

    // The purl's name in the catalog's convention: npm "@scope/name", Go the
    // module path, Maven the artifact. The document's own name is preferred
    // for language packages (a Python distribution keeps its spelling); a
    // Debian package is what its purl says.
    std::string purl_name = purl->name;
    if ((purl->type == "npm" || purl->type == "golang") && !purl->name_space.empty())
        purl_name = purl->name_space + "/" + purl->name;
    if (purl->type == "deb") purl_name = lowercase(purl_name);  // the deb type is case-insensitive
    package.name = purl->type == "deb" || entry.name.empty() ? purl_name : entry.name;
    package.version = purl->version.empty() ? entry.version : purl->version;
    package.purl = std::move(entry.purl);
    package.license_declared = std::move(entry.license_declared);
    package.license_concluded = std::move(entry.license_concluded);
    if (package.type == PackageType::Deb) {
        package.arch = qualifier(*purl, "arch");
        auto [source, source_version] = split_upstream(qualifier(*purl, "upstream"));
        if (source.empty()) {
            source = std::move(entry.source);
            source_version = std::move(entry.source_version);
        }
        // The catalog leaves out what equals the binary's own name / version.
        if (source != package.name) package.source = std::move(source);
        if (source_version != package.version) package.source_version = std::move(source_version);
        if (auto distro = qualifier(*purl, "distro"); !distro.empty()) {
            if (m_distro.empty()) {
                m_distro = distro;
                m_vendor = purl->name_space;
            } else if (distro != m_distro) {
                m_other_distros.insert(distro);
            }
        }
    }
    m_catalog.packages.push_back(std::move(package));
}

void Reader::finish() {
    normalise_os(m_catalog.os);
    if (!m_distro.empty()) {
        OsInfo from_purls = os_of_distro(m_distro, m_vendor);
        OsInfo& os = m_catalog.os;
        if (os.id.empty()) os.id = from_purls.id;
        if (os.id == from_purls.id) {
            if (os.version_id.empty()) os.version_id = from_purls.version_id;
            if (os.version_codename.empty() && os.version_id == from_purls.version_id)
                os.version_codename = from_purls.version_codename;
        }
    }
    if (!m_other_distros.empty()) {
        std::string others;
        for (const auto& d : m_other_distros) others += (others.empty() ? "" : ", ") + d;
        warn("the Debian packages name more than one distribution: " + m_distro + " and " + others);
    }
    if (!m_unscanned.empty()) {
        std::size_t total = 0;
        std::string counts;
        for (const auto& [type, count] : m_unscanned) {
            total += count;
            counts += (counts.empty() ? "" : ", ") + type + ": " + std::to_string(count);
        }
        warn("skipped " + std::to_string(total) + " package" + (total == 1 ? "" : "s") +
             " of purl types slate does not scan (" + counts + "); it scans deb, pypi, npm, golang and maven");
    }
}

}  // namespace

Catalog read_sbom(std::string_view document) { return Reader("<document>").read(document); }

Catalog read_sbom_file(const std::filesystem::path& path) {
    std::string text = util::read_file(path);
    return Reader(path.string()).read(text);
}

}  // namespace slate::sbom
