#pragma once
// Reading SBOMs back into a Catalog, so `slate scan` can take an SBOM instead
// of an image: SPDX 2.2/2.3 JSON and CycloneDX 1.4-1.6 JSON, whether slate
// wrote them (spdx.hpp, cyclonedx.hpp) or another tool did (Syft, Trivy,
// `docker sbom`). An in-toto statement whose predicate is such a document
// (a BuildKit SBOM attestation) is read through to its predicate.
//
// What is read:
//   - Catalog::subject: the package the SPDX document DESCRIBES (the image's
//     CONTAINER package), or CycloneDX metadata.component: its name, its
//     manifest digest (an oci purl's version, a SHA256 checksum/hash, or a
//     "sha256:..." version), tag and platform when given;
//   - Catalog::os: a CycloneDX "operating-system" component or an SPDX
//     OPERATING_SYSTEM package; gaps are filled from the deb purls' `distro`
//     qualifier ("debian-12", "debian-12.5", "bookworm"). A Debian point
//     release ("12.5") is reduced to its major version, as os-release says;
//   - Catalog::packages: every package that has a purl of a type slate scans
//     (deb, pypi, npm, golang, maven), one per purl. The purl gives type,
//     name, version, arch and, for deb, the source package (`upstream`
//     qualifier "glibc" or "gcc-12@12.2.0-14"; failing that SPDX
//     sourceInfo "built package from: <source> <version>" or the CycloneDX
//     properties slate, Syft and Trivy write). Declared and concluded
//     licenses are kept when the document gives them.
//   - Catalog::created: the document's creation time when it is readable.
// What is skipped: SPDX SOURCE packages (slate's source packages: the
// binaries name them), files, relationships other than DESCRIBES, CycloneDX
// dependencies. A package entry that cannot be read (not an object, a broken
// purl, software without a purl) is skipped with a Warning, never an error;
// packages of purl types slate does not scan are counted in one Warning.
// Purls are parsed with parse_purl (purl.hpp).

#include <filesystem>
#include <string>
#include <string_view>

#include "slate/sbom/catalog.hpp"

namespace slate::sbom {

// Reads an SBOM, detecting its format from the content. Throws slate::Error
// (Parse) for a document that is neither SPDX JSON nor CycloneDX JSON (the
// message says what it is instead: not JSON, an SPDX tag-value or XML
// document, a Syft or Trivy report...) or is malformed at the top level.
// Warnings carry the path "<document>".
Catalog read_sbom(std::string_view document);

// The same for a file; errors and warnings name the file. Throws
// slate::Error (NotFound, Io) when it cannot be read.
Catalog read_sbom_file(const std::filesystem::path& path);

}  // namespace slate::sbom
