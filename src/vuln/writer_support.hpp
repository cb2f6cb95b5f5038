#pragma once
// Pieces the scan report writers (writers.cpp, sarif.cpp, vex_out.cpp) share.
// Private to src/vuln.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "slate/vuln/report.hpp"

namespace slate::vuln::detail {

using Json = nlohmann::ordered_json;

// Pretty-printed with 2 spaces and a trailing newline; strings that are not
// valid UTF-8 get U+FFFD instead of making the dump throw.
std::string dump(const Json& json);

// The finding's purl, or one built from its name, version and the distro
// ("pkg:deb/debian/libssl3@3.0.11-1~deb12u1?distro=debian-12") when the
// matcher had none.
std::string package_purl(const Finding& finding, const Distro& distro);

// The target as a pkg:oci purl (sbom::image_purl) when it is an image with a
// known digest; "" otherwise.
std::string target_purl(const ScanTarget& target);

// "Debian 12 (bookworm)", "Debian 12", "Debian" from what is known.
std::string distro_label(const Distro& distro);

// A feed's RFC 3339 time normalised to "YYYY-MM-DDTHH:MM:SSZ"; "" when it is
// empty or malformed (schemas check the date-time format).
std::string normalized_time(std::string_view text);

// "upgrade libssl3 to 3.0.13-1~deb12u1" or "no fix available in Debian 12
// (bookworm): not-fixed", capitalised when `sentence`.
std::string remedy(const Finding& finding, const Distro& distro, bool sentence);

}  // namespace slate::vuln::detail
