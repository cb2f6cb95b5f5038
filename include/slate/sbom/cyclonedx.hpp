#pragma once
// CycloneDX 1.6 JSON documents from a Catalog: the image is
// metadata.component (type container), the OS an operating-system component,
// every package a library component whose bom-ref is its purl, and
// `dependencies` gives each component's dependsOn (the image depends on
// everything it holds). Deterministic like the SPDX writer (spdx.hpp): same
// catalog, same bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "slate/sbom/catalog.hpp"
#include "slate/sbom/spdx.hpp"  // DocumentOptions, PlatformDocument

namespace slate::sbom {

// Throws slate::Error (Usage) only when `catalog.created` is outside the
// years 0000-9999.
std::string to_cyclonedx_json(const Catalog& catalog, const DocumentOptions& options = {});

// A BOM for an image index: the index is metadata.component, each platform
// image a container component with a BOM-Link ("urn:cdx:<uuid>/1") to its
// own document and that document's SHA-256.
std::string to_cyclonedx_index_json(const Subject& index_subject, std::int64_t created,
                                    const std::vector<PlatformDocument>& platforms,
                                    const DocumentOptions& options = {});

// "urn:uuid:<uuid>", a name-based (version 5) UUID derived from the subject's
// name, digest and platform.
std::string cyclonedx_serial(const Subject& subject);
// The serial number to_cyclonedx_json writes: cyclonedx_serial(subject) when
// the subject has a digest, else it also covers the catalog's content.
std::string cyclonedx_serial(const Catalog& catalog, const DocumentOptions& options = {});

}  // namespace slate::sbom
