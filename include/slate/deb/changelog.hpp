#pragma once
// Debian changelogs (deb-changelog(5)): the debian/changelog of a source
// package, as binary packages ship it in /usr/share/doc/<pkg>/changelog.Debian.gz.
//
// An entry is
//
//   openssl (3.0.11-1~deb12u2) bookworm-security; urgency=medium
//
//     * CVE-2023-5363 (Incorrect cipher key and IV length processing).
//
//    -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Mon, 23 Oct 2023 19:52:22 +0200
//
// newest first. What real changelogs contain besides entries is tolerated:
// comment lines starting with '#' (binary packages end theirs with "# Older
// entries have been removed from this changelog."), RCS keyword lines, blank
// lines, and old free-form text between entries (one warning for each run of
// it; entries after it are read again). Parsing stops at an Emacs "Local
// variables:" block, a "vim:" modeline or an "Old Changelog:" section, as
// dpkg-parsechangelog does. An entry whose header or
// trailer is malformed, or that has no trailer, is reported as a warning and
// skipped; parsing never throws.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::deb {

struct ChangelogEntry {
    std::string source;                      // "openssl"
    std::string version;                     // "3.0.11-1~deb12u2"
    std::vector<std::string> distributions;  // {"bookworm-security"}
    // The urgency keyword's value, lowercase, without a "(comment)" part:
    // "urgency=HIGH (security fix)" gives "high". "" when the header has none.
    std::string urgency;
    std::string maintainer;                  // "Name <mail>", as written in the trailer
    std::int64_t date = 0;                   // the trailer's date, seconds since the epoch (UTC)
    // The body lines between header and trailer, as written (indentation
    // kept), without leading and trailing blank lines, joined with '\n'.
    std::string text;
    // The CVE ids the text names (see find_cve_ids), in order of appearance.
    std::vector<std::string> cves;
    std::size_t line = 0;                    // 1-based line of the header
};

struct Changelog {
    std::vector<ChangelogEntry> entries;  // as written: newest first
    // "<display_name>:<line>: what was wrong; what was done about it", one per
    // skipped entry or run of unexpected lines.
    std::vector<std::string> warnings;
};

// Parses changelog text. `display_name` (e.g. "openssl 3.0.11-1~deb12u2
// changelog") starts every warning. Never throws on malformed input.
Changelog parse_changelog(std::string_view text, const std::string& display_name);

// The CVE ids named in `text`, uppercase, deduplicated, in order of first
// appearance. A mention is "CVE-" + a four-digit year + "-" + four or more
// digits, in any letter case ("cve-2023-1234" is a mention too: maintainers
// name patch files that way, and the id is unambiguous), not preceded by a
// letter or digit ("XCVE-2023-1234" is not one) and not followed by a digit.
// "CVE-2023-1234, CVE-2023-5678", "(CVE-2023-1234)" and
// "CVE-2023-1234/CVE-2023-5678" each name both ids.
std::vector<std::string> find_cve_ids(std::string_view text);

// The date of a changelog trailer (RFC 2822, as `date -R` prints it):
// "[Day, ]DD Mon YYYY HH:MM[:SS] +ZZZZ", also with the obsolete zone names
// (UT, UTC, GMT, Z, EST, EDT, CST, CDT, MST, MDT, PST, PDT) and a trailing
// "(comment)". Seconds since the epoch (UTC); nullopt when malformed.
std::optional<std::int64_t> parse_changelog_date(std::string_view text);

// Where a binary package's .deb keeps its changelog.
struct DebChangelog {
    enum class Status {
        Found,      // the changelog is a regular file: `text` holds it
        Elsewhere,  // the doc directory or the changelog is a symlink into another
                    // package's doc directory: `elsewhere` names that package
        Missing,    // neither
    };
    Status status = Status::Missing;
    std::string path;       // Found: "/usr/share/doc/<package>/changelog.Debian.gz" (or changelog.gz)
    std::string text;       // Found: the decompressed changelog
    std::string elsewhere;  // Elsewhere: e.g. "libssl3" for usr/share/doc/libssl-dev -> libssl3
};

// Reads the changelog of `package` from the .deb at `path`:
// usr/share/doc/<package>/changelog.Debian.gz. With `native` (the package's
// source version has no Debian revision, as for base-files 12.4+deb12u5),
// usr/share/doc/<package>/changelog.gz too when there is no
// changelog.Debian.gz: a native package's Debian changelog is its only
// changelog and Debian policy (12.7) installs it under that name. Streams the
// data.tar (only the changelog's bytes are kept; reading stops once
// changelog.Debian.gz is found). `display_name` names the .deb in errors.
// Throws slate::Error: NotFound / Io when the file cannot be read, Parse when
// the archive or the gzip stream is corrupt or the changelog is absurdly large
// (over 64 MiB).
DebChangelog read_deb_changelog(const std::filesystem::path& path, std::string_view package, bool native,
                                const std::string& display_name);

// True for a version without a Debian revision ("12.4+deb12u5", "1:2.0"),
// the versions of native packages.
bool is_native_version(std::string_view version);

}  // namespace slate::deb
