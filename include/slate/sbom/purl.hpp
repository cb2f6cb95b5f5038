#pragma once
// Package URLs (purl, ECMA-427): the identifier SBOMs and vulnerability
// databases use to name a package across ecosystems.
//
// Every component is percent-encoded as the specification requires: the
// alphanumerics, ".-_~" and ':' are kept, everything else is written as %XX
// of its UTF-8 bytes (so a Debian epoch stays "1:2.38", a binNMU becomes
// "1.2-3%2Bb1", an npm scope "%40types"). Qualifiers with empty values are
// left out and the rest are sorted by key.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace slate::sbom {

// Percent-encodes one purl component. '/' is kept only when `keep_slash`
// (qualifier values; names and versions must encode it).
std::string purl_encode(std::string_view component, bool keep_slash = false);

// pkg:deb/<vendor>/<name>@<version>?arch=<arch>&distro=<distro>&upstream=<upstream>
// `distro` is the qualifier value ("debian-12"), `upstream` the source package
// as Syft writes it ("util-linux", or "glibc@2.36-9" when the binary's version
// differs from its source's); either may be empty and is then left out.
std::string deb_purl(std::string_view name, std::string_view version, std::string_view arch,
                     std::string_view distro, std::string_view upstream, std::string_view vendor = "debian");

// pkg:pypi/<name>@<version>, the name normalised as PEP 503 and the purl
// pypi type require: lowercase, each run of '-', '_' and '.' becomes '-'.
std::string python_purl(std::string_view name, std::string_view version);

// pkg:npm/<name>@<version> or pkg:npm/%40<scope>/<name>@<version> for
// "@scope/name"; lowercased as the npm type requires.
std::string npm_purl(std::string_view name, std::string_view version);

// pkg:golang/<module path>@<version>; the path keeps its case (Go module
// paths are case-sensitive), each segment is encoded.
std::string golang_purl(std::string_view module_path, std::string_view version);

// pkg:maven/<group>/<artifact>@<version>.
std::string maven_purl(std::string_view group, std::string_view artifact, std::string_view version);

// A parsed package URL; every component percent-decoded.
struct Purl {
    std::string type;        // lowercased: "deb", "pypi", "oci"
    std::string name_space;  // "debian"; "" when none ("namespace" is a keyword)
    std::string name;
    std::string version;     // "" when none
    std::map<std::string, std::string> qualifiers;  // keys lowercased
    std::string subpath;
};

// Decodes %XX escapes; nullopt when an escape is malformed.
std::optional<std::string> purl_decode(std::string_view component);

// Parses "pkg:type/namespace/name@version?qualifiers#subpath" as the purl
// specification reads it. nullopt (and `error` set when given) when it is not
// a purl: no "pkg:" scheme, no type or name, a malformed escape.
std::optional<Purl> parse_purl(std::string_view text, std::string* error = nullptr);

}  // namespace slate::sbom
