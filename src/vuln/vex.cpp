#include "slate/vuln/vex.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "vuln/json_support.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/util/fs.hpp"

namespace slate::vuln {
namespace {

using nlohmann::json;

// The identifiers of a product or subcomponent: its @id and identifiers.purl.
std::vector<std::string> identifiers(const json& component) {
    std::vector<std::string> ids;
    if (component.is_string()) {  // OpenVEX 0.0.x wrote products as plain strings
        ids.push_back(component.get<std::string>());
        return ids;
    }
    if (!component.is_object()) return ids;
    if (auto id = string_member(component, "@id"); !id.empty()) ids.push_back(id);
    if (auto it = component.find("identifiers"); it != component.end() && it->is_object())
        if (auto purl = string_member(*it, "purl"); !purl.empty() && purl != (ids.empty() ? "" : ids[0]))
            ids.push_back(purl);
    return ids;
}

bool valid_status(const std::string& status) {
    return status == "not_affected" || status == "affected" || status == "fixed" || status == "under_investigation";
}

// "sha256:<hex>" found in an image identifier: a pkg:oci purl's version or a digest.
std::string image_digest(std::string_view id) {
    auto at = id.find("sha256:");
    if (at == std::string_view::npos) at = id.find("sha256%3A");
    if (at == std::string_view::npos) return {};
    std::string_view rest = id.substr(at);
    bool escaped = rest.starts_with("sha256%3A");
    rest.remove_prefix(escaped ? 9 : 7);
    std::size_t hex = 0;
    while (hex < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[hex]))) ++hex;
    if (hex != 64) return {};
    return "sha256:" + std::string(rest.substr(0, 64));
}

bool is_image_id(std::string_view id) { return id.starts_with("pkg:oci/") || !image_digest(id).empty(); }

bool names_image(const VexStatement::Product& product, const ScanTarget& target) {
    for (const auto& id : product.ids) {
        if (!is_image_id(id)) continue;
        std::string digest = image_digest(id);
        if (!digest.empty() && digest == target.digest) return true;
        if (digest.empty() && !target.name.empty() && id.find(target.name) != std::string::npos) return true;
    }
    return false;
}

// The purls a finding answers to: its binary package's, and its source package's.
std::vector<std::string> finding_purls(const Finding& finding) {
    std::vector<std::string> out;
    if (!finding.purl.empty()) out.push_back(finding.purl);
    std::string binary = sbom::deb_purl(finding.package, finding.version, "", "", "");
    out.push_back(binary);
    if (!finding.source.empty())
        out.push_back(sbom::deb_purl(finding.source, finding.source_version, "source", "", ""));
    return out;
}

bool covers_any(const std::vector<std::string>& patterns, const std::vector<std::string>& candidates) {
    for (const auto& pattern : patterns)
        for (const auto& candidate : candidates)
            if (purl_covers(pattern, candidate)) return true;
    return false;
}

bool statement_covers(const VexStatement& statement, const Finding& finding, const ScanTarget& target) {
    std::vector<std::string> purls = finding_purls(finding);
    for (const auto& product : statement.products) {
        if (covers_any(product.ids, purls)) return true;
        if (names_image(product, target))
            return product.subcomponents.empty() || covers_any(product.subcomponents, purls);
    }
    return false;
}

bool names_vulnerability(const VexStatement& statement, const Finding& finding) {
    auto matches = [&](const std::string& id) {
        if (id == finding.vulnerability) return true;
        return std::find(finding.aliases.begin(), finding.aliases.end(), id) != finding.aliases.end();
    };
    if (matches(statement.vulnerability)) return true;
    return std::any_of(statement.aliases.begin(), statement.aliases.end(), matches);
}

}  // namespace

bool purl_covers(std::string_view pattern, std::string_view candidate) {
    auto want = sbom::parse_purl(pattern);
    auto have = sbom::parse_purl(candidate);
    if (!want || !have) return false;
    if (want->type != have->type || want->name != have->name) return false;
    if (want->name_space != have->name_space) return false;
    if (!want->version.empty() && want->version != have->version) return false;
    for (const auto& [key, value] : want->qualifiers) {
        auto it = have->qualifiers.find(key);
        if (it == have->qualifiers.end() || it->second != value) return false;
    }
    return true;
}

std::vector<VexStatement> parse_openvex(std::string_view text, const std::string& origin) {
    json document;
    try {
        document = json::parse(text);
    } catch (const json::exception& e) {
        throw Error(ErrorCode::Parse, fmt::format("{} is not valid JSON: {}", origin, e.what()));
    }
    const std::string hint = "give an OpenVEX document (https://openvex.dev/ns/v0.2.0), as `vexctl create` writes";
    if (!document.is_object() || string_member(document, "@context").find("openvex.dev/ns") == std::string::npos)
        throw Error(ErrorCode::Parse, fmt::format("{} is not an OpenVEX document (no openvex @context)", origin), hint);
    auto statements = document.find("statements");
    if (statements == document.end() || !statements->is_array())
        throw Error(ErrorCode::Parse, fmt::format("{} has no \"statements\" list", origin), hint);
    std::string document_id = string_member(document, "@id");
    std::string document_time = string_member(document, "timestamp");
    std::vector<VexStatement> out;
    std::size_t index = 0;
    for (const auto& item : *statements) {
        ++index;
        auto fail = [&](const std::string& why) {
            throw Error(ErrorCode::Parse, fmt::format("{}: statement {}: {}", origin, index, why), hint);
        };
        if (!item.is_object()) fail("it is not an object");
        VexStatement statement;
        auto vulnerability = item.find("vulnerability");
        if (vulnerability == item.end()) fail("it names no vulnerability");
        if (vulnerability->is_string()) {  // OpenVEX 0.0.x
            statement.vulnerability = vulnerability->get<std::string>();
        } else if (vulnerability->is_object()) {
            statement.vulnerability = string_member(*vulnerability, "name");
            if (statement.vulnerability.empty()) statement.vulnerability = string_member(*vulnerability, "@id");
            if (auto aliases = vulnerability->find("aliases"); aliases != vulnerability->end() && aliases->is_array())
                for (const auto& alias : *aliases)
                    if (alias.is_string()) statement.aliases.push_back(alias.get<std::string>());
        }
        if (statement.vulnerability.empty()) fail("its vulnerability has no name");
        auto products = item.find("products");
        if (products == item.end() || !products->is_array() || products->empty()) fail("it lists no products");
        for (const auto& product : *products) {
            VexStatement::Product entry;
            entry.ids = identifiers(product);
            if (product.is_object())
                if (auto subs = product.find("subcomponents"); subs != product.end() && subs->is_array())
                    for (const auto& sub : *subs)
                        for (auto& id : identifiers(sub)) entry.subcomponents.push_back(std::move(id));
            if (entry.ids.empty()) fail("a product has no @id or purl");
            statement.products.push_back(std::move(entry));
        }
        statement.status = string_member(item, "status");
        if (!valid_status(statement.status))
            fail(fmt::format("status \"{}\" is not not_affected, affected, fixed or under_investigation", statement.status));
        statement.justification = string_member(item, "justification");
        statement.impact_statement = string_member(item, "impact_statement");
        statement.action_statement = string_member(item, "action_statement");
        if (statement.status == "not_affected" && statement.justification.empty() && statement.impact_statement.empty())
            fail("a not_affected statement needs a justification or an impact_statement");
        statement.timestamp = string_member(item, "timestamp");
        if (statement.timestamp.empty()) statement.timestamp = document_time;
        statement.origin = document_id.empty() ? origin : document_id;
        out.push_back(std::move(statement));
    }
    return out;
}

std::vector<VexStatement> read_openvex_file(const std::string& path) {
    return parse_openvex(util::read_file(path), path);
}

const VexStatement* vex_for(const std::vector<VexStatement>& statements, const Finding& finding,
                            const ScanTarget& target) {
    const VexStatement* best = nullptr;
    for (const auto& statement : statements) {
        if (!names_vulnerability(statement, finding) || !statement_covers(statement, finding, target)) continue;
        // RFC 3339 UTC timestamps order as strings; later statements win, and
        // of equal ones the later in the input.
        if (!best || statement.timestamp >= best->timestamp) best = &statement;
    }
    return best;
}

}  // namespace slate::vuln
