#pragma once
// A ScanReport (report.hpp) as a person or another tool reads it: an aligned
// table for terminals, slate's own JSON (its shape is documented and stable:
// docs/scan-json.md), SARIF 2.1.0 for code-scanning dashboards, and the two
// VEX formats: a CycloneDX 1.6 BOM with vulnerabilities, and OpenVEX 0.2.0.
//
// Every writer is deterministic: the same report (and timestamp) gives the
// same bytes. Document ids (CycloneDX serialNumber, OpenVEX @id) are derived
// from content, never random. Findings are written in the report's order
// (the matcher sorts them); the table groups them by package whatever the
// order. Text from feeds or from the image (descriptions, package names) that
// is not valid UTF-8 is repaired (U+FFFD in the JSON formats, '?' in the
// table), and the table never lets control characters through to the
// terminal.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "slate/vuln/report.hpp"

namespace slate::vuln {

// What SARIF's tool.driver and CycloneDX's metadata.tools say about slate.
// The version is the one project() declares in CMakeLists.txt and
// `slate --version` prints.
inline constexpr std::string_view ToolName = "slate";
inline constexpr std::string_view ToolVersion = SLATE_VERSION;

struct TableOptions {
    bool color = false;       // ANSI colours for severities (only when writing to a terminal)
    std::size_t width = 100;  // the terminal's width; 0 for no limit
};

// Findings grouped by package ("libssl3 3.0.11-1~deb12u1 (openssl)"), one
// aligned line each: vulnerability, severity, state, fixed version, advisory
// ids and the description. Then a "Suppressed" section and a summary line
// ("4 vulnerabilities in 3 packages (1 critical, 2 high, 1 medium), 2 fixable,
// 1 suppressed"), with a note when findings were hidden. An empty
// report says "No vulnerabilities found in N packages".
//
// Lines fit in `width`: descriptions are cut ("..."), then the advisory list
// is shortened ("DSA-5532-1 +2"); identifiers and versions are never cut, so
// only a terminal too narrow for them gets longer lines.
std::string to_table(const ScanReport& report, const TableOptions& options);

// slate's JSON (docs/scan-json.md): pretty-printed with 2 spaces, keys in a
// fixed order, a trailing newline. Throws slate::Error (Usage) only when a
// time in the report is outside the years 0000-9999.
std::string to_json(const ScanReport& report);

// SARIF 2.1.0, as GitHub code scanning accepts it (and as Grype writes it):
// one run; tool.driver "slate" with one rule per vulnerability id
// (shortDescription, helpUri to the advisory, properties.security-severity
// and tags); one result per shown finding, at level error (critical, high),
// warning (medium) or note (low, negligible, unknown), located in the image
// (artifactLocation) and the package (logicalLocations, by purl).
// Suppressed findings are left out, as Grype does: GitHub does not honour
// SARIF suppressions and would open alerts for them.
std::string to_sarif(const ScanReport& report);

// A CycloneDX 1.6 BOM (valid against the official schema): the target as
// metadata.component, each affected package as a component (bom-ref = purl),
// and one vulnerability per finding with its ratings (CVSS and the Debian
// urgency), advisories, affects, recommendation and, for suppressed findings,
// the analysis. `timestamp` (seconds since the epoch) is metadata.timestamp.
// Throws slate::Error (Usage) only for a time outside the years 0000-9999.
std::string to_cyclonedx(const ScanReport& report, std::int64_t timestamp);

// An OpenVEX 0.2.0 document (valid against the official schema): one
// statement per (vulnerability, package). The product is the image (its
// pkg:oci purl, when the target has a digest) with the package as its
// subcomponent, or the package alone otherwise. Shown findings are
// "affected" with an action statement; VEX-suppressed ones keep their status,
// justification and impact statement; findings hidden by an ignore rule are
// still "affected" (ignoring is not a statement about exploitability).
// `author` may be empty ("Unknown Author", as vexctl writes).
// Throws slate::Error (Usage) when the report has no finding at all (OpenVEX
// requires at least one statement), or for a time outside 0000-9999.
std::string to_openvex(const ScanReport& report, std::int64_t timestamp, const std::string& author);

// The predicate of cosign's vulnerability attestation
// (https://cosign.sigstore.dev/attestation/vuln/v1, `cosign attest --type
// vuln`): the scanner (slate, its version, the database and when it was
// built) with slate's JSON report (to_json) as scanner.result, and when the
// scan ran. Throws slate::Error (Usage) only for a time outside 0000-9999.
std::string to_cosign_vuln(const ScanReport& report, std::int64_t started, std::int64_t finished);

// Where a person reads about a vulnerability or advisory id: Debian's
// security tracker for CVE-, DSA-, DLA-, DTSA- and TEMP- ids, GitHub's
// advisory database for GHSA-, osv.dev for any other (OSV) id.
std::string advisory_url(std::string_view id);

}  // namespace slate::vuln
