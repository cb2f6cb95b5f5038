#pragma once
// The Debian cataloger: the packages dpkg's database lists as installed, with
// their licenses from /usr/share/doc/<name>/copyright, and the OS an image
// claims to be (/etc/os-release).
//
// Two database layouts are read: dpkg's own /var/lib/dpkg/status, and the
// one file per package under /var/lib/dpkg/status.d/ that distroless and
// slate write (files there may hold several paragraphs; the *.md5sums and
// other dpkg info files beside them are not package records).
//
// Bad input never throws: a malformed paragraph becomes a Warning naming the
// file, the line and what was wrong, and the good paragraphs are cataloged.

#include <string_view>
#include <vector>

#include "slate/sbom/catalog.hpp"
#include "slate/sbom/tree.hpp"

namespace slate::sbom {

// os-release(5): KEY=VALUE lines, values with shell quoting ("...", '...',
// backslash escapes). Unknown keys and malformed lines are ignored.
OsInfo parse_os_release(std::string_view text);

// /etc/os-release, else /usr/lib/os-release; empty when the tree has neither.
OsInfo read_os_release(const FileTree& tree);

// The files catalog_dpkg and read_os_release read, which a tree reader must
// keep: /var/lib/dpkg/status, /var/lib/dpkg/status.d/*, /usr/share/doc/*/copyright,
// /etc/os-release and /usr/lib/os-release.
bool dpkg_keeps(std::string_view path);

// Every package of the tree's dpkg database whose Status says it is
// installed ("installed", or configured and waiting for triggers); entries
// under status.d/ have no Status and are all taken. Sorted by name, arch,
// version. The purl's distro qualifier is "<ID>-<VERSION_ID>" of `os` and is
// left out when either is unknown (a testing/sid image has no VERSION_ID),
// as Syft does; its vendor is os.id ("debian" when unknown).
std::vector<Package> catalog_dpkg(const FileTree& tree, const OsInfo& os, std::vector<Warning>& warnings);

}  // namespace slate::sbom
