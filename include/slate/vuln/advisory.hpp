#pragma once
// What vulnerability feeds say, normalised: one Advisory per record of a feed
// (a Debian Security Tracker CVE, an OSV record such as DSA-5532-1 or
// DEBIAN-CVE-2023-5363, a record mined from changelogs), each with what it
// says about source packages in Debian releases.
//
// The feeds differ in shape but say the same kinds of things; the readers
// (tracker.hpp, osv.hpp) turn each into this model, the database (database.hpp)
// stores it, and the matcher (match.hpp) evaluates it against installed
// packages with dpkg's version ordering.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::vuln {

// Ordered from least to most severe, so `a < b` compares severities.
enum class Severity { Unknown, Negligible, Low, Medium, High, Critical };

// "unknown", "negligible", "low", "medium", "high", "critical".
const char* to_string(Severity severity);
// The names above, case-insensitive; nullopt for anything else.
std::optional<Severity> parse_severity(std::string_view text);

// What Debian says it will do about a vulnerability in one release.
enum class FixState {
    Fixed,         // a fixed version exists in the release
    NotFixed,      // open, no fix yet
    WontFix,       // no-dsa, ignored: Debian will not fix it in this release
    FixDeferred,   // no-dsa, postponed: to be fixed in a later point release
    EndOfLife,     // the package is no longer supported in this release
    Undetermined,  // not yet triaged
};

// "fixed", "not-fixed", "wont-fix", "fix-deferred", "end-of-life", "undetermined".
const char* to_string(FixState state);
std::optional<FixState> parse_fix_state(std::string_view text);

// One event of an OSV range, with versions compared as dpkg does.
struct RangeEvent {
    enum class Kind { Introduced, Fixed, LastAffected, Limit };
    Kind kind = Kind::Introduced;
    std::string version;  // "0" for introduced means "every version"
};

// What one advisory says about one source package in one release.
struct Affected {
    std::string ecosystem;  // "Debian:12"
    std::string package;    // the source package: "openssl"
    // How the statement is expressed:
    //  - from the tracker: `state`, and `fixed` when state is Fixed ("0"
    //    means the release was never affected);
    //  - from OSV: `ranges` (ECOSYSTEM ranges, each a list of events as
    //    the record gives them) and/or `versions` (explicitly affected
    //    versions). `state` is then derived per match.
    FixState state = FixState::NotFixed;
    std::string fixed;
    std::vector<std::vector<RangeEvent>> ranges;
    std::vector<std::string> versions;
    std::string urgency;  // the tracker's urgency ("low", "unimportant", "end-of-life"...), if any
    std::string note;     // the tracker's no-dsa text, if any
    bool from_ranges() const { return !ranges.empty() || !versions.empty(); }
};

struct Advisory {
    std::string id;                        // "CVE-2023-5363", "DSA-5532-1", "DEBIAN-CVE-2023-5363"
    std::vector<std::string> aliases;      // other ids of the same vulnerability (OSV aliases and upstream)
    std::string feed;                      // the feed it came from: "debian-tracker", "osv", "changelog"
    std::string summary;                   // one line
    std::string published;                 // RFC 3339, may be empty
    std::string modified;                  // RFC 3339, may be empty
    std::string cvss_vector;               // the most severe CVSS vector given, "CVSS:3.1/AV:N/..."
    std::optional<double> cvss_score;      // its base score
    bool withdrawn = false;
    std::vector<Affected> affected;

    // The CVE ids this advisory is about: its id when it is a CVE, else the
    // CVE ids among its aliases; empty when it names none.
    std::vector<std::string> cves() const;
};

// "bookworm" -> "12", "bullseye" -> "11", ... ("sid" -> "unstable"); nullopt
// for unknown names. And back: "12" -> "bookworm".
std::optional<std::string> debian_version_of(std::string_view codename);
std::optional<std::string> debian_codename_of(std::string_view version);

// The tracker's urgency as a severity: "unimportant" -> Negligible, "low",
// "medium", "high"; "not yet assigned", "end-of-life" and anything else ->
// Unknown. Trailing '*' (the tracker's "taken from NVD" marks) are ignored.
Severity severity_of_urgency(std::string_view urgency);

}  // namespace slate::vuln
