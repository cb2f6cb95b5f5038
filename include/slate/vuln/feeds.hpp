#pragma once
// Reading vulnerability feeds into Advisory records (advisory.hpp):
//   - the Debian Security Tracker's JSON (one document, package -> CVE ->
//     release), read as a stream so its size does not matter;
//   - OSV records: one file, a directory of them, or a zip (OSV's all.zip);
//   - OpenVEX documents, which are not advisories: they are kept whole and
//     applied at scan time (vex.hpp).
// A malformed record is skipped, counted and described in FeedStats; a feed
// that is malformed as a whole (not JSON, truncated, the wrong shape) throws
// slate::Error(Parse) naming the file.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/vuln/advisory.hpp"

namespace slate::vuln {

enum class FeedKind { DebianTracker, Osv, OpenVex };

// "debian-tracker", "osv", "openvex".
const char* to_string(FeedKind kind);

struct FeedStats {
    std::size_t records = 0;       // advisories read (for the tracker: CVE entries of a package)
    std::size_t skipped = 0;       // malformed records skipped
    std::size_t withdrawn = 0;     // OSV records marked withdrawn (never stored)
    std::size_t out_of_scope = 0;  // OSV records about no Debian release (other ecosystems)
    std::string newest;            // the newest `modified` seen (RFC 3339), empty when the feed has no dates
    std::vector<std::string> warnings;  // one per skipped record, at most MaxWarnings
    static constexpr std::size_t MaxWarnings = 20;
    void warn(std::string message);
};

using AdvisorySink = std::function<void(Advisory&&)>;

// What a feed file or directory holds, from its content: a directory or a zip
// is OSV; a JSON object with "@context" naming openvex is OpenVEX; one with
// "id" and "modified" (or {"vulns": [...]}) is OSV; an object of objects
// keyed by CVE ids is the tracker. Throws Parse when it is none of these.
FeedKind detect_feed(const std::filesystem::path& path);

// The tracker's JSON. One Advisory per (package, CVE) with an Affected per
// release (ecosystem "Debian:<N>"; releases without a version number other
// than sid are skipped). Mapping of each release entry:
//   resolved + fixed_version      -> Fixed, `fixed` ("0": never affected)
//   open + urgency end-of-life    -> EndOfLife
//   open + nodsa_reason ignored   -> WontFix
//   open + nodsa_reason postponed -> FixDeferred
//   open otherwise (also a plain no-dsa, kept in `note`) -> NotFixed
//   undetermined                  -> Undetermined
void read_tracker(const std::filesystem::path& path, const AdvisorySink& sink, FeedStats& stats);

// One OSV record (or {"vulns": [...]}). Only affected entries of Debian
// ecosystems with a release ("Debian:12") are kept; ECOSYSTEM ranges only.
// The record's most severe CVSS vector is scored (cvss.hpp).
void read_osv_text(std::string_view json, const std::string& origin, const AdvisorySink& sink, FeedStats& stats);
// A file, a directory (every *.json below it) or a zip of OSV records.
void read_osv(const std::filesystem::path& path, const AdvisorySink& sink, FeedStats& stats);

}  // namespace slate::vuln
