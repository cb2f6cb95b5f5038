#pragma once
// Private helpers the language catalogers share: licence names to SPDX
// expressions, evidence entries, small string functions.

#include <string>
#include <string_view>

#include "slate/sbom/catalog.hpp"

namespace slate::sbom::lang {

// `text` as a canonical SPDX expression when it is one made of licence ids
// this cataloger knows ("mit" -> "MIT", "BSD-3-Clause OR Apache-2.0",
// "GPL-2.0+" -> "GPL-2.0-or-later"), or a common licence name that names one
// licence unambiguously ("MIT License", "Apache License, Version 2.0",
// "PSF", "GPLv3+"). Empty when it is neither.
std::string spdx_license(std::string_view text);

// A licence declared by a name SPDX has no id for ("BSD", "LGPL v3"): a
// "LicenseRef-" id made of it, or "NOASSERTION" when the text is empty,
// "UNKNOWN", several lines, or long enough to be the licence text itself.
std::string license_ref(std::string_view name);

// spdx_license(text), else license_ref(text).
std::string declared_license(std::string_view text);

// The evidence entry of a file found at `path` with `content`.
FileEntry evidence(std::string_view path, std::string_view content);

std::string_view trim(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
// The last path component: "/a/b/c.jar" -> "c.jar".
std::string_view base_name(std::string_view path);
// Everything before the last '/': "/a/b/c" -> "/a/b"; "" when there is none.
std::string_view dir_name(std::string_view path);

}  // namespace slate::sbom::lang
