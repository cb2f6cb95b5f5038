#pragma once
// Advisories mined from Debian changelogs. Each upload's changelog entry names
// the CVEs it fixes; the changelog of a source package's newest version in a
// release is the lineage of that version (its entries, oldest to newest, are
// its ancestors, whatever distribution each was uploaded to). For each CVE the
// OLDEST entry naming it is the upload that fixed it: its version becomes the
// record's `fixed` version, its date `published`, its urgency
// `ecosystem_specific.urgency`. Later mentions ("regression fix for
// CVE-...", "patch for CVE-... upstreamed") do not move the fix.
//
// Records are OSV 1.6 documents, one per (source package, CVE):
//
//   id        "x_SLATE-CL-<source>-<CVE>", e.g. "x_SLATE-CL-openssl-CVE-2023-5363".
//             OSV ids must start with a registered database prefix or "x_"
//             (the schema's prefix rule, for databases that are not
//             registered); "SLATE-CL" says slate derived it from a changelog.
//             The id is stable: mining the same changelog again gives the same id.
//   aliases, upstream  ["CVE-..."]
//   published, modified  the fixing entry's date, RFC 3339 UTC
//   summary   "CVE-2023-5363 in openssl, fixed in 3.0.11-1~deb12u2"
//   details   the fixing entry's header line and its change items naming the CVE
//   affected  one package: ecosystem "Debian:<release>", the source package
//             (purl pkg:deb/debian/<source>?arch=source), one ECOSYSTEM range
//             [introduced "0", fixed <version>], ecosystem_specific.urgency
//             (the entry's urgency; "unknown" when it has none)
//   database_specific  {"source": "debian-changelog", "changelog_version": the
//             newest version in the changelog read, "fixed_distributions": the
//             fixing entry's distributions}
//   schema_version "1.6.0"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/build/fetch.hpp"
#include "slate/deb/archive.hpp"
#include "slate/deb/changelog.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/log.hpp"

namespace slate::vuln {

// "x_SLATE-CL-openssl-CVE-2023-5363"
std::string mined_record_id(std::string_view source, std::string_view cve);

struct MinedRecord {
    std::string id;
    std::string cve;
    std::string source;
    std::string fixed;            // the version of the oldest entry naming the CVE
    nlohmann::ordered_json osv;   // the whole record
};

// The records of one source package's changelog (entries newest first, as
// parse_changelog returns them) for the Debian release `release` ("12"),
// sorted by id. Entries under another source name (a renamed package) count
// as ancestors too; records carry `source`. A changelog naming no CVE gives none.
std::vector<MinedRecord> mine_changelog(const deb::Changelog& changelog, std::string_view source,
                                        std::string_view release);

// The file text of a record: its JSON, two-space indented, keys in a fixed
// order, and a final newline. Same record, same bytes.
std::string record_text(const MinedRecord& record);

// Checks, before any work is done, that `dir` can receive records: it is
// absent, an empty directory, or a directory holding only record files
// (x_SLATE-CL-*.json, from an earlier run), and its parent is writable
// (created when missing). Throws slate::Error: Usage when `dir` is a file or
// holds other files (nothing is ever deleted that slate did not write), Io
// when the parent cannot be created or written.
void check_records_dir(const std::filesystem::path& dir);

// Replaces `dir` with a directory holding exactly `records`, one <id>.json
// each. The files are written and fsynced in a temporary directory beside
// `dir`, which then takes `dir`'s place in one rename (an atomic exchange
// when `dir` exists), so a reader sees the old set or the new one, never a
// mix, and a failure leaves `dir` as it was. Checks `dir` as
// check_records_dir does first.
void write_records(const std::filesystem::path& dir, const std::vector<MinedRecord>& records);

// ---- Mining the archive ------------------------------------------------------

struct MineResult {
    std::vector<MinedRecord> records;           // sorted by id
    std::vector<std::string> sources;           // the source packages mined, sorted
    std::vector<std::string> without_changelog; // sources none of whose .debs had a changelog
};

// Finds changelogs in a release's archive and mines them. For each source
// package named (directly, or through one of its binary packages), the newest
// version across `indices` (every Packages index of the release's suites for
// one architecture; arch:all packages included) is chosen, then a binary
// package of that version whose .deb holds
// usr/share/doc/<binary>/changelog.Debian.gz as a regular file (or, for a
// native package, changelog.gz: see deb::read_deb_changelog): binaries
// named in the request are tried first (an image's .debs are likely cached),
// then the one named like the source, then the smallest. A .deb whose doc
// directory (or changelog) is a symlink into another binary's doc directory
// leads to that binary next. At most MaxTries .debs are tried per source.
// .debs are downloaded through build::fetch_all (verified against the
// signed indices' SHA-256, cached); one round of parallel downloads per try.
class ChangelogMiner {
public:
    static constexpr std::size_t MaxTries = 4;

    ChangelogMiner(util::BlobCache& cache, build::FetchOptions fetch, util::LogSink& log, util::ProgressSink& progress);

    // `names`: binary or source package names. `release`: "12". Throws
    // slate::Error: NotFound for a name that is neither a binary nor a source
    // package in `indices` (with "did you mean" suggestions), and what
    // fetch_all and read_deb_changelog throw. A source without a changelog is
    // a warning (logged, and listed in the result), not an error.
    MineResult mine(const std::vector<const deb::LoadedIndex*>& indices, const std::vector<std::string>& names,
                    const std::string& release);

private:
    util::BlobCache& m_cache;
    build::FetchOptions m_fetch;
    util::LogSink& m_log;
    util::ProgressSink& m_progress;
};

}  // namespace slate::vuln
