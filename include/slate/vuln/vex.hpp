#pragma once
// OpenVEX (https://github.com/openvex/spec) as input: statements that say a
// vulnerability does not affect a product (not_affected, with a
// justification) or is fixed in it. The scanner moves the findings they
// cover to the suppressed list.
//
// Products are matched by purl. A statement's product matches a finding when
// one of its identifiers (its @id or identifiers.purl, or a subcomponent's)
// names the finding's binary package or its source package: same type,
// namespace and name; the version, when the statement gives one, must be
// equal (a purl without a version matches every version); every qualifier the
// statement gives must be present with the same value. A product naming the
// image itself (pkg:oci/... or an image digest) applies to all its packages,
// or, when it lists subcomponents, to those.

#include <string>
#include <string_view>
#include <vector>

#include "slate/vuln/report.hpp"

namespace slate::vuln {

struct VexStatement {
    std::string vulnerability;           // vulnerability.name (or @id): "CVE-2023-5678"
    std::vector<std::string> aliases;    // vulnerability.aliases
    struct Product {
        std::vector<std::string> ids;            // @id and identifiers.purl
        std::vector<std::string> subcomponents;  // their @ids and purls
    };
    std::vector<Product> products;
    std::string status;            // not_affected, affected, fixed, under_investigation
    std::string justification;     // for not_affected
    std::string impact_statement;
    std::string action_statement;
    std::string timestamp;         // the statement's, else the document's (RFC 3339)
    std::string origin;            // the document's @id, else the file it came from
};

// Parses an OpenVEX document. Throws slate::Error(Parse) naming `origin` when
// it is not one (no @context of openvex, no statements, a statement without
// a vulnerability, products or a valid status).
std::vector<VexStatement> parse_openvex(std::string_view json, const std::string& origin);
std::vector<VexStatement> read_openvex_file(const std::string& path);

// Whether purl `pattern` (from a statement) covers purl `candidate`, as above.
bool purl_covers(std::string_view pattern, std::string_view candidate);

// The statement that decides `finding` in `target`, or nullptr: among the
// statements naming its vulnerability (or an alias) and covering its package,
// the latest by timestamp (OpenVEX: later statements supersede earlier ones).
const VexStatement* vex_for(const std::vector<VexStatement>& statements, const Finding& finding, const ScanTarget& target);

}  // namespace slate::vuln
