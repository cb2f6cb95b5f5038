#pragma once
// Matching installed packages against the database: Debian packages by source
// package and source version, in the image's release only, with dpkg's
// version ordering; findings merged per (vulnerability, binary package).
// VEX statements and ignore rules (vex.hpp, ignore.hpp) then move findings to
// the suppressed list.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "slate/sbom/catalog.hpp"
#include "slate/vuln/database.hpp"
#include "slate/vuln/ignore.hpp"
#include "slate/vuln/report.hpp"
#include "slate/vuln/vex.hpp"

namespace slate::vuln {

struct ScanOptions {
    bool show_negligible = false;    // report Negligible findings (hidden and counted otherwise)
    bool show_undetermined = false;  // report findings Debian has not triaged yet
    bool ignore_unfixed = false;     // report only findings with a fix
    // The Debian release to match against when the catalog does not say
    // (no /etc/os-release): "12". Empty: take it from the catalog.
    std::string release{};
    std::int64_t now = 0;            // seconds since the epoch: for ignore-rule expiry and the report
};

// What a set of advisories says about one installed source package version:
// the evaluation of one Affected statement.
struct Verdict {
    bool affected = false;
    bool explicit_not_affected = false;  // the tracker's fixed_version "0": never affected in this release
    FixState state = FixState::NotFixed;
    std::string fixed;                   // the fixing version, when there is one above the installed one
};

// One statement against one installed source version (dpkg ordering).
Verdict evaluate(const Affected& statement, std::string_view source_version);

// Scans a catalog. `vex` and `ignore` may be empty. The report's target and
// database fields are filled from the catalog and `db`.
ScanReport scan_catalog(const Database& db, const sbom::Catalog& catalog, const ScanOptions& options,
                        const std::vector<VexStatement>& vex, const IgnoreRules& ignore);

}  // namespace slate::vuln
