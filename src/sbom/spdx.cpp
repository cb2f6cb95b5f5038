// SPDX 2.3 JSON writer, and the document-identity helpers both writers share.
#include "slate/sbom/spdx.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/util/hash.hpp"

namespace slate::sbom {

using Json = nlohmann::ordered_json;

// ================================================================ shared helpers

namespace {

// SHA-1 of `data`: 20 raw bytes. OpenSSL's one-shot EVP_Digest holds no handle.
std::string sha1_bytes(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1 || size != 20)
        throw Error(ErrorCode::Internal, "cannot compute SHA-1 (OpenSSL)");
    return std::string(reinterpret_cast<const char*>(digest.data()), size);
}

std::string hex_of(std::string_view bytes) {
    static constexpr char Digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : bytes) {
        hex += Digits[c >> 4];
        hex += Digits[c & 0xf];
    }
    return hex;
}

std::string sha1_hex(std::string_view data) { return hex_of(sha1_bytes(data)); }

// 16 hex digits of SHA-256: short, and unique enough for ids within a document
// (IdRegistry settles the improbable collision).
std::string short_hash(std::string_view text) { return util::sha256_hex(text).substr(0, 16); }

// What an SPDXID may hold after "SPDXRef-": letters, digits, '.', '-'.
std::string spdx_id_part(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (out.size() >= 64) break;
        out += (std::isalnum(c) || c == '.' || c == '-') ? static_cast<char>(c) : '-';
    }
    return out.empty() ? std::string("unnamed") : out;
}

// A name as one readable URI path segment.
std::string uri_segment(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (out.size() >= 64) break;
        out += (std::isalnum(c) || c == '.' || c == '-' || c == '_') ? static_cast<char>(c) : '-';
    }
    while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(out.begin());
    return out.empty() ? std::string("image") : out;
}

// "linux/arm64/v8" -> "arm64".
std::string platform_architecture(std::string_view platform) {
    auto slash = platform.find('/');
    if (slash == std::string_view::npos) return {};
    auto arch = platform.substr(slash + 1);
    return std::string(arch.substr(0, arch.find('/')));
}

// SPDX downloadLocation: NONE, NOASSERTION or a URL.
std::string download_location(const std::string& location) {
    if (location == "NONE" || location == "NOASSERTION" || detail::is_url(location)) return location;
    return "NOASSERTION";
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && detail::is_hex(text.substr(i + 1, 2), 2)) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// "pkg:deb/debian/name@v?..." -> "debian".
std::string purl_namespace(std::string_view purl) {
    if (!purl.starts_with("pkg:")) return {};
    purl.remove_prefix(4);
    purl = purl.substr(0, purl.find_first_of("?#"));
    auto first = purl.find('/');
    auto last = purl.rfind('/');
    if (first == std::string_view::npos || first == last) return {};
    return percent_decode(purl.substr(first + 1, last - first - 1));
}

// The decoded value of qualifier `key`, "" when absent.
std::string purl_qualifier(std::string_view purl, std::string_view key) {
    auto question = purl.find('?');
    if (question == std::string_view::npos) return {};
    auto query = purl.substr(question + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        auto item = query.substr(0, query.find('&'));
        if (item.starts_with(key) && item.size() > key.size() && item[key.size()] == '=')
            return percent_decode(item.substr(key.size() + 1));
        if (item.size() == query.size()) break;
        query.remove_prefix(item.size() + 1);
    }
    return {};
}

}  // namespace

std::string name_based_uuid(std::string_view name) {
    // slate's namespace: uuid5(NAMESPACE_URL, "slate:sbom") =
    // 935f9dd1-aae9-54ab-8192-d2386182a31e.
    static constexpr std::array<unsigned char, 16> Namespace{0x93, 0x5f, 0x9d, 0xd1, 0xaa, 0xe9, 0x54, 0xab,
                                                              0x81, 0x92, 0xd2, 0x38, 0x61, 0x82, 0xa3, 0x1e};
    std::string input(reinterpret_cast<const char*>(Namespace.data()), Namespace.size());
    input.append(name);
    std::string digest = sha1_bytes(input);
    auto* bytes = reinterpret_cast<unsigned char*>(digest.data());
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x50);  // version 5
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 9562 variant
    std::string hex = hex_of(std::string_view(digest).substr(0, 16));
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
           hex.substr(20, 12);
}

std::string image_purl(const Subject& subject) {
    if (subject.digest.empty()) return {};
    // The repository is the subject's name without a tag; the purl's name is
    // its last path segment, lowercased as the oci type requires.
    std::string repository = subject.name;
    auto slash = repository.rfind('/');
    auto colon = repository.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) repository.erase(colon);
    std::string name = slash == std::string::npos ? repository : repository.substr(repository.rfind('/') + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name.empty()) name = "image";

    std::map<std::string, std::string> qualifiers;  // sorted by key, as purl requires
    if (auto arch = platform_architecture(subject.platform); !arch.empty()) qualifiers["arch"] = arch;
    if (repository.find('/') != std::string::npos) qualifiers["repository_url"] = repository;
    if (!subject.version.empty()) qualifiers["tag"] = subject.version;

    std::string purl = "pkg:oci/" + purl_encode(name) + "@" + purl_encode(subject.digest);
    char separator = '?';
    for (const auto& [key, value] : qualifiers) {
        purl += separator + key + "=" + purl_encode(value, true);
        separator = '&';
    }
    return purl;
}

namespace {

// ---------------------------------------------------------------- license expressions

// Tokens: "(", ")", and words (ids, operators). Empty when a character no
// expression may hold appears.
std::optional<std::vector<std::string>> expression_tokens(std::string_view text) {
    std::vector<std::string> tokens;
    std::string word;
    auto flush = [&] {
        if (!word.empty()) tokens.push_back(std::move(word));
        word.clear();
    };
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            flush();
        } else if (c == '(' || c == ')') {
            flush();
            tokens.emplace_back(1, c);
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == ':') {
            word += c;
        } else {
            return std::nullopt;
        }
    }
    flush();
    return tokens;
}

bool is_id_chars(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-';
    });
}

// A license id ("MIT", "GPL-2.0+"), LicenseRef-x or DocumentRef-y:LicenseRef-x.
bool is_license_term(std::string_view word) {
    if (word == "AND" || word == "OR" || word == "WITH" || word == "NONE" || word == "NOASSERTION") return false;
    if (auto colon = word.find(':'); colon != std::string_view::npos) {
        auto document = word.substr(0, colon);
        auto ref = word.substr(colon + 1);
        return document.starts_with("DocumentRef-") && is_id_chars(document.substr(12)) &&
               ref.starts_with("LicenseRef-") && is_id_chars(ref.substr(11));
    }
    if (word.starts_with("LicenseRef-")) return is_id_chars(word.substr(11));
    if (word.ends_with("+")) word.remove_suffix(1);
    return is_id_chars(word);
}

// Recursive descent over: or := and ("OR" and)*; and := with ("AND" with)*;
// with := primary ("WITH" exception)?; primary := term | "(" or ")".
class ExpressionParser {
public:
    explicit ExpressionParser(std::vector<std::string> tokens) : m_tokens(std::move(tokens)) {}

    bool valid() { return parse_or(0) && m_pos == m_tokens.size(); }

private:
    bool parse_or(int depth) {
        if (!parse_and(depth)) return false;
        while (accept("OR"))
            if (!parse_and(depth)) return false;
        return true;
    }
    bool parse_and(int depth) {
        if (!parse_with(depth)) return false;
        while (accept("AND"))
            if (!parse_with(depth)) return false;
        return true;
    }
    bool parse_with(int depth) {
        if (!parse_primary(depth)) return false;
        if (accept("WITH")) {
            if (m_pos >= m_tokens.size() || !is_id_chars(m_tokens[m_pos])) return false;
            ++m_pos;
        }
        return true;
    }
    bool parse_primary(int depth) {
        if (m_pos >= m_tokens.size() || depth > 64) return false;
        if (accept("(")) return parse_or(depth + 1) && accept(")");
        if (!is_license_term(m_tokens[m_pos])) return false;
        ++m_pos;
        return true;
    }
    bool accept(std::string_view token) {
        if (m_pos < m_tokens.size() && m_tokens[m_pos] == token) {
            ++m_pos;
            return true;
        }
        return false;
    }

    std::vector<std::string> m_tokens;
    std::size_t m_pos = 0;
};

}  // namespace

bool is_license_expression(std::string_view expression) {
    if (expression == "NONE" || expression == "NOASSERTION") return true;
    auto tokens = expression_tokens(expression);
    if (!tokens || tokens->empty()) return false;
    return ExpressionParser(std::move(*tokens)).valid();
}

std::vector<std::string> license_refs(std::string_view expression) {
    std::vector<std::string> refs;
    auto tokens = expression_tokens(expression);
    if (!tokens) return refs;
    for (const auto& token : *tokens)
        if (token.starts_with("LicenseRef-") && std::find(refs.begin(), refs.end(), token) == refs.end())
            refs.push_back(token);
    return refs;
}

// ---------------------------------------------------------------- ordering and identity

std::vector<const Package*> sorted_packages(const std::vector<Package>& packages) {
    std::vector<const Package*> sorted;
    sorted.reserve(packages.size());
    for (const auto& package : packages) sorted.push_back(&package);
    auto key = [](const Package* p) {
        std::vector<std::string> evidence;
        for (const auto& file : p->evidence) evidence.push_back(file.path + "\n" + file.sha256 + "\n" + file.sha1);
        return std::make_tuple(std::string(to_string(p->type)), std::cref(p->name), std::cref(p->version),
                               std::cref(p->arch), std::cref(p->purl), std::cref(p->source),
                               std::cref(p->source_version), std::cref(p->maintainer), p->installed_size,
                               std::cref(p->description), std::cref(p->homepage), std::cref(p->license_concluded),
                               std::cref(p->license_declared), std::cref(p->depends), std::move(evidence),
                               std::cref(p->checksums), std::cref(p->download_location));
    };
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Package* a, const Package* b) { return key(a) < key(b); });
    return sorted;
}

std::string document_identity(const Subject& subject) {
    if (!subject.digest.empty()) return "image\n" + subject.name + "\n" + subject.digest + "\n" + subject.platform;
    return "directory\n" + subject.name + "\n" + subject.platform + "\n" + subject.version;
}

std::string document_identity(const Catalog& catalog, const DocumentOptions& options) {
    std::string identity = document_identity(catalog.subject);
    if (catalog.subject.digest.empty()) {
        // No digest names the content: the content itself must.
        identity += "\n" + std::to_string(catalog.created) + "\n" + catalog.os.id + "\n" + catalog.os.version_id +
                    "\n" + catalog.os.version_codename + "\n";
        for (const Package* p : sorted_packages(catalog.packages))
            identity += std::string(to_string(p->type)) + "\t" + p->name + "\t" + p->version + "\t" + p->arch + "\t" +
                        p->purl + "\t" + p->license_declared + "\n";
        if (options.files)
            for (const auto& file : catalog.files)
                identity += file.path + "\t" + file.sha256 + "\t" + std::to_string(file.size) + "\n";
    }
    // With a digest the identity is the subject's alone, so that
    // spdx_namespace(subject) names the document whatever the options.
    return identity;
}

std::string spdx_namespace(const Subject& subject) {
    return "https://spdx.org/spdxdocs/slate/" + uri_segment(subject.name) + "-" +
           name_based_uuid("spdx\n" + document_identity(subject));
}

std::string spdx_namespace(const Catalog& catalog, const DocumentOptions& options) {
    return "https://spdx.org/spdxdocs/slate/" + uri_segment(catalog.subject.name) + "-" +
           name_based_uuid("spdx\n" + document_identity(catalog, options));
}

std::string spdx_image_id(const Subject& subject) {
    // Only the digest when there is one, so an index document and the
    // platform document agree however the subject was named.
    const std::string& key = subject.digest.empty() ? subject.name : subject.digest;
    return "SPDXRef-Image-" + short_hash(key);
}

// ================================================================ the SPDX writer

namespace {

constexpr const char* LicenseListVersion = "3.28";  // the list ../shared/schemas/cyclonedx-1.6/spdx.schema.json carries

// Keeps SPDXIDs unique: a second holder of the same id gets "-2", then "-3".
class IdRegistry {
public:
    std::string claim(std::string id) {
        if (m_used.insert(id).second) return id;
        for (int n = 2;; ++n)
            if (auto candidate = id + "-" + std::to_string(n); m_used.insert(candidate).second) return candidate;
    }

private:
    std::set<std::string> m_used;
};

// "Person: Name (mail)" / "Organization: Name (mail)" / "NOASSERTION".
std::string spdx_agent(std::string_view maintainer) {
    auto contact = detail::parse_contact(maintainer);
    if (contact.name.empty()) return "NOASSERTION";
    std::string agent = (detail::is_organization(contact.name) ? "Organization: " : "Person: ") + contact.name;
    if (!contact.email.empty()) agent += " (" + contact.email + ")";  // SPDX 2.3 clause 7.5
    return agent;
}

struct Relationship {
    std::string element;
    std::string type;
    std::string related;
    std::string comment;
    auto key() const { return std::tie(element, type, related, comment); }
    bool operator<(const Relationship& other) const { return key() < other.key(); }
};

// A license field's value, and a licenseComments note when the catalog's
// text was not an SPDX expression and had to become NOASSERTION.
std::string license_field(const std::string& expression, std::vector<std::string>& notes, const char* which) {
    if (expression.empty()) return "NOASSERTION";
    if (is_license_expression(expression)) return expression;
    notes.push_back(std::string("the ") + which + " license text '" + expression +
                    "' is not an SPDX license expression");
    return "NOASSERTION";
}

Json checksum_list(const Package& package) {
    Json list = Json::array();
    for (const auto& [algorithm, hex] : detail::package_checksums(package))
        list.push_back({{"algorithm", algorithm}, {"checksumValue", hex}});
    return list;
}

Json purl_ref(const std::string& purl) {
    return Json::array({{{"referenceCategory", "PACKAGE-MANAGER"}, {"referenceType", "purl"},
                         {"referenceLocator", purl}}});
}

// The fields every package has, in document order up to filesAnalyzed
// (false: slate lists files for the image only).
Json package_head(const std::string& name, const std::string& id, const std::string& version,
                  const std::string& supplier) {
    Json package{{"name", name.empty() ? std::string("unnamed") : name}, {"SPDXID", id}};
    if (!version.empty()) package["versionInfo"] = version;
    package["supplier"] = supplier;
    package["downloadLocation"] = "NOASSERTION";
    package["filesAnalyzed"] = false;
    return package;
}

void no_license_assertion(Json& package) {
    package["licenseConcluded"] = "NOASSERTION";
    package["licenseDeclared"] = "NOASSERTION";
    package["copyrightText"] = "NOASSERTION";
}

// An image (or image index) as a package.
Json container_package(const Subject& subject, const std::string& id, const std::string& comment) {
    Json package = package_head(subject.name, id, subject.digest.empty() ? subject.version : subject.digest,
                                "NOASSERTION");
    if (auto sha256 = detail::digest_hex(subject.digest); !sha256.empty())
        package["checksums"] = Json::array({{{"algorithm", "SHA256"}, {"checksumValue", sha256}}});
    no_license_assertion(package);
    if (!comment.empty()) package["comment"] = comment;
    if (auto purl = image_purl(subject); !purl.empty()) package["externalRefs"] = purl_ref(purl);
    package["primaryPackagePurpose"] = "CONTAINER";
    return package;
}

// A Debian binary's source package: (name, version) and its purl.
struct SourcePackage {
    std::string name;
    std::string version;
    std::string purl;
    std::string supplier;
    std::string id;
};

SourcePackage source_of(const Package& binary) {
    SourcePackage source;
    source.name = binary.source.empty() ? binary.name : binary.source;
    source.version = binary.source_version.empty() ? binary.version : binary.source_version;
    auto vendor = purl_namespace(binary.purl);
    source.purl = deb_purl(source.name, source.version, "source", purl_qualifier(binary.purl, "distro"), "",
                           vendor.empty() ? "debian" : vendor);
    source.supplier = spdx_agent(binary.maintainer);
    return source;
}

// The relationship an evidence file has with the package found in it.
std::pair<std::string, std::string> evidence_relationship(PackageType type) {
    switch (type) {
    case PackageType::Go: return {"STATIC_LINK", ""};  // the binary statically links the module
    case PackageType::Java: return {"OTHER", "evidence-for: the package is this archive"};
    default: return {"METAFILE_OF", ""};  // dpkg status, METADATA, package.json describe the package
    }
}

class SpdxWriter {
public:
    SpdxWriter(const Catalog& catalog, const DocumentOptions& options) : m_catalog(catalog), m_options(options) {}

    std::string write() {
        m_image_id = m_ids.claim(spdx_image_id(m_catalog.subject));
        add_files();  // first: the image package's verification code needs them
        m_packages.push_back(image_package());
        relate("SPDXRef-DOCUMENT", "DESCRIBES", m_image_id);
        add_os();
        add_packages();

        Json doc;
        doc["spdxVersion"] = "SPDX-2.3";
        doc["dataLicense"] = "CC0-1.0";
        doc["SPDXID"] = "SPDXRef-DOCUMENT";
        doc["name"] = m_catalog.subject.name.empty() ? std::string("unnamed") : m_catalog.subject.name;
        doc["documentNamespace"] = spdx_namespace(m_catalog, m_options);
        doc["creationInfo"] = {{"licenseListVersion", LicenseListVersion},
                               {"creators", Json::array({"Tool: slate-" + m_options.tool_version})},
                               {"created", oci::format_rfc3339(m_catalog.created)}};
        doc["packages"] = std::move(m_packages);
        if (m_options.files) doc["files"] = std::move(m_files);
        if (!m_license_refs.empty()) doc["hasExtractedLicensingInfos"] = extracted_licensing_infos();
        doc["relationships"] = relationships();
        return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    }

private:
    void relate(std::string element, std::string type, std::string related, std::string comment = {}) {
        m_relationships.insert({std::move(element), std::move(type), std::move(related), std::move(comment)});
    }

    Json image_package() {
        const Subject& subject = m_catalog.subject;
        Json package = container_package(subject, m_image_id,
                                         subject.platform.empty() ? "" : "platform " + subject.platform);
        // A package whose files are listed is file-analysed (SPDX forbids
        // CONTAINS files otherwise); its verification code is the SHA1 of its
        // files' sorted SHA1s (clause 7.9), when every file has one.
        package["filesAnalyzed"] = m_options.files && !m_file_ids.empty();
        if (m_options.files && !m_file_ids.empty() && m_all_files_have_sha1) {
            std::vector<std::string> sha1s;
            for (const auto& file : m_catalog.files)
                if (m_file_ids.count(file.path)) sha1s.push_back(detail::lower(file.sha1));
            std::sort(sha1s.begin(), sha1s.end());
            std::string joined;
            for (const auto& sha1 : sha1s) joined += sha1;
            package["packageVerificationCode"] = {{"packageVerificationCodeValue", sha1_hex(joined)}};
        }
        return package;
    }

    void add_os() {
        const OsInfo& os = m_catalog.os;
        if (os.empty()) return;
        std::string version = !os.version_id.empty() ? os.version_id : os.version_codename;
        std::string id = m_ids.claim("SPDXRef-OperatingSystem-" + spdx_id_part(os.id.empty() ? "unknown" : os.id) +
                                     (version.empty() ? "" : "-" + spdx_id_part(version)));
        Json package = package_head(os.id.empty() ? "unknown" : os.id, id, version, "NOASSERTION");
        no_license_assertion(package);
        if (!os.pretty_name.empty()) package["description"] = os.pretty_name;
        package["primaryPackagePurpose"] = "OPERATING_SYSTEM";
        m_packages.push_back(std::move(package));
        relate(m_image_id, "CONTAINS", id);
    }

    void add_packages() {
        auto sorted = sorted_packages(m_catalog.packages);
        std::vector<std::string> ids;
        for (const Package* p : sorted) {
            std::string hash_key = p->purl.empty() ? p->name + "@" + p->version + "?" + p->arch : p->purl;
            ids.push_back(m_ids.claim("SPDXRef-Package-" + std::string(to_string(p->type)) + "-" +
                                      spdx_id_part(p->name) + "-" + short_hash(hash_key)));
        }
        std::map<std::tuple<std::string, std::string, std::string>, SourcePackage> sources;
        for (std::size_t i = 0; i < sorted.size(); ++i) {
            const Package& p = *sorted[i];
            m_packages.push_back(package_json(p, ids[i]));
            relate(m_image_id, "CONTAINS", ids[i]);
            if (p.type == PackageType::Deb) {
                SourcePackage source = source_of(p);
                auto key = std::make_tuple(source.name, source.version, source.purl);
                auto [it, inserted] = sources.try_emplace(key, std::move(source));
                if (inserted)
                    it->second.id = m_ids.claim("SPDXRef-SourcePackage-deb-" + spdx_id_part(it->second.name) +
                                                "-" + short_hash(it->second.purl));
                relate(ids[i], "GENERATED_FROM", it->second.id);
            }
            if (m_options.files)
                for (const auto& evidence : p.evidence)
                    if (auto file = m_file_ids.find(evidence.path); file != m_file_ids.end()) {
                        auto [type, comment] = evidence_relationship(p.type);
                        relate(file->second, type, ids[i], comment);
                    }
        }
        for (const auto& [from, targets] : detail::resolve_dependencies(sorted))
            for (std::size_t to : targets) relate(ids[from], "DEPENDS_ON", ids[to]);
        for (auto& [key, source] : sources) m_packages.push_back(source_json(source));
    }

    Json package_json(const Package& p, const std::string& id) {
        bool is_deb = p.type == PackageType::Deb;
        // Debian's maintainer supplies the .deb; a language package's author
        // is its originator, and who supplied it to this image is unknown.
        Json package = package_head(p.name, id, p.version, is_deb ? spdx_agent(p.maintainer) : "NOASSERTION");
        if (!is_deb && spdx_agent(p.maintainer) != "NOASSERTION") package["originator"] = spdx_agent(p.maintainer);
        package["downloadLocation"] = download_location(p.download_location);
        if (auto checksums = checksum_list(p); !checksums.empty()) package["checksums"] = std::move(checksums);
        if (detail::is_url(p.homepage)) package["homepage"] = p.homepage;
        if (is_deb) {
            std::string source = p.source.empty() ? p.name : p.source;
            std::string source_version = p.source_version.empty() ? p.version : p.source_version;
            package["sourceInfo"] = "built package from: " + source + " " + source_version;
        }
        std::vector<std::string> notes;
        std::string concluded = license_field(p.license_concluded, notes, "concluded");
        std::string declared = license_field(p.license_declared, notes, "declared");
        note_license_refs(concluded);
        note_license_refs(declared);
        package["licenseConcluded"] = concluded;
        package["licenseDeclared"] = declared;
        if (!notes.empty()) {
            std::string text;
            for (const auto& note : notes) text += (text.empty() ? "" : "; ") + note;
            package["licenseComments"] = text;
        }
        package["copyrightText"] = "NOASSERTION";
        if (!p.description.empty()) package["summary"] = p.description;
        if (p.purl.starts_with("pkg:")) package["externalRefs"] = purl_ref(p.purl);
        package["primaryPackagePurpose"] = is_deb ? "INSTALL" : "LIBRARY";
        return package;
    }

    static Json source_json(const SourcePackage& source) {
        Json package = package_head(source.name, source.id, source.version, source.supplier);
        no_license_assertion(package);
        package["externalRefs"] = purl_ref(source.purl);
        package["primaryPackagePurpose"] = "SOURCE";
        return package;
    }

    void add_files() {
        m_files = Json::array();
        if (!m_options.files) return;
        std::vector<const FileEntry*> files;
        for (const auto& file : m_catalog.files) files.push_back(&file);
        std::stable_sort(files.begin(), files.end(), [](const FileEntry* a, const FileEntry* b) {
            return std::tie(a->path, a->sha1, a->sha256, a->size) < std::tie(b->path, b->sha1, b->sha256, b->size);
        });
        for (const FileEntry* file : files) {
            if (m_file_ids.count(file->path)) continue;  // one entry per path
            Json checksums = Json::array();
            if (detail::is_hex(file->sha1, 40))
                checksums.push_back({{"algorithm", "SHA1"}, {"checksumValue", detail::lower(file->sha1)}});
            else
                m_all_files_have_sha1 = false;
            if (detail::is_hex(file->sha256, 64))
                checksums.push_back({{"algorithm", "SHA256"}, {"checksumValue", detail::lower(file->sha256)}});
            // SPDX requires at least one checksum per file: a file that was
            // not hashed cannot be listed.
            if (checksums.empty()) continue;
            auto slash = file->path.rfind('/');
            std::string base = slash == std::string::npos ? file->path : file->path.substr(slash + 1);
            std::string id = m_ids.claim("SPDXRef-File-" + spdx_id_part(base.empty() ? "root" : base) + "-" +
                                         short_hash(file->path));
            m_file_ids.emplace(file->path, id);
            Json entry;
            // SPDX file names are relative to the package's root: "./usr/bin/x".
            entry["fileName"] = "." + (file->path.starts_with("/") ? file->path : "/" + file->path);
            entry["SPDXID"] = id;
            entry["checksums"] = std::move(checksums);
            m_files.push_back(std::move(entry));
            relate(m_image_id, "CONTAINS", id);
        }
    }

    void note_license_refs(const std::string& expression) {
        for (auto& ref : license_refs(expression)) m_license_refs.insert(std::move(ref));
    }

    Json extracted_licensing_infos() const {
        Json infos = Json::array();
        for (const auto& ref : m_license_refs) {
            std::string name = ref.substr(std::string_view("LicenseRef-").size());
            infos.push_back({{"licenseId", ref},
                             {"extractedText", "The license '" + name +
                                                   "' is named in the package's metadata (a Debian copyright file "
                                                   "or a language package's manifest); its text is not reproduced."},
                             {"name", name}});
        }
        return infos;
    }

    Json relationships() const {
        Json list = Json::array();
        // DESCRIBES first: readers look for the document's subject there.
        auto add = [&](const Relationship& r) {
            Json item{{"spdxElementId", r.element}, {"relatedSpdxElement", r.related}, {"relationshipType", r.type}};
            if (!r.comment.empty()) item["comment"] = r.comment;
            list.push_back(std::move(item));
        };
        for (const auto& r : m_relationships)
            if (r.type == "DESCRIBES") add(r);
        for (const auto& r : m_relationships)
            if (r.type != "DESCRIBES") add(r);
        return list;
    }

    const Catalog& m_catalog;
    const DocumentOptions& m_options;
    IdRegistry m_ids;
    std::string m_image_id;
    Json m_packages = Json::array();
    Json m_files = Json::array();
    std::map<std::string, std::string> m_file_ids;  // path -> SPDXID
    bool m_all_files_have_sha1 = true;
    std::set<std::string> m_license_refs;
    std::set<Relationship> m_relationships;
};

}  // namespace

std::string to_spdx_json(const Catalog& catalog, const DocumentOptions& options) {
    return SpdxWriter(catalog, options).write();
}

std::string to_spdx_index_json(const Subject& index_subject, std::int64_t created,
                               const std::vector<PlatformDocument>& platforms, const DocumentOptions& options) {
    std::string index_id = spdx_image_id(index_subject);
    Json package = container_package(index_subject, index_id,
                                     "an image index; each platform's image is described by its own SPDX document");

    std::vector<const PlatformDocument*> sorted;
    for (const auto& platform : platforms) sorted.push_back(&platform);
    std::stable_sort(sorted.begin(), sorted.end(), [](const PlatformDocument* a, const PlatformDocument* b) {
        return std::tie(a->subject.platform, a->subject.digest, a->document_namespace_or_serial) <
               std::tie(b->subject.platform, b->subject.digest, b->document_namespace_or_serial);
    });
    IdRegistry ref_ids;
    Json external = Json::array();
    std::set<Relationship> relationships;
    for (const PlatformDocument* platform : sorted) {
        std::string label = platform->subject.platform.empty() ? "image-" + short_hash(platform->subject.digest)
                                                               : platform->subject.platform;
        std::string ref_id = ref_ids.claim("DocumentRef-" + spdx_id_part(label));
        Json checksum = detail::is_hex(platform->sha1_of_bytes, 40)
                            ? Json{{"algorithm", "SHA1"}, {"checksumValue", detail::lower(platform->sha1_of_bytes)}}
                            : Json{{"algorithm", "SHA256"}, {"checksumValue", detail::lower(platform->sha256_of_bytes)}};
        external.push_back({{"externalDocumentId", ref_id},
                            {"spdxDocument", platform->document_namespace_or_serial},
                            {"checksum", std::move(checksum)}});
        relationships.insert({index_id, "CONTAINS", ref_id + ":" + spdx_image_id(platform->subject), ""});
    }

    Json doc;
    doc["spdxVersion"] = "SPDX-2.3";
    doc["dataLicense"] = "CC0-1.0";
    doc["SPDXID"] = "SPDXRef-DOCUMENT";
    doc["name"] = index_subject.name.empty() ? std::string("unnamed") : index_subject.name;
    doc["documentNamespace"] = spdx_namespace(index_subject);
    if (!external.empty()) doc["externalDocumentRefs"] = std::move(external);
    doc["creationInfo"] = {{"licenseListVersion", LicenseListVersion},
                           {"creators", Json::array({"Tool: slate-" + options.tool_version})},
                           {"created", oci::format_rfc3339(created)}};
    doc["packages"] = Json::array({std::move(package)});
    Json list = Json::array();
    list.push_back({{"spdxElementId", "SPDXRef-DOCUMENT"},
                    {"relatedSpdxElement", index_id},
                    {"relationshipType", "DESCRIBES"}});
    for (const auto& r : relationships)
        list.push_back({{"spdxElementId", r.element}, {"relatedSpdxElement", r.related}, {"relationshipType", r.type}});
    doc["relationships"] = std::move(list);
    return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace slate::sbom
