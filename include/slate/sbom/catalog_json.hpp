#pragma once
// A compact JSON form of a Catalog's subject, OS and packages (not files or
// evidence), for caches: an image's catalog depends only on its manifest
// digest, so `slate scan` catalogs each image once and re-matches it against
// new advisories from the cached form.

#include <optional>
#include <string>
#include <string_view>

#include "slate/sbom/catalog.hpp"

namespace slate::sbom {

// Bumped whenever the catalogers change what they find, so that stale
// cached catalogs are not used.
inline constexpr int CatalogFormatVersion = 1;

std::string catalog_to_json(const Catalog& catalog);

// nullopt when `json` is not a catalog of CatalogFormatVersion (a cache entry
// from another slate version, or damaged): the caller catalogs again.
std::optional<Catalog> catalog_from_json(std::string_view json);

}  // namespace slate::sbom
