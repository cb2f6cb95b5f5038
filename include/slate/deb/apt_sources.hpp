#pragma once
// The host's apt configuration, read the way apt reads it: the package sources
// (sources.list, sources.list.d/*.list and *.sources) and the one apt.conf
// setting slate honours (Acquire::Check-Valid-Until).

#include <filesystem>
#include <string>
#include <vector>

namespace slate::deb {

// One source entry: a line of a one-line-style file, or a deb822 stanza.
struct AptSource {
    std::vector<std::string> types;          // "deb", "deb-src"
    std::vector<std::string> uris;
    std::vector<std::string> suites;         // a suite ending in '/' is an exact path (then no components)
    std::vector<std::string> components;
    std::vector<std::string> architectures;  // empty: the host's default architectures
    // Keyring paths or key fingerprints, as written. A deb822 Signed-By that embeds
    // a key is kept as one element holding the whole ASCII-armored block (it starts
    // with "-----BEGIN PGP PUBLIC KEY BLOCK-----"; "." lines become empty lines).
    std::vector<std::string> signed_by;
    bool enabled = true;                     // deb822 "Enabled: no" gives false
    std::string origin_file;                 // the file the entry was read from
};

// Reads <apt_root>/etc/apt/sources.list, then the files of
// <apt_root>/etc/apt/sources.list.d in name order: *.list (one-line format) and
// *.sources (deb822). Like apt, other files (e.g. "x.list.disabled", "x.save")
// and names with characters other than [A-Za-z0-9_.:-] are ignored. Missing
// files or directories yield no entries. Entries of every type are returned, in
// file order; disabled deb822 stanzas are returned with enabled = false.
// Options of one-line entries other than arch= and signed-by= are ignored, as are
// arch+=/arch-=.
// Throws slate::Error (Parse) naming file:line for a malformed entry, (Io) when a
// file cannot be read.
std::vector<AptSource> read_apt_sources(const std::filesystem::path& apt_root);

// False when <apt_root>/etc/apt/apt.conf.d/* or etc/apt/apt.conf sets
// Acquire::Check-Valid-Until to false ("false", "no", "off", "0", ...), in apt's
// reading order (apt.conf.d in name order, then apt.conf; the last setting wins).
// Throws slate::Error (Parse) naming file:line for a malformed configuration file.
bool apt_checks_valid_until(const std::filesystem::path& apt_root);

}  // namespace slate::deb
