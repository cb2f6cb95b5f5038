#pragma once
// Deciding where each suite comes from: explicit settings (image spec,
// --mirror, SLATE_MIRROR) or else the host's apt sources. No mirror host is
// ever built in.

#include <filesystem>
#include <string>
#include <vector>

#include "slate/deb/apt_sources.hpp"
#include "slate/deb/archive.hpp"

namespace slate::deb {

struct SourceSettings {
    std::string mirror;                   // explicit mirror for the suites; "" = from the apt sources
    std::string security_mirror;          // explicit mirror for *-security suites
    std::vector<std::string> suites;      // "" = the host release's suites from the apt sources
    std::vector<std::string> components;  // empty = the apt sources' components, else main
};

// The host's Debian codename from <root>/etc/os-release (VERSION_CODENAME, or
// the codename in VERSION); "" when unknown.
std::string host_codename(const std::filesystem::path& root);

// Plans the SuiteSources. `host` is what read_apt_sources() returned and
// `codename` the host's release (used to pick the default suites and to skip
// third-party repositories). Throws slate::Error (Config) with a hint when a
// suite has no mirror.
std::vector<SuiteSource> plan_suite_sources(const SourceSettings& settings, const std::vector<AptSource>& host,
                                            const std::string& codename);

// "http://host/debian/" -> "http://host/debian"; rejects what is not a URL.
std::string normalise_mirror(const std::string& url);

}  // namespace slate::deb
