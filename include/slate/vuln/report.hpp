#pragma once
// The result of a scan: what matched, what was suppressed and why, and a
// summary. The matcher (match.hpp) fills it; the writers (writers.hpp) turn it
// into a table, JSON, SARIF, CycloneDX or OpenVEX.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "slate/vuln/advisory.hpp"

namespace slate::vuln {

// One vulnerability in one installed binary package. Findings are merged: one
// per (vulnerability, binary package), whatever number of advisories name it.
struct Finding {
    std::string vulnerability;             // the CVE id, or the advisory id when it names no CVE
    std::vector<std::string> aliases;      // other ids seen for it (sorted, without `vulnerability`)
    std::string package;                   // the binary package: "libssl3"
    std::string version;                   // its installed version: "3.0.11-1~deb12u1"
    std::string source;                    // its source package: "openssl"
    std::string source_version;            // the source version matched: "3.0.11-1~deb12u1"
    std::string purl;                      // the binary package's purl, when known
    std::string fixed_version;             // the version that fixes it; empty when there is none
    FixState state = FixState::NotFixed;
    Severity severity = Severity::Unknown;
    std::optional<double> cvss;            // the CVSS base score, when a feed gave a vector
    std::string cvss_vector;
    std::string urgency;                   // the Debian urgency, when a feed gave one
    std::vector<std::string> advisories;   // every advisory id that names it: DSA-..., DLA-..., DEBIAN-CVE-..., CVE-...
    std::string description;               // one line, may be empty
    std::string published;                 // RFC 3339, may be empty
};

// A finding a VEX statement or an ignore rule took out of the results.
struct Suppression {
    Finding finding;
    std::string by;             // "vex" or "ignore"
    std::string status;         // VEX: "not_affected" or "fixed"; ignore: "ignored"
    std::string justification;  // VEX justification, or the ignore rule's reason
    std::string statement;      // the VEX impact statement, or the rule as written
    std::string origin;         // the VEX document's @id or file, or the ignore file's path
};

struct ScanTarget {
    std::string name;      // the image reference, directory or SBOM file as given
    std::string digest;    // the image manifest's digest, when known
    std::string platform;  // "linux/amd64", when known
    std::string kind;      // "image", "directory", "sbom"
};

struct Distro {
    std::string id;       // "debian"
    std::string version;  // "12"
    std::string codename; // "bookworm"
};

struct ScanSummary {
    std::map<Severity, std::size_t> by_severity;  // shown findings per severity
    std::map<FixState, std::size_t> by_state;
    std::size_t packages = 0;     // packages scanned
    std::size_t matches = 0;      // shown findings
    std::size_t suppressed = 0;
    std::size_t hidden = 0;       // negligible/undetermined findings not shown (see ScanOptions)
};

// The database the scan used.
struct DatabaseInfo {
    std::string path;
    std::int64_t built = 0;  // seconds since the epoch
    std::vector<std::string> feeds;
};

struct ScanReport {
    ScanTarget target;
    Distro distro;
    std::vector<Finding> matches;         // sorted: package, then severity (most severe first), then id
    std::vector<Suppression> suppressed;  // same order
    std::vector<std::string> warnings;    // e.g. "ignore rule for CVE-... expired on 2026-01-01"
    ScanSummary summary;
    DatabaseInfo database;
    std::int64_t scanned_at = 0;          // seconds since the epoch
};

}  // namespace slate::vuln
