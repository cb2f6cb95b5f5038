#pragma once
// A suite's Release file (the signed text of InRelease): what it promises
// about every index file it lists.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::deb {

struct ReleaseEntry {
    std::string sha256;
    std::uint64_t size = 0;
};

struct Release {
    std::string origin, label, suite, codename, version;
    std::string date;         // as written, e.g. "Sat, 10 Jun 2023 08:50:29 UTC"
    std::string valid_until;  // "" when absent
    std::vector<std::string> architectures;
    std::vector<std::string> components;
    bool acquire_by_hash = false;
    bool arch_all_in_arch_indices = false;  // "No-Support-for-Architecture-all: Packages"
    std::map<std::string, ReleaseEntry, std::less<>> sha256;  // path relative to dists/<suite>/ -> entry

    const ReleaseEntry* find(std::string_view path) const;
};

// Throws slate::Error (Parse) naming `display_name`; a Release without SHA256
// sums is refused (MD5/SHA1-only archives are not trusted).
Release parse_release(std::string_view text, const std::string& display_name);

// Parses an RFC 2822 date as used in Release files; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_release_date(std::string_view text);

}  // namespace slate::deb
