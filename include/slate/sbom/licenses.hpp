#pragma once
// Licenses as SPDX expressions: Debian copyright files (machine-readable
// DEP-5, "copyright-format/1.0") turned into "GPL-2.0-or-later AND MIT",
// and the SPDX license list for the other catalogers.
//
// Debian short names are mapped by the rules of copyright-format 1.0: a
// missing version means the lowest one ("GPL" is GPL-1.0-only, "CC0" is
// CC0-1.0), '+' means "or any later version", "Expat" is MIT, "Artistic" is
// the Perl Artistic license (Artistic-1.0-Perl), "A or B, and C" is
// "(A OR B) AND C". "with X exception" becomes WITH <id> only where SPDX has
// an exception with that exact text (Bison, Libtool, Font, Classpath, ...);
// the OpenSSL and other exceptions have no SPDX id, so the whole name becomes
// a LicenseRef. Any other name that is not on the SPDX license list becomes
// "LicenseRef-<name>" (only [A-Za-z0-9.-] kept).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::sbom {

struct LicenseInfo {
    std::string expression = "NOASSERTION";  // an SPDX expression, or "NOASSERTION"
    bool machine_readable = false;            // the file declared the DEP-5 format
    std::vector<std::string> unknown;         // the names that became LicenseRef-..., sorted
};

// The license of a package from its /usr/share/doc/<name>/copyright text:
// every License of the header and the Files paragraphs, deduplicated and
// joined with " AND " in sorted order. Free-form (not DEP-5) files, and DEP-5
// files naming no license, give "NOASSERTION". Never throws on bad input.
LicenseInfo license_from_copyright(std::string_view text);

// One DEP-5 License field's first line ("GPL-2+ or Artistic, and BSD-3-clause")
// as an SPDX expression; names that became LicenseRef-... are appended to
// `unknown`. Empty when the line names no license.
std::string debian_license_expression(std::string_view field, std::vector<std::string>& unknown);

// The SPDX license id `name` is, compared ignoring case ("zlib" -> "Zlib"),
// in its canonical spelling; nullopt when it is not on the SPDX license list
// or is a deprecated id ("GPL-2.0+", "LGPL-2.1").
std::optional<std::string> spdx_license_id(std::string_view name);

// "LicenseRef-" and `name` with every run of characters outside [A-Za-z0-9.-]
// replaced by one '-' ('+' at the end of a word becomes "-or-later").
std::string license_ref(std::string_view name);

}  // namespace slate::sbom
